package load

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"sos/internal/s3client"
)

// Run creates the bucket when needed, writes the objects a GET run reads,
// then runs o.Op with o.Concurrency workers until o.Duration has passed or
// o.Ops operations are done, and returns what it measured. Failed
// operations are counted in the Result, not returned as an error; the error
// is for bad options, a bucket that cannot be created, a failed prefill or
// a cancelled ctx.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := checkBound(o.Duration, o.Ops); err != nil {
		return Result{}, err
	}
	r, err := Prepare(ctx, o)
	if err != nil {
		return Result{}, err
	}
	defer r.Close()
	return r.Measure(ctx, o.Duration, o.Ops)
}

// Runner is a prepared load: bucket created, GET objects written. It may
// measure several times (a benchmark's rounds) without preparing again.
type Runner struct {
	o      Options
	c      *client
	prefix string
	tr     *http.Transport // ours to close, nil when the caller gave a Client
	runs   int
}

// Prepare checks o (Duration and Ops are not needed), creates the bucket
// when needed and writes the objects that GETs read.
func Prepare(ctx context.Context, o Options) (*Runner, error) {
	o.Duration, o.Ops = 0, 1 // bounds are given to Measure
	if err := o.normalize(); err != nil {
		return nil, err
	}
	o.Ops = 0
	r := &Runner{o: o}
	hc := o.Client
	if hc == nil {
		r.tr = NewTransport(o.Concurrency)
		hc = &http.Client{Transport: r.tr}
	}
	body := make([]byte, o.Size)
	if _, err := rand.Read(body); err != nil {
		return nil, err
	}
	r.c = &client{
		raw: s3client.NewRaw(s3client.Config{Endpoint: o.Endpoint, Region: o.Region,
			AccessKey: o.AccessKey, Secret: o.Secret, HTTPClient: hc}),
		bucket: o.Bucket,
		body:   body,
	}
	r.c.bodyHash = s3client.UnsignedPayload
	if o.Payload == PayloadSHA256 {
		sum := sha256.Sum256(body)
		r.c.bodyHash = hex.EncodeToString(sum[:])
	}
	if err := r.c.ensureBucket(ctx); err != nil {
		r.Close()
		return nil, err
	}
	var runID [4]byte
	_, _ = rand.Read(runID[:])
	r.prefix = o.Prefix + hex.EncodeToString(runID[:]) + "/"
	if o.Op != OpPut {
		if err := prefill(ctx, r.c, o, r.prefix); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// Measure runs the load until d has passed or ops operations are done
// (exactly one of them non-zero) and returns what it measured. PUT keys
// are new in every Measure.
func (r *Runner) Measure(ctx context.Context, d time.Duration, ops int64) (Result, error) {
	if err := checkBound(d, ops); err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	o := r.o
	o.Duration, o.Ops = d, ops
	r.runs++
	return measure(ctx, r.c, o, r.prefix, "put"+strconv.Itoa(r.runs)+"/"), nil
}

// Close releases the Runner's idle connections.
func (r *Runner) Close() {
	if r.tr != nil {
		r.tr.CloseIdleConnections()
	}
}

// getKey names the i-th object that GETs read.
func getKey(prefix string, i int) string {
	return prefix + "get/" + strconv.Itoa(i)
}

// prefill writes the o.Keys objects that GETs read.
func prefill(ctx context.Context, c *client, o Options, prefix string) error {
	var next atomic.Int64
	errs := make(chan error, o.Concurrency)
	var wg sync.WaitGroup
	for range min(o.Concurrency, o.Keys) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= o.Keys || ctx.Err() != nil {
					return
				}
				if _, err := c.put(ctx, getKey(prefix, i)); err != nil {
					errs <- fmt.Errorf("writing the objects to GET: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

// recorder is one worker's tally of one kind of operation.
type recorder struct {
	lat          []time.Duration // successful operations only
	bytes, errs  int64
	firstErr     error
	firstErrTime time.Time
}

func (r *recorder) add(start time.Time, n int64, err error) {
	if err != nil {
		r.errs++
		if r.firstErr == nil {
			r.firstErr, r.firstErrTime = err, start
		}
		return
	}
	r.lat = append(r.lat, time.Since(start))
	r.bytes += n
}

type worker struct {
	put, get recorder
}

func measure(ctx context.Context, c *client, o Options, prefix, putDir string) Result {
	workers := make([]worker, o.Concurrency)
	var remaining atomic.Int64
	remaining.Store(o.Ops)
	start := time.Now()
	deadline := start.Add(o.Duration)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := &workers[w]
			if o.Ops > 0 {
				per := int(o.Ops)/o.Concurrency + 1
				wk.put.lat = make([]time.Duration, 0, per)
				wk.get.lat = make([]time.Duration, 0, per)
			}
			rng := mrand.New(mrand.NewPCG(uint64(w), uint64(start.UnixNano())))
			putPrefix := prefix + putDir + strconv.Itoa(w) + "/"
			keyBuf := make([]byte, 0, len(putPrefix)+20)
			for seq := 0; ; seq++ {
				if ctx.Err() != nil {
					return
				}
				if o.Ops > 0 {
					if remaining.Add(-1) < 0 {
						return
					}
				} else if !time.Now().Before(deadline) {
					return
				}
				doPut := o.Op == OpPut || (o.Op == OpMixed && (seq+w)%2 == 0)
				t := time.Now()
				if doPut {
					keyBuf = strconv.AppendInt(append(keyBuf[:0], putPrefix...), int64(seq), 10)
					n, err := c.put(ctx, string(keyBuf))
					wk.put.add(t, n, err)
				} else {
					n, err := c.get(ctx, getKey(prefix, rng.IntN(o.Keys)), o.Size)
					wk.get.add(t, n, err)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := Result{
		Endpoint: o.Endpoint, Bucket: o.Bucket, Op: o.Op, Size: o.Size,
		Concurrency: o.Concurrency, Payload: o.Payload, Elapsed: elapsed,
	}
	puts, gets := make([]*recorder, len(workers)), make([]*recorder, len(workers))
	for i := range workers {
		puts[i], gets[i] = &workers[i].put, &workers[i].get
	}
	all := append(append([]*recorder{}, puts...), gets...)
	res.Total = summarize(all, elapsed)
	if o.Op != OpGet {
		s := summarize(puts, elapsed)
		res.Put = &s
	}
	if o.Op != OpPut {
		s := summarize(gets, elapsed)
		res.Get = &s
	}
	var first time.Time
	for _, r := range all {
		if r.firstErr != nil && (first.IsZero() || r.firstErrTime.Before(first)) {
			first, res.FirstError = r.firstErrTime, r.firstErr.Error()
		}
	}
	return res
}
