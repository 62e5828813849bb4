package exo2

import (
	"net/http"
	"sync"
	"time"
)

// changesState reports whether a request with this method may change what
// the server holds.
func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// Replays remembers the signatures of accepted requests until they expire,
// so that a captured request cannot be sent again while its signature is
// still valid. Memory grows with the number of requests accepted within
// one expiry window (DefaultMaxAhead + ClockSkew); entries are dropped once
// expired. One Replays serves one verifier: several control-plane processes
// behind one address would each accept a signature once.
type Replays struct {
	mu        sync.Mutex
	seen      map[[32]byte]int64 // signature -> expires (unix seconds)
	nextPrune time.Time
}

// NewReplays returns an empty Replays.
func NewReplays() *Replays {
	return &Replays{seen: make(map[[32]byte]int64)}
}

// first records sig until expires and reports whether it had not been seen.
// A signature that is not an HMAC-SHA256 (32 bytes) never matched a
// secret, and Verify does not get here with one.
func (r *Replays) first(sig []byte, expires int64, now time.Time) bool {
	var k [32]byte
	copy(k[:], sig)
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.After(r.nextPrune) {
		for s, exp := range r.seen {
			if exp <= now.Unix() {
				delete(r.seen, s)
			}
		}
		r.nextPrune = now.Add(time.Minute)
	}
	if _, dup := r.seen[k]; dup {
		return false
	}
	r.seen[k] = expires
	return true
}

// Len is the number of signatures remembered.
func (r *Replays) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// Expiries hands out the expiries of one client's signatures: d from now,
// whole seconds, and always later than the one before, so that two
// identical writes sent within one second carry different signatures (a
// verifier with Replays accepts each write signature once). The zero
// value is ready to use.
type Expiries struct {
	mu   sync.Mutex
	last time.Time
}

// Next returns the expiry of a signature made at now.
func (e *Expiries) Next(now time.Time, d time.Duration) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := now.Add(d).Truncate(time.Second)
	if !t.After(e.last) {
		t = e.last.Add(time.Second)
	}
	e.last = t
	return t
}
