package server_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sos/internal/server/repltest"
)

// Replication figures between two real zone processes (`sosd control` and
// two `sosd zone`). Run them with
//
//	go test ./internal/server -run '^$' -bench Replication -benchtime 1x
//
// and SOS_BENCH_BACKLOG=100000 for the backlog of 100,000 objects
// (the default is 2,000, so that a casual -bench run stays short).

// histogram is a cumulative Prometheus histogram read from /metrics.
type histogram struct {
	le    []float64 // upper bounds, ascending, +Inf last
	count []float64 // cumulative counts
}

// lagHistogram reads sos_replication_lag_seconds of a zone (summed over
// its label sets).
func lagHistogram(t testing.TB, z *zoneProc) histogram {
	t.Helper()
	resp, err := getMetrics(z.wire.http(), z.url())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	byLE := map[float64]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "sos_replication_lag_seconds_bucket{") {
			continue
		}
		i := strings.Index(l, `,le="`)
		if i < 0 {
			t.Fatalf("no le label in %q", l)
		}
		j := strings.Index(l[i+5:], `"`)
		le, err := strconv.ParseFloat(l[i+5:i+5+j], 64)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		f := strings.Fields(l)
		n, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		byLE[le] += n
	}
	var h histogram
	for le := range byLE {
		h.le = append(h.le, le)
	}
	sort.Float64s(h.le)
	for _, le := range h.le {
		h.count = append(h.count, byLE[le])
	}
	return h
}

// minus returns the observations made since before.
func (h histogram) minus(before histogram) histogram {
	out := histogram{le: h.le, count: append([]float64(nil), h.count...)}
	for i, le := range h.le {
		for j, ble := range before.le {
			if ble == le {
				out.count[i] -= before.count[j]
			}
		}
	}
	return out
}

// quantile interpolates linearly inside the bucket holding q, as
// Prometheus' histogram_quantile does (the buckets double from 1 ms, so a
// figure is exact to within its bucket).
func (h histogram) quantile(q float64) float64 {
	if len(h.count) == 0 || h.count[len(h.count)-1] == 0 {
		return math.NaN()
	}
	rank := q * h.count[len(h.count)-1]
	lower, below := 0.0, 0.0
	for i, c := range h.count {
		if c >= rank {
			if math.IsInf(h.le[i], 1) {
				return lower
			}
			if c == below {
				return h.le[i]
			}
			return lower + (h.le[i]-lower)*(rank-below)/(c-below)
		}
		lower, below = h.le[i], c
	}
	return lower
}

// BenchmarkReplicationLag writes small objects at a steady rate to a
// source zone for a while and reports the replication lag (source commit
// to destination acknowledgement, from the source's lag histogram) at the
// 50th and 99th percentiles.
func BenchmarkReplicationLag(b *testing.B) {
	for _, rate := range []int{100, 500} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			for range b.N {
				replicationLag(b, rate, 10*time.Second)
			}
		})
	}
}

func replicationLag(b *testing.B, rate int, d time.Duration) {
	c := startCluster(b, clusterOptions{}, "ch-dk-2", "at-vie-1")
	src, dst := setupLeaderFollower(b, c)
	cl := src.s3()
	before := lagHistogram(b, src)

	// A fixed schedule: one PUT every 1/rate, each in its own goroutine
	// (bounded), so that a slow PUT does not slow the rate down.
	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, 256)
		errs     atomic.Int64
		sent     int
		interval = time.Second / time.Duration(rate)
		body     = []byte(strings.Repeat("x", 1024))
	)
	b.ResetTimer()
	start := time.Now()
	for next := start; time.Since(start) < d; next = next.Add(interval) {
		time.Sleep(time.Until(next))
		sem <- struct{}{}
		wg.Add(1)
		k := fmt.Sprintf("lag/%07d", sent)
		sent++
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := put(context.Background(), cl, "my-source", k, body); err != nil {
				errs.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	eventuallyConverged(b, 60*time.Second, src, "my-source", dst, "my-destination")
	b.StopTimer()
	if n := errs.Load(); n > 0 {
		b.Fatalf("%d PUTs failed", n)
	}
	h := lagHistogram(b, src).minus(before)
	total := h.count[len(h.count)-1]
	if int(total) != sent {
		b.Fatalf("the lag histogram counts %v replications, %d objects were written", total, sent)
	}
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "puts/s")
	b.ReportMetric(h.quantile(0.50)*1000, "p50-lag-ms")
	b.ReportMetric(h.quantile(0.99)*1000, "p99-lag-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkReplicationBacklogDrain writes a backlog of small objects while
// the destination zone is down (SIGTERM), starts it again, and reports how
// fast the source drains the backlog: objects/s from the first replication
// after the restart until nothing is pending, and the delay before the
// first replication (the source probes an unreachable destination with a
// capped backoff). The buckets are then compared version by version.
func BenchmarkReplicationBacklogDrain(b *testing.B) {
	n := 2000
	if v := os.Getenv("SOS_BENCH_BACKLOG"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("SOS_BENCH_BACKLOG=%q: want a positive number of objects", v)
		}
	}
	for range b.N {
		backlogDrain(b, n)
	}
}

func backlogDrain(b *testing.B, n int) {
	c := startCluster(b, clusterOptions{}, "ch-dk-2", "at-vie-1")
	src, dst := setupLeaderFollower(b, c)
	dst.kill(syscall.SIGTERM)

	cl := src.s3()
	body := []byte(strings.Repeat("y", 512))
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		errs atomic.Int64
	)
	wstart := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if _, err := put(context.Background(), cl, "my-source", fmt.Sprintf("backlog/%08d", i), body); err != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	wtime := time.Since(wstart)
	if e := errs.Load(); e > 0 {
		b.Fatalf("%d PUTs failed", e)
	}
	p, _ := replStatus(b, src, "my-source").pending()
	if p != int64(n) {
		b.Fatalf("%d pending after writing %d objects with the destination down", p, n)
	}

	b.ResetTimer()
	dst.restart(b)
	up := time.Now()
	base := metric(b, src, "sos_replication_replicated_operations_total")
	var first time.Time
	repltest.Eventually(b, 30*time.Minute, func() (bool, string) {
		time.Sleep(100 * time.Millisecond)
		done := metric(b, src, "sos_replication_replicated_operations_total") - base
		if first.IsZero() && done > 0 {
			first = time.Now()
		}
		return done >= float64(n), fmt.Sprintf("%v of %d replicated", done, n)
	})
	end := time.Now()
	b.StopTimer()
	eventuallyConverged(b, 5*time.Minute, src, "my-source", dst, "my-destination")

	drain := end.Sub(first)
	b.ReportMetric(float64(n), "objects")
	b.ReportMetric(float64(n)/wtime.Seconds(), "backlog-puts/s")
	b.ReportMetric(first.Sub(up).Seconds(), "resume-s")
	b.ReportMetric(drain.Seconds(), "drain-s")
	b.ReportMetric(float64(n)/drain.Seconds(), "drained-objects/s")
	b.ReportMetric(0, "ns/op")
}
