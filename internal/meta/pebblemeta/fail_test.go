package pebblemeta

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"sos/internal/meta"
)

// TestFullDiskFailsStore fills the disk under the write-ahead log while
// Updates run: every Update answers within a bound (none hangs on Pebble's
// wedged commit pipeline), the failed ones say meta.ErrStoreFailed with the
// cause, later calls fail at once, Close returns, and every acknowledged
// record is there after a reopen.
func TestFullDiskFailsStore(t *testing.T) {
	dir := t.TempDir()
	var full errorfs.Toggle
	inj := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if !strings.HasSuffix(op.Path, ".log") {
			return nil
		}
		switch op.Kind {
		case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpFileSync, errorfs.OpFileSyncData,
			errorfs.OpFileSyncTo, errorfs.OpFilePreallocate, errorfs.OpCreate, errorfs.OpReuseForWrite:
			return syscall.ENOSPC
		}
		return nil
	})
	full.Injector = inj
	s, err := Open(dir, Options{CacheSize: 8 << 20, MemTableSize: 4 << 20, fs: errorfs.Wrap(vfs.Default, &full)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	put := func(id string) error {
		return s.Update(ctx, func(tx meta.Tx) error {
			return tx.PutVersion(ctx, meta.Version{Bucket: "b", Key: id, VersionID: id, Stamp: 1, Inline: []byte(id)})
		})
	}

	var mu sync.Mutex
	var acked, failed []string
	var slowest time.Duration
	var wg sync.WaitGroup
	const workers = 16
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%02d-%05d", w, i)
				t0 := time.Now()
				err := put(id)
				d := time.Since(t0)
				mu.Lock()
				slowest = max(slowest, d)
				if err == nil {
					acked = append(acked, id)
				} else {
					failed = append(failed, id)
				}
				mu.Unlock()
				if err != nil {
					if !errors.Is(err, meta.ErrStoreFailed) {
						t.Errorf("Update %s: %v, want meta.ErrStoreFailed", id, err)
					}
					return
				}
			}
		}()
	}
	close(start)
	time.Sleep(200 * time.Millisecond) // some acknowledged writes first
	full.On()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(failGrace + 10*time.Second):
		t.Fatalf("Updates still running %v after the disk filled: the store hangs", failGrace+10*time.Second)
	}
	t.Logf("%d Updates acknowledged, %d failed; slowest Update %v", len(acked), len(failed), slowest)
	if len(acked) == 0 || len(failed) == 0 {
		t.Fatalf("acked %d, failed %d: want both", len(acked), len(failed))
	}

	select {
	case <-s.Failed():
	default:
		t.Fatal("Failed() not closed after a failed commit")
	}
	if err := s.Err(); !errors.Is(err, meta.ErrStoreFailed) || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("Err() = %v, want meta.ErrStoreFailed naming the cause", err)
	}
	t0 := time.Now()
	if err := put("after"); !errors.Is(err, meta.ErrStoreFailed) {
		t.Errorf("Update after the failure: %v", err)
	}
	if _, err := s.Bucket(ctx, "b"); !errors.Is(err, meta.ErrStoreFailed) {
		t.Errorf("read after the failure: %v", err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("calls on the failed store took %v", d)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if !errors.Is(err, meta.ErrStoreFailed) {
			t.Errorf("Close of the failed store: %v", err)
		}
	case <-time.After(failGrace + 5*time.Second):
		t.Fatal("Close of the failed store hangs")
	}

	full.Off()
	s2, err := Open(dir, Options{CacheSize: 8 << 20, MemTableSize: 4 << 20})
	if err != nil {
		t.Fatalf("reopen after the failure: %v", err)
	}
	defer s2.Close()
	for _, id := range acked {
		v, err := s2.Version(ctx, "b", id, id)
		if err != nil || string(v.Inline) != id {
			t.Fatalf("acknowledged %s after reopen: %v %q", id, err, v.Inline)
		}
	}
	if err := s2.Update(ctx, func(tx meta.Tx) error {
		return tx.PutBucket(ctx, meta.Bucket{Name: "again"})
	}); err != nil {
		t.Fatalf("Update after reopen: %v", err)
	}
}
