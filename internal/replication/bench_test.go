package replication_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sos/internal/server/repltest"
)

// TestBenchReplication reports replication lag at a steady write rate and
// the drain rate of a backlog after an outage, on loopback. It runs when
// SOS_BENCH=1 or SOS_BENCH_BACKLOG=N (backlog size, default 5000).
func TestBenchReplication(t *testing.T) {
	backlog := 5000
	if v := os.Getenv("SOS_BENCH_BACKLOG"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("SOS_BENCH_BACKLOG=%q: want a positive number", v)
		}
		backlog = n
	} else if os.Getenv("SOS_BENCH") != "1" {
		t.Skip("benchmark: set SOS_BENCH=1 or SOS_BENCH_BACKLOG=N to run it")
	}
	c := repltest.NewCluster(t)
	c.SetRole(roleLeader, "r", policy("src", "dst"))
	a := c.AddZone("ch-dk-2", repltest.ZoneOptions{Workers: 32, RescanInterval: 20 * time.Millisecond})
	b := c.AddZone("at-vie-1", repltest.ZoneOptions{})
	pair(t, c, a, "src", b, "dst", roleLeader, true)
	ctx := context.Background()

	// 1. Lag at a steady rate: 200 writes/s for 5 s; lag = PUT acknowledged
	// at the source -> version visible on the destination (polled every ms).
	const rate, seconds = 200, 5
	var lags []time.Duration
	var mu sync.Mutex
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / rate)
	src, dst := a.Client(), b.Client()
	for i := range rate * seconds {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("steady/%05d", i)
			p, err := src.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String(key), Body: strings.NewReader("small object")})
			if err != nil {
				t.Error(err)
				return
			}
			start := time.Now()
			for time.Since(start) < time.Minute {
				_, err := dst.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String(key), VersionId: p.VersionId})
				if err == nil {
					mu.Lock()
					lags = append(lags, time.Since(start))
					mu.Unlock()
					return
				}
				time.Sleep(time.Millisecond)
			}
			t.Errorf("%s never replicated", key)
		}()
	}
	tick.Stop()
	wg.Wait()
	slices.Sort(lags)
	if len(lags) > 0 {
		t.Logf("steady %d writes/s, %d objects: replication lag p50 %v p99 %v max %v", rate, len(lags),
			lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1])
	}
	waitOutboxEmpty(t, a)

	// 2. Drain of a backlog built during an outage.
	b.Proxy.SetMode(repltest.Refuse)
	var next atomic.Int64
	wstart := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(backlog) {
					return
				}
				_, err := src.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String(fmt.Sprintf("backlog/%07d", i)), Body: strings.NewReader("x")})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("backlog: %d small objects written during the outage in %v", backlog, time.Since(wstart).Round(time.Millisecond))
	if n := outboxLen(t, a); n < backlog {
		t.Fatalf("outbox holds %d entries, want at least %d", n, backlog)
	}
	dstart := time.Now()
	b.Proxy.SetMode(repltest.Pass)
	repltest.Eventually(t, 30*time.Minute, func() (bool, string) {
		n := outboxLen(t, a)
		return n == 0, fmt.Sprintf("%d entries left", n)
	})
	d := time.Since(dstart)
	t.Logf("backlog of %d drained in %v: %.0f objects/s", backlog, d.Round(time.Millisecond), float64(backlog)/d.Seconds())
	waitNoDiff(t, a, "src", b, "dst")
}
