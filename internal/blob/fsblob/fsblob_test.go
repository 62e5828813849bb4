package fsblob

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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
