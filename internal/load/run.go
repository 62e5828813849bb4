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

	"sos/internal/auth/sigv4"
)

// Run creates the bucket when needed, writes the objects a GET run reads,
// then runs o.Op with o.Concurrency workers until o.Duration has passed or
// o.Ops operations are done, and returns what it measured. Failed
// operations are counted in the Result, not returned as an error; the error
// is for bad options, a bucket that cannot be created, a failed prefill or
// a cancelled ctx.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.normalize(); err != nil {
		return Result{}, err
	}
	hc := o.Client
	if hc == nil {
		tr := NewTransport(o.Concurrency)
		defer tr.CloseIdleConnections()
		hc = &http.Client{Transport: tr}
	}
	body := make([]byte, o.Size)
	if _, err := rand.Read(body); err != nil {
		return Result{}, err
	}
	c := &client{
		hc:     hc,
		creds:  sigv4.Credentials{AccessKey: o.AccessKey, Secret: o.Secret},
		region: o.Region,
		base:   o.Endpoint + "/" + o.Bucket,
		body:   body,
	}
	c.bodyHash = sigv4.UnsignedPayload
	if o.Payload == PayloadSHA256 {
		sum := sha256.Sum256(body)
		c.bodyHash = hex.EncodeToString(sum[:])
	}
	if err := c.ensureBucket(ctx); err != nil {
		return Result{}, err
	}
	var runID [4]byte
	_, _ = rand.Read(runID[:])
	prefix := o.Prefix + hex.EncodeToString(runID[:]) + "/"
	if o.Op != OpPut {
		if err := prefill(ctx, c, o, prefix); err != nil {
			return Result{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	return measure(ctx, c, o, prefix), nil
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

func measure(ctx context.Context, c *client, o Options, prefix string) Result {
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
			putPrefix := prefix + "put/" + strconv.Itoa(w) + "/"
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
