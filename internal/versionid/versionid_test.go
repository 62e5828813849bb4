package versionid

import (
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/quick"
	"time"
)

// steppingClock is a wall clock the test moves by hand, backwards too.
type steppingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (s *steppingClock) now() time.Time { s.mu.Lock(); defer s.mu.Unlock(); return s.t }
func (s *steppingClock) add(d time.Duration) {
	s.mu.Lock()
	s.t = s.t.Add(d)
	s.mu.Unlock()
}

func TestFormatParseRoundTrip(t *testing.T) {
	f := func(s uint64) bool {
		id := Format(s)
		got, ok := Parse(id)
		return ok && got == s && len(id) == 16 && id == strings.ToLower(id)
	}
	if err := quick.Check(f, nil); err != nil {
		t.Fatal(err)
	}
}

func TestFormatSortsLikeStamps(t *testing.T) {
	f := func(a, b uint64) bool {
		return (a < b) == (Format(a) < Format(b))
	}
	if err := quick.Check(f, nil); err != nil {
		t.Fatal(err)
	}
}

func TestParseRejects(t *testing.T) {
	for _, id := range []string{"", "null", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "0123456789abcdeg", "../../etc/passw", "0123456789abcd\x00f"} {
		if _, ok := Parse(id); ok {
			t.Errorf("Parse(%q) accepted", id)
		}
	}
}

func TestLayout(t *testing.T) {
	wall := Epoch().Add(1234567 * time.Millisecond)
	c := New("ch-dk-2", func() time.Time { return wall })
	s := c.Now()
	if got := Time(s); !got.Equal(wall) {
		t.Fatalf("Time = %v, want %v", got, wall)
	}
	if Zone(s) != ZoneTag("ch-dk-2") || ZoneTag("ch-dk-2") > 0x3ff {
		t.Fatalf("zone tag %x", Zone(s))
	}
	if (s>>ZoneBits)&counterMask != 0 {
		t.Fatalf("first stamp of a millisecond has counter %d", (s>>ZoneBits)&counterMask)
	}
	s2 := c.Now()
	if (s2>>ZoneBits)&counterMask != 1 || Time(s2) != Time(s) {
		t.Fatalf("second stamp in the same millisecond: %x after %x", s2, s)
	}
	if ZoneTag("ch-dk-2") == ZoneTag("at-vie-1") {
		t.Fatal("the dev zones share a tag")
	}
}

// Property: whatever the wall clock does (forward, backward, standing
// still), stamps strictly increase and never go behind an observed stamp.
func TestMonotonicUnderClockSteps(t *testing.T) {
	f := func(steps []int16, observe []uint32, seed uint64) bool {
		sc := &steppingClock{t: Epoch().Add(time.Hour)}
		c := New("z", sc.now)
		rng := rand.New(rand.NewPCG(seed, 1))
		var last uint64
		for i, st := range steps {
			sc.add(time.Duration(st) * time.Millisecond)
			if i < len(observe) && rng.IntN(3) == 0 {
				o := last + uint64(observe[i])
				c.Observe(o)
				if n := c.Now(); n <= o || n <= last {
					return false
				} else {
					last = n
				}
				continue
			}
			n := c.Now()
			if n <= last || Zone(n) != c.Tag() {
				return false
			}
			last = n
		}
		return true
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 300}); err != nil {
		t.Fatal(err)
	}
}

func TestCounterOverflowCarriesIntoMillis(t *testing.T) {
	wall := Epoch().Add(time.Second)
	c := New("z", func() time.Time { return wall })
	var last uint64
	for i := 0; i < 3*(counterMask+1); i++ {
		n := c.Now()
		if n <= last {
			t.Fatalf("stamp %d: %x <= %x", i, n, last)
		}
		last = n
	}
	if !Time(last).After(wall) {
		t.Fatalf("counter overflow did not advance the millis: %v", Time(last))
	}
}

func TestWallBeforeEpoch(t *testing.T) {
	c := New("z", func() time.Time { return time.Unix(0, 0) })
	a, b := c.Now(), c.Now()
	if b <= a {
		t.Fatalf("%x <= %x", b, a)
	}
}

func TestConcurrentUnique(t *testing.T) {
	c := New("z", nil)
	const n, per = 16, 2000
	out := make([][]uint64, n)
	var wg sync.WaitGroup
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for i := 0; i < per; i++ {
				s := c.Now()
				if s <= last {
					t.Errorf("goroutine %d: not increasing", g)
					return
				}
				last = s
				out[g] = append(out[g], s)
			}
		}()
	}
	wg.Wait()
	var all []uint64
	for _, o := range out {
		all = append(all, o...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			t.Fatalf("duplicate stamp %x", all[i])
		}
	}
}

// Two zones with the same wall time never make the same stamp, and a zone
// that observes the other's stamp orders its next write after it.
func TestTwoZones(t *testing.T) {
	wall := Epoch().Add(time.Minute)
	a := New("ch-dk-2", func() time.Time { return wall })
	b := New("at-vie-1", func() time.Time { return wall.Add(-time.Second) }) // b's clock lags
	sa := a.Now()
	sb := b.Now()
	if sa == sb {
		t.Fatal("same stamp in two zones")
	}
	b.Observe(sa)
	if sb2 := b.Now(); sb2 <= sa {
		t.Fatalf("after Observe, %x <= %x", sb2, sa)
	}
}

func TestObserveRefusesTheFarFuture(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	c := New("ch-dk-2", func() time.Time { return now })
	other := New("at-vie-1", func() time.Time { return now.Add(MaxAhead - time.Minute) })
	if !c.Observe(other.Now()) {
		t.Fatal("a stamp within MaxAhead was refused")
	}
	far := New("at-vie-1", func() time.Time { return now.Add(MaxAhead + time.Minute) }).Now()
	before := c.Now()
	if c.Observe(far) {
		t.Fatal("a stamp beyond MaxAhead was accepted")
	}
	if after := c.Now(); after <= before || after >= far {
		t.Fatalf("the clock followed a refused stamp: before %x after %x far %x", before, after, far)
	}
	// The largest stamp there is: refused, and the clock goes on increasing.
	if c.Observe(^uint64(0)) {
		t.Fatal("the maximum stamp was accepted")
	}
	if a, b := c.Now(), c.Now(); b <= a {
		t.Fatalf("stamps stopped increasing: %x then %x", a, b)
	}
}

func TestNowAfterMintsAboveAStoredStamp(t *testing.T) {
	wall := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ahead := New("ch-dk-2", func() time.Time { return wall.Add(3 * time.Hour) })
	stored := ahead.Now()
	behind := New("ch-dk-2", func() time.Time { return wall })
	if behind.Now() >= stored {
		t.Fatal("a clock three hours behind should mint below the stored stamp")
	}
	// More than MaxAhead ahead, which Observe would refuse: NowAfter
	// trusts a stamp this zone stored.
	if got := behind.NowAfter(stored); got <= stored {
		t.Fatalf("NowAfter(%x) = %x, not greater", stored, got)
	}
	if a, b := behind.NowAfter(0), behind.Now(); !(a < b) {
		t.Fatalf("stamps after NowAfter do not increase: %x then %x", a, b)
	}
}

func TestEpoch(t *testing.T) {
	if want := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); !Epoch().Equal(want) {
		t.Fatalf("Epoch() = %v, want %v", Epoch(), want)
	}
}
