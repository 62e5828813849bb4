package replication

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	cases := []struct {
		attempts int
		frac     float64
		want     time.Duration
	}{
		{1, 0, 50 * time.Millisecond},
		{1, 0.5, 75 * time.Millisecond},
		{2, 0, 100 * time.Millisecond},
		{3, 0, 200 * time.Millisecond},
		{4, 0, 400 * time.Millisecond},
		{5, 0, 500 * time.Millisecond}, // capped at Max: [Max/2, Max)
		{60, 0, 500 * time.Millisecond},
		{1000, 0.5, 750 * time.Millisecond},
		{0, 0, 50 * time.Millisecond},   // treated as the first attempt
		{2, -1, 100 * time.Millisecond}, // bad fractions clamp
		{2, 7, 200*time.Millisecond - time.Duration(float64(100*time.Millisecond)*0.000001)},
	}
	for _, tc := range cases {
		got := b.Delay(tc.attempts, tc.frac)
		if d := got - tc.want; d > time.Microsecond || d < -time.Microsecond {
			t.Errorf("Delay(%d, %v) = %v, want %v", tc.attempts, tc.frac, got, tc.want)
		}
	}
}

func TestBackoffNeverExceedsMax(t *testing.T) {
	b := Backoff{Min: 3 * time.Millisecond, Max: 1234 * time.Millisecond}
	prev := time.Duration(0)
	for a := 1; a < 200; a++ {
		lo, hi := b.Delay(a, 0), b.Delay(a, 0.999999)
		if hi > b.Max || lo < b.Min/2 {
			t.Fatalf("attempt %d: [%v, %v] outside [Min/2, Max]", a, lo, hi)
		}
		if lo < prev {
			t.Fatalf("attempt %d: delay shrank from %v to %v", a, prev, lo)
		}
		prev = lo
	}
}

func TestBackoffDefaults(t *testing.T) {
	var b Backoff
	if got := b.Delay(1, 0); got != 250*time.Millisecond {
		t.Fatalf("default first delay %v", got)
	}
	if got := b.Delay(100, 0.999999); got > 5*time.Minute {
		t.Fatalf("default cap exceeded: %v", got)
	}
}
