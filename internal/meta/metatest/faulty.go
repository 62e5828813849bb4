package metatest

import (
	"context"
	"sync"

	"sos/internal/meta"
)

// Faulty wraps a meta.Store and makes chosen Updates fail. A failing Update
// runs fn against the real transaction (so fn's reads and writes behave as
// usual), then discards its writes and returns the injected error (or fn's
// own error, if fn fails): nothing is written, as when a commit fails.
// CommitThenFail instead lets the chosen Update commit and then returns the
// error, as a store whose commit failed after it took effect (a WAL written
// but not fsync'd) returns meta.ErrStoreFailed.
// Reads and Close are passed through. Faulty is safe for concurrent use.
type Faulty struct {
	meta.Store

	mu      sync.Mutex
	updates int   // Updates started so far
	failAt  int   // fail the Update with this number (1-based), 0 for none
	failAll bool  // fail every Update
	after   bool  // commit the failing Update, then return err
	err     error // the injected error
}

// NewFaulty wraps s; it injects no failure until told to.
func NewFaulty(s meta.Store) *Faulty { return &Faulty{Store: s} }

// FailNth makes the n-th Update from now (n = 1 is the next one) fail with
// err; the Updates before and after it succeed. It replaces any earlier
// FailNth or FailAll.
func (f *Faulty) FailNth(n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt, f.failAll, f.after, f.err = f.updates+n, false, false, err
}

// CommitThenFail makes the n-th Update from now commit fn's writes and then
// return err. It replaces any earlier FailNth, FailAll or CommitThenFail.
func (f *Faulty) CommitThenFail(n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt, f.failAll, f.after, f.err = f.updates+n, false, true, err
}

// FailAll makes every Update fail with err until Heal is called.
func (f *Faulty) FailAll(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt, f.failAll, f.after, f.err = 0, true, false, err
}

// Heal stops injecting failures.
func (f *Faulty) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt, f.failAll, f.after, f.err = 0, false, false, nil
}

// Updates returns how many Updates were called through f so far.
func (f *Faulty) Updates() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.updates
}

// Update implements meta.Store, failing as configured.
func (f *Faulty) Update(ctx context.Context, fn func(meta.Tx) error) error {
	f.mu.Lock()
	f.updates++
	var inject error
	if f.failAll || f.updates == f.failAt {
		inject = f.err
	}
	after := f.after
	f.mu.Unlock()
	if inject == nil {
		return f.Store.Update(ctx, fn)
	}
	if after {
		if err := f.Store.Update(ctx, fn); err != nil {
			return err
		}
		return inject
	}
	err := f.Store.Update(ctx, func(tx meta.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return inject
	})
	if err == nil {
		// Cannot happen with a conforming store; never report success for
		// an Update that was meant to fail.
		return inject
	}
	return err
}
