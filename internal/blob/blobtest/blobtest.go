package blobtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"sos/internal/blob"
)

// Run runs the conformance suite: the contract written on blob.Store. open
// must return a new, empty store for each call.
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"PutOpenRead", testPutOpenRead},
		{"ReadersAreIndependent", testReadersAreIndependent},
		{"UniqueIDs", testUniqueIDs},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"ReadAfterDelete", testReadAfterDelete},
		{"FailedPutLeavesNothing", testFailedPutLeavesNothing},
		{"Scan", testScan},
		{"Faulty", testFaulty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// RunReopen checks that blobs outlive the handle that wrote them. persistent
// is called once per subtest and returns a function that opens a new handle
// on the same storage (initially empty) each time it is called.
func RunReopen(t *testing.T, persistent func(t *testing.T) func() blob.Store) {
	t.Helper()
	ctx := context.Background()
	t.Run("Reopen", func(t *testing.T) {
		open := persistent(t)
		s := open()
		kept := put(t, s, "durable")
		gone := put(t, s, "deleted")
		must(t, s.Delete(ctx, gone))
		s = open()
		if got := read(t, s, kept); got != "durable" {
			t.Errorf("after reopen, blob reads %q", got)
		}
		if _, err := s.Open(ctx, gone); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("after reopen, deleted blob: Open = %v, want ErrNotFound", err)
		}
		if ids := scanAll(t, s); len(ids) != 1 || ids[0] != kept {
			t.Errorf("after reopen, Scan = %v, want [%s]", ids, kept)
		}
	})
	t.Run("OtherHandle", func(t *testing.T) {
		open := persistent(t)
		a, b := open(), open()
		id := put(t, a, "seen by both")
		if got := read(t, b, id); got != "seen by both" {
			t.Errorf("other handle reads %q", got)
		}
		must(t, b.Delete(ctx, id))
		if _, err := a.Open(ctx, id); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("deleted through the other handle: Open = %v, want ErrNotFound", err)
		}
	})
}

func testPutOpenRead(t *testing.T, s blob.Store) {
	ctx := context.Background()
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
}

// Two Readers of one blob keep their own offsets.
func testReadersAreIndependent(t *testing.T, s blob.Store) {
	ctx := context.Background()
	id := put(t, s, "0123456789")
	r1, err := s.Open(ctx, id)
	must(t, err)
	defer r1.Close()
	r2, err := s.Open(ctx, id)
	must(t, err)
	defer r2.Close()
	b := make([]byte, 4)
	if _, err := io.ReadFull(r1, b); err != nil || string(b) != "0123" {
		t.Fatalf("first reader: %q %v", b, err)
	}
	if _, err := io.ReadFull(r2, b); err != nil || string(b) != "0123" {
		t.Fatalf("second reader starts where the first one is: %q %v", b, err)
	}
	if rest, err := io.ReadAll(r1); err != nil || string(rest) != "456789" {
		t.Fatalf("first reader goes on with %q %v", rest, err)
	}
}

func testUniqueIDs(t *testing.T, s blob.Store) {
	ctx := context.Background()
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
}

func testNotFound(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, id := range []string{"", "0123456789abcdef0123456789abcdef", "../../etc/passwd", "..", "00/../../x", strings.Repeat("A", 32), "nul\x00"} {
		if _, err := s.Open(ctx, id); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", id, err)
		}
		if err := s.Delete(ctx, id); err != nil {
			t.Errorf("Delete(%q) = %v", id, err)
		}
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
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
}

// A Reader opened before a Delete reads the whole blob.
func testReadAfterDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("still here "), 50000)
	id, _, err := s.Put(ctx, bytes.NewReader(data))
	must(t, err)
	r, err := s.Open(ctx, id)
	must(t, err)
	defer r.Close()
	head := make([]byte, 100)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	must(t, s.Delete(ctx, id))
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(append(head, rest...), data) {
		t.Fatalf("reading on after Delete: %d of %d bytes, err %v", len(head)+len(rest), len(data), err)
	}
	b := make([]byte, 5)
	if _, err := r.ReadAt(b, int64(len(data)-5)); err != nil || string(b) != "here " {
		t.Fatalf("ReadAt after Delete: %q %v", b, err)
	}
}

func testFailedPutLeavesNothing(t *testing.T, s blob.Store) {
	ctx := context.Background()
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
	// Cancelled while the body is being read.
	cctx, cancel = context.WithCancel(ctx)
	body := io.MultiReader(strings.NewReader(strings.Repeat("a", 1<<20)), cancelReader(cancel), strings.NewReader(strings.Repeat("b", 1<<20)))
	if _, _, err := s.Put(cctx, body); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put cancelled while reading = %v", err)
	}
	if ids := scanAll(t, s); len(ids) != 0 {
		t.Fatalf("blobs left behind: %v", ids)
	}
}

// cancelReader calls cancel when it is read, and yields nothing.
type cancelReader context.CancelFunc

func (c cancelReader) Read([]byte) (int, error) {
	c()
	return 0, io.EOF
}

func testScan(t *testing.T, s blob.Store) {
	ctx := context.Background()
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
}

// testFaulty checks Faulty over the store: injected failures leave nothing,
// and the Puts around them are untouched.
func testFaulty(t *testing.T, s blob.Store) {
	ctx := context.Background()
	f := NewFaulty(s)
	injected := errors.New("injected")
	f.FailNth(2, injected)
	var kept []string
	for n := 1; n <= 3; n++ {
		id, size, err := f.Put(ctx, strings.NewReader("faulty"))
		if want := n == 2; errors.Is(err, injected) != want || (err != nil && !want) {
			t.Fatalf("Put %d: err = %v", n, err)
		}
		if err == nil {
			if size != 6 || read(t, f, id) != "faulty" {
				t.Fatalf("Put %d: wrote %d bytes", n, size)
			}
			kept = append(kept, id)
		}
	}
	f.FailAll(injected)
	for n := 4; n <= 5; n++ {
		if _, _, err := f.Put(ctx, strings.NewReader("faulty")); !errors.Is(err, injected) {
			t.Errorf("FailAll: Put %d: err = %v", n, err)
		}
	}
	// The store's own error wins over the injected one.
	own := errors.New("own")
	if _, _, err := f.Put(ctx, iotest.ErrReader(own)); !errors.Is(err, own) {
		t.Errorf("reader error under FailAll: %v", err)
	}
	f.Heal()
	id, _, err := f.Put(ctx, strings.NewReader("healed"))
	must(t, err)
	kept = append(kept, id)
	sort.Strings(kept)
	got := scanAll(t, f)
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(kept, ",") {
		t.Errorf("blobs after injected failures: %v, want %v", got, kept)
	}
	if got := f.Puts(); got != 7 {
		t.Errorf("Puts() = %d, want 7", got)
	}
}

func put(t *testing.T, s blob.Store, data string) string {
	t.Helper()
	id, n, err := s.Put(context.Background(), strings.NewReader(data))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Put = %q, %d, %v", id, n, err)
	}
	return id
}

func read(t *testing.T, s blob.Store, id string) string {
	t.Helper()
	r, err := s.Open(context.Background(), id)
	if err != nil {
		t.Fatalf("Open(%s): %v", id, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return string(b)
}

func scanAll(t *testing.T, s blob.Store) []string {
	t.Helper()
	var ids []string
	if err := s.Scan(context.Background(), func(id string) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	return ids
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
