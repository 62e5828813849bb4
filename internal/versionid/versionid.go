package versionid

import (
	"hash/crc32"
	"sync"
	"time"
)

// Layout of a stamp, from the most significant bit: 42 bits of milliseconds
// since Epoch, 12 bits of logical counter, 10 bits of zone tag.
const (
	ZoneBits    = 10
	CounterBits = 12
	MillisBits  = 42

	zoneMask    = 1<<ZoneBits - 1
	counterMask = 1<<CounterBits - 1
	millisMask  = 1<<MillisBits - 1
)

// EpochUnixMilli is the zero of the stamps' millisecond field, 2024-01-01
// 00:00 UTC, in Unix milliseconds. It is fixed: every stored version ID
// depends on it.
const EpochUnixMilli = 1704067200000

// Epoch is the zero of the stamps' millisecond field as a time.
func Epoch() time.Time { return time.UnixMilli(EpochUnixMilli).UTC() }

// ZoneTag is the 10-bit tag of a zone name: crc32(name) & 0x3ff.
func ZoneTag(zone string) uint64 {
	return uint64(crc32.ChecksumIEEE([]byte(zone))) & zoneMask
}

// Clock is a hybrid logical clock for one zone. It is safe for concurrent
// use; its stamps strictly increase even when the wall clock steps back.
type Clock struct {
	now func() time.Time
	tag uint64

	mu     sync.Mutex
	millis uint64 // of the last stamp handed out or observed
	count  uint64
}

// New returns the clock of zone, reading wall time from now (time.Now when
// nil).
func New(zone string, now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now, tag: ZoneTag(zone)}
}

// Tag is the zone tag in this clock's stamps.
func (c *Clock) Tag() uint64 { return c.tag }

func (c *Clock) wallMillis() uint64 {
	d := c.now().UnixMilli() - EpochUnixMilli
	if d < 0 {
		return 0
	}
	return uint64(d) & millisMask
}

// Now returns a new stamp, greater than every stamp this clock handed out or
// observed before.
func (c *Clock) Now() uint64 {
	wall := c.wallMillis()
	c.mu.Lock()
	defer c.mu.Unlock()
	if wall > c.millis {
		c.millis, c.count = wall, 0
	} else {
		c.count++
		if c.count > counterMask {
			c.millis++
			c.count = 0
		}
	}
	return c.millis<<(CounterBits+ZoneBits) | c.count<<ZoneBits | c.tag
}

// NowAfter returns a new stamp, greater than every stamp this clock handed
// out or observed before and greater than stamp: the stamp of a version
// this zone already stored, which a clock restarted behind the wall time
// it had then must not mint below. Unlike Observe it trusts stamp, which
// passed Observe's check (or was minted here) when it was stored.
func (c *Clock) NowAfter(stamp uint64) uint64 {
	ms := stamp >> (CounterBits + ZoneBits)
	ct := (stamp >> ZoneBits) & counterMask
	c.mu.Lock()
	if ms > c.millis || (ms == c.millis && ct > c.count) {
		c.millis, c.count = ms, ct
	}
	c.mu.Unlock()
	return c.Now()
}

// MaxAhead is how far ahead of the wall clock an observed stamp may be.
// Zones' clocks are kept in step (NTP); a stamp further ahead is a broken
// clock or a forged version ID, and following it would drag this clock to
// its future (up to the end of the millisecond field, where it would wrap).
const MaxAhead = time.Hour

// Observe advances the clock past a stamp seen from elsewhere (another
// zone's version), so that the next stamp of this clock is greater. It
// refuses (false) a stamp more than MaxAhead ahead of the wall clock.
func (c *Clock) Observe(stamp uint64) bool {
	ms := stamp >> (CounterBits + ZoneBits)
	ct := (stamp >> ZoneBits) & counterMask
	if ms > c.wallMillis()+uint64(MaxAhead.Milliseconds()) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ms > c.millis || (ms == c.millis && ct > c.count) {
		c.millis, c.count = ms, ct
	}
	return true
}

// Format returns the version ID of a stamp: 16 lowercase hex digits, which
// sort as the stamps do.
func Format(stamp uint64) string {
	const hexd = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = hexd[stamp&0xf]
		stamp >>= 4
	}
	return string(b[:])
}

// Parse returns the stamp of a version ID made by Format; ok is false for
// anything else (wrong length, upper case, other characters).
func Parse(id string) (stamp uint64, ok bool) {
	if len(id) != 16 {
		return 0, false
	}
	for i := 0; i < 16; i++ {
		ch := id[i]
		var v byte
		switch {
		case ch >= '0' && ch <= '9':
			v = ch - '0'
		case ch >= 'a' && ch <= 'f':
			v = ch - 'a' + 10
		default:
			return 0, false
		}
		stamp = stamp<<4 | uint64(v)
	}
	return stamp, true
}

// Time returns the wall time (millisecond precision) a stamp was made at.
func Time(stamp uint64) time.Time {
	return Epoch().Add(time.Duration(stamp>>(CounterBits+ZoneBits)) * time.Millisecond)
}

// Zone returns the zone tag of a stamp.
func Zone(stamp uint64) uint64 { return stamp & zoneMask }
