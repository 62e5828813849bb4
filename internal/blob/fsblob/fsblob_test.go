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
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"sos/internal/blob"
)

// testStore runs the blob.Store contract against a store made by open.
// open must return a fresh, empty store.
func testStore(t *testing.T, open func(t *testing.T) blob.Store) {
	ctx := context.Background()
	t.Run("PutOpenRead", func(t *testing.T) {
		s := open(t)
		for _, size := range []int{0, 1, 4096, 1<<20 + 17} {
			data := bytes.Repeat([]byte{byte(size)}, size)
			for i := range data {
				data[i] = byte(i * 7)
			}
			id, n, err := s.Put(ctx, bytes.NewReader(data))
			if err != nil || n != int64(size) {
				t.Fatalf("Put(%d) = %q, %d, %v", size, id, n, err)
			}
			r, err := s.Open(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != int64(size) {
				t.Fatalf("Size = %d want %d", r.Size(), size)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, err %v", len(got), err)
			}
			if size > 10 {
				b := make([]byte, 5)
				if _, err := r.ReadAt(b, 5); err != nil || !bytes.Equal(b, data[5:10]) {
					t.Fatalf("ReadAt: %v %x", err, b)
				}
				if _, err := r.Seek(int64(size-3), io.SeekStart); err != nil {
					t.Fatal(err)
				}
				tail, _ := io.ReadAll(r)
				if !bytes.Equal(tail, data[size-3:]) {
					t.Fatalf("after Seek: %x", tail)
				}
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("UniqueIDs", func(t *testing.T) {
		s := open(t)
		seen := map[string]bool{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := 0; i < 64; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, _, err := s.Put(ctx, strings.NewReader("x"))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[id] {
					t.Errorf("duplicate id %s", id)
				}
				seen[id] = true
				mu.Unlock()
			}()
		}
		wg.Wait()
	})
	t.Run("NotFound", func(t *testing.T) {
		s := open(t)
		for _, id := range []string{"", "0123456789abcdef0123456789abcdef", "../../etc/passwd", "..", "00/../../x", strings.Repeat("A", 32), "nul\x00"} {
			if _, err := s.Open(ctx, id); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("Open(%q) = %v, want ErrNotFound", id, err)
			}
			if err := s.Delete(ctx, id); err != nil {
				t.Errorf("Delete(%q) = %v", id, err)
			}
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		id, _, err := s.Put(ctx, strings.NewReader("gone"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, id); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("after Delete, Open = %v", err)
		}
		if err := s.Delete(ctx, id); err != nil {
			t.Fatalf("second Delete = %v", err)
		}
	})
	t.Run("FailedPutLeavesNothing", func(t *testing.T) {
		s := open(t)
		boom := errors.New("boom")
		_, _, err := s.Put(ctx, io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(boom)))
		if !errors.Is(err, boom) {
			t.Fatalf("Put = %v, want the reader's error", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := s.Put(cctx, strings.NewReader("x")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put with canceled ctx = %v", err)
		}
		if ids := scanAll(t, s); len(ids) != 0 {
			t.Fatalf("blobs left behind: %v", ids)
		}
	})
	t.Run("Scan", func(t *testing.T) {
		s := open(t)
		var want []string
		for i := 0; i < 20; i++ {
			id, _, err := s.Put(ctx, strings.NewReader("blob"))
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, id)
		}
		sort.Strings(want)
		got := scanAll(t, s)
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("Scan = %v, want %v", got, want)
		}
		stop := errors.New("stop")
		n := 0
		if err := s.Scan(ctx, func(string) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
			t.Fatalf("Scan with failing fn = %v after %d calls", err, n)
		}
	})
}

func scanAll(t *testing.T, s blob.Store) []string {
	t.Helper()
	var ids []string
	if err := s.Scan(context.Background(), func(id string) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestConformance(t *testing.T) {
	testStore(t, func(t *testing.T) blob.Store {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
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
