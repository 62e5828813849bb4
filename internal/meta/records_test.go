package meta

import "testing"

func TestTargetIndex(t *testing.T) {
	ts := []ReplTarget{{DestBucket: "a"}, {DestBucket: "b"}}
	for dest, want := range map[string]int{"a": 0, "b": 1, "c": -1} {
		if got := TargetIndex(ts, dest); got != want {
			t.Errorf("TargetIndex(%q) = %d, want %d", dest, got, want)
		}
	}
	if TargetIndex(nil, "a") != -1 {
		t.Error("TargetIndex of no targets is not -1")
	}
}
