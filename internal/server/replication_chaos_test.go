package server_test

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sos/internal/server/repltest"
)

// Chaos over real processes: a zone down, a zone killed, a partition.

// acked is one acknowledged write.
type acked struct{ key, version string }

// writeStream PUTs small objects to bucket from several goroutines until
// stopped, and keeps the acknowledged writes.
type writeStream struct {
	mu   sync.Mutex
	acks []acked
	errs int
	stop chan struct{}
	wg   sync.WaitGroup
}

// startWrites runs workers writers; key names the i-th write of worker w.
// pause is the time between two writes of one worker.
func startWrites(cl *s3.Client, bucket string, workers int, pause time.Duration, key func(w, i int) string) *writeStream {
	s := &writeStream{stop: make(chan struct{})}
	for w := range workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ctx := context.Background()
			for i := 0; ; i++ {
				select {
				case <-s.stop:
					return
				case <-time.After(pause):
				}
				k := key(w, i)
				v, err := put(ctx, cl, bucket, k, []byte(fmt.Sprintf("%s written by %d at %d", k, w, i)))
				s.mu.Lock()
				if err != nil {
					s.errs++
				} else {
					s.acks = append(s.acks, acked{k, v})
				}
				s.mu.Unlock()
			}
		}()
	}
	return s
}

func (s *writeStream) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acks)
}

// waitCount waits until n writes are acknowledged (failing after timeout).
func (s *writeStream) waitCount(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	repltest.Eventually(t, timeout, func() (bool, string) {
		c := s.count()
		return c >= n, fmt.Sprintf("%d of %d writes acknowledged", c, n)
	})
}

// end stops the writers and returns the acknowledged writes.
func (s *writeStream) end() []acked {
	close(s.stop)
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]acked(nil), s.acks...)
}

// allPresent checks that every acknowledged write is a version in bucket.
func allPresent(t testing.TB, z *zoneProc, bucket string, acks []acked) {
	t.Helper()
	have := map[acked]bool{}
	for _, v := range versions(t, z, bucket) {
		have[acked{v.Key, v.VersionID}] = true
	}
	lost := 0
	for _, a := range acks {
		if !have[a] {
			if lost < 5 {
				t.Errorf("acknowledged write %s (version %s) is missing in %s/%s", a.key, a.version, z.name, bucket)
			}
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes missing in %s/%s", lost, len(acks), z.name, bucket)
	}
}

func setupLeaderFollower(t testing.TB, c *procCluster) (src, dst *zoneProc) {
	t.Helper()
	src, dst = c.zones["ch-dk-2"], c.zones["at-vie-1"]
	role := c.createRole("replication-my-source-my-destination", seedPolicy("my-source", "my-destination"))
	createVersionedBucket(t, src, "my-source")
	createVersionedBucket(t, dst, "my-destination")
	setReplication(t, src, "my-source", seedConfig(role, "vie1-follower", "my-destination"))
	return src, dst
}

// TestChaosDestinationDown stops the destination zone process under a
// stream of writes (once gracefully, once with SIGKILL), restarts it, and
// checks that both buckets converge.
func TestChaosDestinationDown(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test: skipped with -short")
	}
	c := startCluster(t, clusterOptions{}, "ch-dk-2", "at-vie-1")
	src, dst := setupLeaderFollower(t, c)

	ws := startWrites(src.s3(), "my-source", 4, 5*time.Millisecond, func(w, i int) string {
		return fmt.Sprintf("w%d/%06d", w, i)
	})
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		ws.waitCount(t, ws.count()+200, 30*time.Second)
		dst.kill(sig)
		ws.waitCount(t, ws.count()+1000, 30*time.Second) // the backlog grows while it is down
		p, _ := replStatus(t, src, "my-source").pending()
		t.Logf("destination down (%v): %d pending in the source", sig, p)
		if p == 0 {
			t.Fatalf("nothing pending while the destination is down")
		}
		dst.restart(t)
	}
	ws.waitCount(t, ws.count()+200, 30*time.Second)
	acks := ws.end()
	if ws.errs > 0 {
		t.Fatalf("%d writes to the source failed while only the destination was down", ws.errs)
	}
	eventuallyConverged(t, 45*time.Second, src, "my-source", dst, "my-destination")
	allPresent(t, dst, "my-destination", acks)
	t.Logf("%d writes, all replicated", len(acks))
}

