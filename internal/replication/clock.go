package replication

import "time"

// Clock is a Replicator's time: the wall time written on entries and
// compared with their next try, and the timers the dispatcher waits on
// (backoff, the periodic full pass). Tests move a fake one instead of
// sleeping through backoff and rescan intervals.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once, d from Now.
	NewTimer(d time.Duration) Timer
}

// Timer is a Clock's one-shot timer, as time.Timer.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; false if it already fired or
	// was stopped.
	Stop() bool
}

// wallClock is the real Clock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) NewTimer(d time.Duration) Timer { return wallTimer{time.NewTimer(d)} }

type wallTimer struct{ t *time.Timer }

func (w wallTimer) C() <-chan time.Time { return w.t.C }
func (w wallTimer) Stop() bool          { return w.t.Stop() }
