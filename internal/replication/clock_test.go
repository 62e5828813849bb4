package replication

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"sos/internal/meta"
	"sos/internal/meta/pebblemeta"
)

// fakeTime is a Clock that moves only when the test says so.
type fakeTime struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	f    *fakeTime
	at   time.Time
	c    chan time.Time
	done bool // fired or stopped
}

func (f *fakeTime) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeTime) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, at: f.now.Add(d), c: make(chan time.Time, 1)}
	f.timers = append(f.timers, t)
	return t
}

// Advance moves the clock by d and fires the timers due by then.
func (f *fakeTime) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	live := f.timers[:0]
	for _, t := range f.timers {
		if !t.done && !t.at.After(f.now) {
			t.done = true
			t.c <- f.now
		}
		if !t.done {
			live = append(live, t)
		}
	}
	f.timers = live
}

// waiting is the number of timers set and not yet fired or stopped.
func (f *fakeTime) waiting() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, t := range f.timers {
		if !t.done {
			n++
		}
	}
	return n
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

// The dispatcher waits on the injected clock's timers: an entry whose next
// try is half an hour away runs when the clock has moved half an hour, not
// before, and the test sleeps through neither the wait nor the hour-long
// rescan interval.
func TestDispatcherWaitsOnTheInjectedClock(t *testing.T) {
	ctx := context.Background()
	st, err := pebblemeta.Open(t.TempDir(), pebblemeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := &fakeTime{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	entry := meta.OutboxEntry{ID: "00000000000000000001", Bucket: "src", Key: "k", VersionID: "v", RuleID: "r",
		DestBucket: "dst", Role: "role", Op: meta.OpPut, CreatedAt: clock.now, State: meta.OutboxPending,
		NextTry: clock.now.Add(30 * time.Minute)}
	if err := st.Update(ctx, func(tx meta.Tx) error { return tx.PutOutbox(ctx, entry) }); err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{
		Zone: "z", Meta: st, Source: nopSource{}, Creds: nopCreds{}, Authz: nopAuthz{}, Peers: nopPeers{},
		RescanInterval: time.Hour, Time: clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() { cancel(); <-done }()

	pending := func() bool {
		_, err := st.OutboxEntry(ctx, entry.ID)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	// until polls a condition (a generous real-time bound, not a measure).
	until := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("never: %s", what)
			}
		}
	}
	until("the dispatcher waits on a timer", func() bool { return clock.waiting() > 0 })
	clock.Advance(29 * time.Minute)
	until("the dispatcher waits again", func() bool { return clock.waiting() > 0 })
	if !pending() {
		t.Fatal("the entry ran before its next try")
	}
	clock.Advance(time.Minute)
	until("the entry runs once it is due", func() bool { return !pending() })
}
