package pebblemeta

import (
	"fmt"
	"io"
	"os"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// The store's folder is 0700 and every file Pebble creates in it 0600: the
// metadata holds every key name, user metadata and the replication outbox,
// and is no one else's to read (the blob store keeps its files 0600 too).
const (
	dirMode  os.FileMode = 0o700
	fileMode os.FileMode = 0o600
)

// privateFS is Pebble's file system with the store's permissions applied to
// what it creates. A file is created with the process's umask and then
// narrowed; it is never readable by others in between, since its folder is
// already 0700.
type privateFS struct{ vfs.FS }

func (fs privateFS) narrow(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return f, err
	}
	if err := os.Chmod(name, fileMode); err != nil {
		f.Close()
		return nil, fmt.Errorf("pebblemeta: restrict %s: %w", name, err)
	}
	return f, nil
}

func (fs privateFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.narrow(name, f, err)
}

func (fs privateFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
	return fs.narrow(newname, f, err)
}

func (fs privateFS) MkdirAll(dir string, _ os.FileMode) error {
	return fs.FS.MkdirAll(dir, dirMode)
}

// preparePrivateDir makes dir (0700), narrowing an existing folder made by
// an earlier version with wider permissions.
func preparePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("pebblemeta: %w", err)
	}
	if err := os.Chmod(dir, dirMode); err != nil {
		return fmt.Errorf("pebblemeta: %w", err)
	}
	return nil
}

func (fs privateFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, c, opts...)
	return fs.narrow(name, f, err)
}

func (fs privateFS) Lock(name string) (io.Closer, error) {
	l, err := fs.FS.Lock(name)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(name, fileMode); err != nil {
		l.Close()
		return nil, fmt.Errorf("pebblemeta: restrict %s: %w", name, err)
	}
	return l, nil
}
