package sigv4

import (
	"context"
	"crypto/sha256"
	"net/http"
	"sync"
)

// DefaultKeyCacheSize is how many signing keys a Verifier keeps when
// NewVerifier is given no size.
const DefaultKeyCacheSize = 1024

// Verifier verifies requests as Verify does and keeps the signing keys it
// derives, so that a key signing many requests costs its four HMACs once a
// day instead of once a request. It is safe for concurrent use.
//
// A cached key is found by a SHA-256 of the secret together with the scope
// (day, region, service), never by the access key alone: after a secret is
// rotated, requests signed with the old secret never meet a key derived from
// it, and the cache holds no secret.
type Verifier struct {
	opts Options
	keys *keyCache
}

// NewVerifier makes a Verifier with options o (checked by Verify on every
// call) and a cache of at most cacheSize signing keys (DefaultKeyCacheSize
// when cacheSize <= 0).
func NewVerifier(o Options, cacheSize int) *Verifier {
	if cacheSize <= 0 {
		cacheSize = DefaultKeyCacheSize
	}
	return &Verifier{opts: o, keys: &keyCache{max: cacheSize, m: make(map[keyCacheKey][sha256.Size]byte)}}
}

// Verify authenticates r as the package-level Verify does with the
// Verifier's options.
func (v *Verifier) Verify(ctx context.Context, r *http.Request) (*Result, error) {
	return verify(ctx, r, v.opts, v.keys)
}

// keyCacheKey identifies a signing key: the secret's hash and the scope.
type keyCacheKey struct {
	secret               sha256Sum
	day, region, service string
}

type sha256Sum = [sha256.Size]byte

// keyCache is a bounded map of derived signing keys. When full, it is
// emptied and refilled: the keys in use come back at the cost of one
// derivation each, and the bound holds without tracking recency.
type keyCache struct {
	max int
	mu  sync.RWMutex
	m   map[keyCacheKey][sha256.Size]byte
}

// signingKey returns the signing key of (secret, day, region, service),
// from the cache when c holds it; a nil c derives it every time.
func (c *keyCache) signingKey(secret, day, region, service string) []byte {
	if c == nil {
		return signingKey(secret, day, region, service)
	}
	k := keyCacheKey{secret: sha256.Sum256([]byte(secret)), day: day, region: region, service: service}
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v[:]
	}
	copy(v[:], signingKey(secret, day, region, service))
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = v
	c.mu.Unlock()
	return v[:]
}
