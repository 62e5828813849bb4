package replication

import "time"

// Backoff bounds the delay between attempts of a transiently failing
// operation: Min after the first failure, doubling up to Max.
type Backoff struct {
	Min, Max time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = 500 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 5 * time.Minute
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	return b
}

// Delay is the wait after the attempts-th consecutive failure (attempts >=
// 1), with jitter: frac in [0,1) picks a point in the upper half of the
// exponential step, so that delays stay in [step/2, step) and many entries
// failing together spread out.
func (b Backoff) Delay(attempts int, frac float64) time.Duration {
	b = b.withDefaults()
	if attempts < 1 {
		attempts = 1
	}
	step := b.Min
	for i := 1; i < attempts && step < b.Max; i++ {
		step *= 2
	}
	if step > b.Max {
		step = b.Max
	}
	if frac < 0 {
		frac = 0
	}
	if frac >= 1 {
		frac = 0.999999
	}
	return step/2 + time.Duration(float64(step/2)*frac)
}
