package fsblob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"sos/internal/blob"
	"sos/internal/blob/blobtest"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return openTest(t, t.TempDir()) })
	blobtest.RunReopen(t, func(t *testing.T) func() blob.Store {
		dir := t.TempDir()
		return func() blob.Store { return openTest(t, dir) }
	})
}

// TestConformanceFaulty runs the suite through a Faulty that injects
// nothing: the wrapper must be transparent.
func TestConformanceFaulty(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return blobtest.NewFaulty(openTest(t, t.TempDir())) })
}

func scanAll(t *testing.T, s blob.Store) []string {
	t.Helper()
	var ids []string
	if err := s.Scan(context.Background(), func(id string) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestScanRemovesTempFilesAndKeepsBlobsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := s.Put(ctx, strings.NewReader("durable"))
	if err != nil {
		t.Fatal(err)
	}
	// A crash between create and rename leaves a temp file.
	tmp := filepath.Join(dir, "7f", tmpPrefix+"123")
	if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Foreign files are neither listed nor removed.
	foreign := filepath.Join(dir, "7f", "README")
	if err := os.WriteFile(foreign, []byte("hi"), 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := scanAll(t, s2)
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("Scan = %v, want [%s]", ids, id)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temp file still there: %v", err)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Fatalf("foreign file removed: %v", err)
	}
	r, err := s2.Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, _ := io.ReadAll(r); string(b) != "durable" {
		t.Fatalf("read %q", b)
	}
}

func TestOpenEmptyDir(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

func BenchmarkPut4K(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 4096)
	b.SetBytes(4096)
	for b.Loop() {
		if _, _, err := s.Put(context.Background(), bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPut1M writes 1 MiB blobs from 1 and from 32 goroutines; each
// Put is durable (file and folder synced) when it returns.
func BenchmarkPut1M(b *testing.B) {
	data := make([]byte, 1<<20)
	for _, par := range []int{1, 32} {
		b.Run(fmt.Sprintf("par=%d", par), func(b *testing.B) {
			s, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			if par == 1 {
				for b.Loop() {
					if _, _, err := s.Put(context.Background(), bytes.NewReader(data)); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.SetParallelism((par + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := s.Put(context.Background(), bytes.NewReader(data)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// TestFullDiskIsErrNoSpace fills a small tmpfs: the Put that meets the
// full disk returns blob.ErrNoSpace (and syscall.ENOSPC) in words that
// name no file, leaves no temporary file, and Puts succeed again once a
// blob is deleted. It needs root to mount the tmpfs.
func TestFullDiskIsErrNoSpace(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		if os.Geteuid() == 0 && os.Getenv("SOS_REQUIRE_ALL") == "1" {
			t.Fatalf("mounting a tmpfs on %s as root: %v (SOS_REQUIRE_ALL=1)", dir, err)
		}
		t.Skipf("cannot mount a tmpfs on %s (it needs root): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	ctx := context.Background()
	s := openTest(t, filepath.Join(dir, "blobs"))
	chunk := bytes.Repeat([]byte("x"), 100<<10)
	var ids []string
	var err error
	for range 100 {
		var id string
		if id, _, err = s.Put(ctx, bytes.NewReader(chunk)); err != nil {
			break
		}
		ids = append(ids, id)
	}
	if !errors.Is(err, blob.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put on a full disk: %v, want blob.ErrNoSpace wrapping ENOSPC", err)
	}
	if strings.Contains(err.Error(), dir) {
		t.Errorf("the error names a file: %v", err)
	}
	if len(ids) == 0 {
		t.Fatal("not one Put succeeded on the empty tmpfs")
	}
	if got := scanAll(t, s); len(got) != len(ids) {
		t.Errorf("Scan lists %d blobs, %d Puts succeeded", len(got), len(ids))
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, "blobs", "*", tmpPrefix+"*"))
	if len(tmps) != 0 {
		t.Errorf("the failed Put left %v", tmps)
	}
	if err := s.Delete(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(ctx, bytes.NewReader(chunk)); err != nil {
		t.Errorf("Put after freeing space: %v", err)
	}
}
