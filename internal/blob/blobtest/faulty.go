package blobtest

import (
	"context"
	"errors"
	"io"
	"sync"

	"sos/internal/blob"
)

// Faulty wraps a blob.Store and makes chosen Puts fail. A failing Put reads
// its body into the real store as usual, then deletes the blob it made and
// returns the injected error (or the real Put's own error, if it fails):
// nothing is left, as when a write fails at its end (a full disk, a failed
// fsync). Open, Delete and Scan are passed through. Faulty is safe for
// concurrent use.
type Faulty struct {
	blob.Store

	mu      sync.Mutex
	puts    int   // Puts started so far
	failAt  int   // fail the Put with this number (1-based), 0 for none
	failAll bool  // fail every Put
	err     error // the injected error
}

// NewFaulty wraps s; it injects no failure until told to.
func NewFaulty(s blob.Store) *Faulty { return &Faulty{Store: s} }

// FailNth makes the n-th Put from now (n = 1 is the next one) fail with err;
// the Puts before and after it succeed. It replaces any earlier FailNth or
// FailAll.
func (f *Faulty) FailNth(n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt, f.failAll, f.err = f.puts+n, false, err
}

// FailAll makes every Put fail with err until Heal is called.
func (f *Faulty) FailAll(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt, f.failAll, f.err = 0, true, err
}

// Heal stops injecting failures.
func (f *Faulty) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt, f.failAll, f.err = 0, false, nil
}

// Puts returns how many Puts were called through f so far.
func (f *Faulty) Puts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.puts
}

// Put implements blob.Store, failing as configured.
func (f *Faulty) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	f.mu.Lock()
	f.puts++
	var inject error
	if f.failAll || f.puts == f.failAt {
		inject = f.err
	}
	f.mu.Unlock()
	id, n, err := f.Store.Put(ctx, r)
	if inject == nil || err != nil {
		return id, n, err
	}
	if derr := f.Store.Delete(context.WithoutCancel(ctx), id); derr != nil {
		return "", 0, errors.Join(inject, derr)
	}
	return "", 0, inject
}
