package load

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Stats describe one kind of operation over a run. Latencies are those of
// successful operations, from sending the request to reading the whole
// response body.
type Stats struct {
	Ops       int64 // successful operations
	Errors    int64 // failed operations
	Bytes     int64 // object bytes sent (PUT) or received (GET)
	OpsPerSec float64
	MBPerSec  float64 // 10^6 bytes per second
	P50, P90  time.Duration
	P99, Max  time.Duration
}

// Result is what Run measured.
type Result struct {
	Endpoint    string
	Bucket      string
	Op          Op
	Size        int64
	Concurrency int
	Payload     Payload
	Elapsed     time.Duration // wall time of the measured run
	Total       Stats
	Put, Get    *Stats // per kind of operation; nil when the run did none
	FirstError  string // the earliest failure, empty when none
}

func summarize(rs []*recorder, elapsed time.Duration) Stats {
	var s Stats
	n := 0
	for _, r := range rs {
		n += len(r.lat)
	}
	lat := make([]time.Duration, 0, n)
	for _, r := range rs {
		lat = append(lat, r.lat...)
		s.Bytes += r.bytes
		s.Errors += r.errs
	}
	s.Ops = int64(len(lat))
	if sec := elapsed.Seconds(); sec > 0 {
		s.OpsPerSec = float64(s.Ops) / sec
		s.MBPerSec = float64(s.Bytes) / sec / 1e6
	}
	slices.Sort(lat)
	s.P50, s.P90, s.P99 = percentile(lat, 0.50), percentile(lat, 0.90), percentile(lat, 0.99)
	if len(lat) > 0 {
		s.Max = lat[len(lat)-1]
	}
	return s
}

// percentile returns the q-quantile of sorted (nearest rank), 0 when empty.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// WriteText writes r for a person.
func (r Result) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("%s %s c=%d for %s against %s/%s (payload %s)\n",
		r.Op, FormatSize(r.Size), r.Concurrency, r.Elapsed.Round(time.Millisecond), r.Endpoint, r.Bucket, r.Payload)
	line := func(name string, s Stats) {
		ew.printf("  %-5s %9.1f ops/s %9.2f MB/s  p50 %s  p90 %s  p99 %s  max %s  ops %d  errors %d\n",
			name, s.OpsPerSec, s.MBPerSec, fmtDur(s.P50), fmtDur(s.P90), fmtDur(s.P99), fmtDur(s.Max), s.Ops, s.Errors)
	}
	if r.Put != nil && r.Get != nil {
		line("put", *r.Put)
		line("get", *r.Get)
	}
	line("total", r.Total)
	if r.FirstError != "" {
		ew.printf("  first error: %s\n", r.FirstError)
	}
	return ew.err
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond))
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

// jsonStats is Stats on the wire, latencies in milliseconds.
type jsonStats struct {
	Ops       int64   `json:"ops"`
	Errors    int64   `json:"errors"`
	Bytes     int64   `json:"bytes"`
	OpsPerSec float64 `json:"ops_per_sec"`
	MBPerSec  float64 `json:"mb_per_sec"`
	P50ms     float64 `json:"p50_ms"`
	P90ms     float64 `json:"p90_ms"`
	P99ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
}

func toJSONStats(s *Stats) *jsonStats {
	if s == nil {
		return nil
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return &jsonStats{Ops: s.Ops, Errors: s.Errors, Bytes: s.Bytes, OpsPerSec: s.OpsPerSec, MBPerSec: s.MBPerSec,
		P50ms: ms(s.P50), P90ms: ms(s.P90), P99ms: ms(s.P99), MaxMs: ms(s.Max)}
}

type jsonResult struct {
	Endpoint    string     `json:"endpoint"`
	Bucket      string     `json:"bucket"`
	Op          Op         `json:"op"`
	Size        int64      `json:"size"`
	SizeText    string     `json:"size_text"`
	Concurrency int        `json:"concurrency"`
	Payload     Payload    `json:"payload"`
	ElapsedSec  float64    `json:"elapsed_sec"`
	Total       *jsonStats `json:"total"`
	Put         *jsonStats `json:"put,omitempty"`
	Get         *jsonStats `json:"get,omitempty"`
	FirstError  string     `json:"first_error,omitempty"`
}

// MarshalJSON writes r with snake_case names and latencies in milliseconds.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonResult{
		Endpoint: r.Endpoint, Bucket: r.Bucket, Op: r.Op, Size: r.Size, SizeText: FormatSize(r.Size),
		Concurrency: r.Concurrency, Payload: r.Payload, ElapsedSec: r.Elapsed.Seconds(),
		Total: toJSONStats(&r.Total), Put: toJSONStats(r.Put), Get: toJSONStats(r.Get), FirstError: r.FirstError,
	})
}
