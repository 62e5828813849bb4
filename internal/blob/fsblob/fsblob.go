package fsblob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"sos/internal/blob"
)

const tmpPrefix = ".tmp-"

// Store is a blob.Store in a directory. It is safe for concurrent use.
type Store struct {
	dir string
	buf sync.Pool
}

var _ blob.Store = (*Store)(nil)

// Open opens (creating it if needed) the store in dir.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("fsblob: empty directory")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	created := false
	for i := 0; i < 256; i++ {
		p := filepath.Join(dir, fmt.Sprintf("%02x", i))
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := os.Mkdir(p, 0o750); err != nil && !os.IsExist(err) {
			return nil, fmt.Errorf("fsblob: %w", err)
		}
		created = true
	}
	if created {
		if err := syncDir(dir); err != nil {
			return nil, err
		}
	}
	s := &Store{dir: dir}
	s.buf.New = func() any { b := make([]byte, 256<<10); return &b }
	return s, nil
}

// validID reports whether id is 32 lowercase hex digits, the only names the
// store ever makes.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) path(id string) string {
	return filepath.Join(s.dir, id[:2], id)
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsblob: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsblob: sync %s: %w", dir, err)
	}
	return nil
}

// Put implements blob.Store.
func (s *Store) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	id := newID()
	folder := filepath.Join(s.dir, id[:2])
	f, err := os.CreateTemp(folder, tmpPrefix+"*")
	if err != nil {
		return "", 0, writeErr("creating", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bp := s.buf.Get().(*[]byte)
	n, err := copyCtx(ctx, f, r, *bp)
	s.buf.Put(bp)
	if err != nil {
		return "", 0, err
	}
	if err := f.Sync(); err != nil {
		return "", 0, writeErr("syncing", err)
	}
	if err := f.Close(); err != nil {
		return "", 0, writeErr("closing", err)
	}
	if err := os.Rename(tmp, s.path(id)); err != nil {
		return "", 0, writeErr("naming", err)
	}
	ok = true
	if err := syncDir(folder); err != nil {
		os.Remove(s.path(id))
		if e := noSpace("syncing the folder of", err); e != nil {
			err = e
		}
		return "", 0, err
	}
	return id, n, nil
}

// writeErr wraps an error of writing a blob: blob.ErrNoSpace, with the
// system's words and without the file's path, when the disk is full or the
// quota used up (errors.Is finds syscall.ENOSPC or EDQUOT too), and the
// error itself otherwise.
func writeErr(what string, err error) error {
	if e := noSpace(what, err); e != nil {
		return e
	}
	return fmt.Errorf("fsblob: %s a blob: %w", what, err)
}

// noSpace is writeErr's blob.ErrNoSpace, or nil when err is not about
// space.
func noSpace(what string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) && (errno == syscall.ENOSPC || errno == syscall.EDQUOT) {
		return fmt.Errorf("%w: %s a blob: %w", blob.ErrNoSpace, what, errno)
	}
	return nil
}

// copyCtx copies like io.CopyBuffer and stops when ctx is done. Errors from
// r are returned as they are (the caller maps them); errors writing the
// file are wrapped.
func copyCtx(ctx context.Context, w io.Writer, r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, rerr := r.Read(buf)
		if m > 0 {
			if _, werr := w.Write(buf[:m]); werr != nil {
				return n, writeErr("writing", werr)
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

type reader struct {
	*os.File
	size int64
}

func (r *reader) Size() int64 { return r.size }

// Open implements blob.Store.
func (s *Store) Open(ctx context.Context, id string) (blob.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validID(id) {
		return nil, fmt.Errorf("%w: %q", blob.ErrNotFound, id)
	}
	f, err := os.Open(s.path(id))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%w: %s", blob.ErrNotFound, id)
		}
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	return &reader{File: f, size: st.Size()}, nil
}

// Delete implements blob.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if !validID(id) {
		return nil
	}
	if err := os.Remove(s.path(id)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("fsblob: %w", err)
	}
	return nil
}

// Scan implements blob.Store: it removes temporary files left by a crash
// and calls fn with every blob ID. fn may return blob's caller-defined
// errors; the first one ends the scan and is returned.
func (s *Store) Scan(ctx context.Context, fn func(id string) error) error {
	for i := 0; i < 256; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		folder := filepath.Join(s.dir, fmt.Sprintf("%02x", i))
		ents, err := os.ReadDir(folder)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("fsblob: %w", err)
		}
		for _, e := range ents {
			name := e.Name()
			switch {
			case strings.HasPrefix(name, tmpPrefix):
				if err := os.Remove(filepath.Join(folder, name)); err != nil && !os.IsNotExist(err) {
					return fmt.Errorf("fsblob: %w", err)
				}
			case validID(name) && name[:2] == folder[len(folder)-2:]:
				if err := fn(name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