// TestChaosSourceKilled kills the source zone with SIGKILL while it
// replicates a backlog under a stream of writes, restarts it, and checks
// that nothing acknowledged is lost on either side.
func TestChaosSourceKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test: skipped with -short")
	}
	c := startCluster(t, clusterOptions{Proxied: true}, "ch-dk-2", "at-vie-1")
	src, dst := setupLeaderFollower(t, c)

	ws := startWrites(src.s3(), "my-source", 6, 2*time.Millisecond, func(w, i int) string {
		return fmt.Sprintf("w%d/%06d", w, i)
	})
	ws.waitCount(t, 300, 30*time.Second)
	// Hold replication back to build a backlog, then let it drain and kill
	// the source in the middle of the drain.
	dst.proxy.SetMode(repltest.Refuse)
	ws.waitCount(t, ws.count()+1500, 30*time.Second)
	dst.proxy.SetMode(repltest.Pass)
	base := metric(t, src, "sos_replication_replicated_operations_total")
	repltest.Eventually(t, 30*time.Second, func() (bool, string) {
		n := metric(t, src, "sos_replication_replicated_operations_total")
		return n >= base+100, fmt.Sprintf("replicated %v (was %v); metrics:\n%s", n, base, replMetrics(src))
	})
	p, _ := replStatus(t, src, "my-source").pending()
	src.kill(syscall.SIGKILL)
	acks := ws.end()
	t.Logf("killed the source with %d acknowledged writes, %d pending a moment before", len(acks), p)
	if p < 100 {
		t.Fatalf("only %d pending at the kill: the test did not kill mid-replication", p)
	}

	src.restart(t)
	eventuallyConverged(t, 45*time.Second, src, "my-source", dst, "my-destination")
	allPresent(t, src, "my-source", acks)
	allPresent(t, dst, "my-destination", acks)
}

// TestChaosPartitionBidirectional partitions two bi-directional zones
// (fault proxies in front of both S3 listeners, registered as the zones'
// endpoints) while both sides write the same keys, heals the partition,
// and checks that both sides converge to the same versions and the same
// newest version per key, with the conflicts counted.
func TestChaosPartitionBidirectional(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test: skipped with -short")
	}
	c := startCluster(t, clusterOptions{Proxied: true}, "ch-dk-2", "at-vie-1")
	a, b := setupBidi(t, c)

	key := func(w, i int) string { return fmt.Sprintf("k%03d", (w*7+i)%40) }
	wa := startWrites(a.s3(), "bucket-a", 3, 5*time.Millisecond, key)
	wb := startWrites(b.s3(), "bucket-b", 3, 5*time.Millisecond, key)
	wa.waitCount(t, 100, 30*time.Second)
	wb.waitCount(t, 100, 30*time.Second)

	a.proxy.SetMode(repltest.Blackhole)
	b.proxy.SetMode(repltest.Blackhole)
	wa.waitCount(t, wa.count()+400, 30*time.Second)
	wb.waitCount(t, wb.count()+400, 30*time.Second)
	pa, _ := replStatus(t, a, "bucket-a").pending()
	pb, _ := replStatus(t, b, "bucket-b").pending()
	t.Logf("partitioned: %d pending in bucket-a, %d in bucket-b", pa, pb)
	if pa == 0 || pb == 0 {
		t.Fatal("nothing pending during the partition")
	}
	a.proxy.SetMode(repltest.Pass)
	b.proxy.SetMode(repltest.Pass)
	wa.waitCount(t, wa.count()+100, 30*time.Second)
	wb.waitCount(t, wb.count()+100, 30*time.Second)
	acksA, acksB := wa.end(), wb.end()

	eventuallyConverged(t, 45*time.Second, a, "bucket-a", b, "bucket-b")
	eventuallyConverged(t, 45*time.Second, b, "bucket-b", a, "bucket-a")
	for _, acks := range [][]acked{acksA, acksB} {
		allPresent(t, a, "bucket-a", acks)
		allPresent(t, b, "bucket-b", acks)
	}
	// The same newest version of every key on both sides.
	keys, _ := keysOf(versions(t, a, "bucket-a"))
	for _, k := range keys {
		_, ea, va := headStatus(t, a, "bucket-a", k, "")
		_, eb, vb := headStatus(t, b, "bucket-b", k, "")
		if va != vb || ea != eb {
			t.Errorf("%s: newest version %s (%s) in bucket-a, %s (%s) in bucket-b", k, va, ea, vb, eb)
		}
	}
	conflicts := metric(t, a, "sos_replication_conflicts_total") + metric(t, b, "sos_replication_conflicts_total")
	t.Logf("%d + %d writes, %d keys, %v conflicts counted", len(acksA), len(acksB), len(keys), conflicts)
	if conflicts == 0 {
		t.Fatal("sos_replication_conflicts_total is 0 after concurrent writes of the same keys in two zones")
	}
}
