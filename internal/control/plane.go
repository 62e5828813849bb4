package control

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"sos/internal/iam"
	"sos/internal/versionid"
)

// Zone is one zone the control plane knows: its name (also its S3 region) and
// the S3 endpoint clients use to reach it.
type Zone struct {
	Name       string `json:"name"`
	S3Endpoint string `json:"sos-endpoint"`
}

// Options configures Open.
type Options struct {
	// DataDir is the folder that holds the control database (DataDir/control).
	DataDir string
	// Zones are the zones of this deployment. Each gets a bearer token.
	Zones []Zone
	// APIEndpoint is the control plane's base URL as clients reach it, e.g.
	// "http://127.0.0.1:8080" (GET /v2/zone reports it with "/v2" appended).
	APIEndpoint string
	// RootKey and RootSecret fix the root key. Both empty: the plane generates a
	// root key the first time and keeps it in its database (see RootCredentials).
	RootKey, RootSecret string
	// Logger receives the plane's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Plane is the control plane service. Its methods are safe for concurrent use.
type Plane struct {
	store  *store
	logger *slog.Logger
	now    func() time.Time
	zones  []Zone
	apiURL string

	mu         sync.Mutex
	closed     bool
	rev        uint64
	changed    chan struct{} // closed and replaced on every revision bump
	roles      map[string]*Role
	keys       map[string]*APIKey
	buckets    map[string]*Bucket
	tokens     map[string]string // zone → bearer token
	tempKey    []byte
	rootKey    string
	rootSecret string
	usage      map[string]map[string]BucketUsage // zone → bucket → usage
	usageAt    map[string]time.Time              // zone → last report
}

type rootRecord struct {
	Key    string `json:"key"`
	Secret string `json:"secret"`
}

// Open opens (creating when needed) the control plane's database under
// opts.DataDir and loads it.
func Open(ctx context.Context, opts Options) (*Plane, error) {
	if opts.DataDir == "" {
		return nil, errors.New("control: Options.DataDir is required")
	}
	if (opts.RootKey == "") != (opts.RootSecret == "") {
		return nil, errors.New("control: give both the root key and the root secret, or neither")
	}
	seen := map[string]bool{}
	tags := map[uint64]string{}
	for _, z := range opts.Zones {
		if err := validZoneName(z.Name); err != nil {
			return nil, err
		}
		if seen[z.Name] {
			return nil, fmt.Errorf("control: zone %q is listed twice", z.Name)
		}
		seen[z.Name] = true
		// Version IDs are unique across zones only if their zone tags are.
		tag := versionid.ZoneTag(z.Name)
		if other, ok := tags[tag]; ok {
			return nil, fmt.Errorf("control: zones %q and %q would make the same version IDs (same version tag %d): rename one", other, z.Name, tag)
		}
		tags[tag] = z.Name
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("control: creating data folder: %w", err)
	}
	st, err := openStore(filepath.Join(opts.DataDir, "control"), logger)
	if err != nil {
		return nil, err
	}
	p := &Plane{
		store:   st,
		logger:  logger,
		now:     now,
		zones:   slices.Clone(opts.Zones),
		apiURL:  strings.TrimSuffix(opts.APIEndpoint, "/"),
		changed: make(chan struct{}),
		roles:   map[string]*Role{},
		keys:    map[string]*APIKey{},
		buckets: map[string]*Bucket{},
		tokens:  map[string]string{},
		usage:   map[string]map[string]BucketUsage{},
		usageAt: map[string]time.Time{},
	}
	if err := p.load(opts); err != nil {
		st.close()
		return nil, err
	}
	return p, nil
}

// load reads the database into memory and creates what is missing (temp
// key, generated root key, zone tokens) in one synced batch.
func (p *Plane) load(opts Options) error {
	s := p.store
	w := s.batch()
	dirty := false

	if raw, ok, err := s.get(keyRevision); err != nil {
		return err
	} else if ok && len(raw) == 8 {
		p.rev = binary.BigEndian.Uint64(raw)
	}

	if raw, ok, err := s.get(keyTempKey); err != nil {
		return err
	} else if ok && len(raw) >= 32 {
		p.tempKey = raw
	} else {
		p.tempKey = randomBytes(32)
		w.put(keyTempKey, p.tempKey)
		dirty = true
	}

	if opts.RootKey != "" {
		p.rootKey, p.rootSecret = opts.RootKey, opts.RootSecret
	} else {
		var rr rootRecord
		ok, err := s.getJSON(keyRootKey, &rr)
		if err != nil {
			return err
		}
		if !ok || rr.Key == "" {
			rr = rootRecord{Key: newAPIKeyID(), Secret: newSecret()}
			w.putJSON(keyRootKey, rr)
			dirty = true
			p.logger.Info("generated the root API key", "key", rr.Key)
		}
		p.rootKey, p.rootSecret = rr.Key, rr.Secret
	}

	for _, z := range p.zones {
		raw, ok, err := s.get(prefixZoneToken + z.Name)
		if err != nil {
			return err
		}
		if ok && len(raw) > 0 {
			p.tokens[z.Name] = string(raw)
			continue
		}
		tok := newSecret()
		w.put(prefixZoneToken+z.Name, []byte(tok))
		p.tokens[z.Name] = tok
		dirty = true
	}

	err := s.scan(prefixRole, func(key string, value []byte) error {
		r, err := decodeRole(value)
		if err != nil {
			return fmt.Errorf("control: loading %s: %w", key, err)
		}
		p.roles[r.ID] = r
		return nil
	})
	if err != nil {
		return err
	}
	err = s.scan(prefixKey, func(key string, value []byte) error {
		var k APIKey
		if err := decodeJSON(value, &k); err != nil {
			return fmt.Errorf("control: loading %s: %w", key, err)
		}
		p.keys[k.Key] = &k
		return nil
	})
	if err != nil {
		return err
	}
	err = s.scan(prefixBucket, func(key string, value []byte) error {
		var b Bucket
		if err := decodeJSON(value, &b); err != nil {
			return fmt.Errorf("control: loading %s: %w", key, err)
		}
		p.buckets[b.Name] = &b
		return nil
	})
	if err != nil {
		return err
	}
	if dirty {
		return w.commit()
	}
	w.b.Close()
	return nil
}

// Close closes the database. Waiters in WaitSnapshot are not woken: cancel
// their contexts first.
func (p *Plane) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	return p.store.close()
}

// errClosed is returned by changes after Close.
var errClosed = errors.New("control: the control plane is closed")

// commitLocked commits w together with the next revision and wakes the
// waiters. p.mu must be held; memory is updated by the caller after success.
func (p *Plane) commitLocked(w *writeBatch) error {
	if p.closed {
		w.b.Close()
		return errClosed
	}
	w.putRevision(p.rev + 1)
	if err := w.commit(); err != nil {
		return err
	}
	p.rev++
	close(p.changed)
	p.changed = make(chan struct{})
	return nil
}

// Revision is the current revision: it grows with every IAM or bucket
// registry change.
func (p *Plane) Revision() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rev
}

// Zones lists the configured zones.
func (p *Plane) Zones() []Zone { return slices.Clone(p.zones) }

// Zone returns the zone called name.
func (p *Plane) Zone(name string) (Zone, bool) {
	for _, z := range p.zones {
		if z.Name == name {
			return z, true
		}
	}
	return Zone{}, false
}

// APIEndpoint is the base URL of the control plane (without "/v2").
func (p *Plane) APIEndpoint() string { return p.apiURL }

// Now is the plane's clock.
func (p *Plane) Now() time.Time { return p.now() }

// RootCredentials returns the root API key and its secret.
func (p *Plane) RootCredentials() (key, secret string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rootKey, p.rootSecret
}

// ZoneToken returns the bearer token zone name uses on the internal API.
func (p *Plane) ZoneToken(name string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.tokens[name]
	return t, ok
}

// ZoneForToken returns the zone whose bearer token is token, comparing in
// constant time against every zone's token.
func (p *Plane) ZoneForToken(token string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	found := ""
	for _, z := range p.zones {
		if subtle.ConstantTimeCompare([]byte(p.tokens[z.Name]), []byte(token)) == 1 && token != "" {
			found = z.Name
		}
	}
	return found, found != ""
}

// RotateZoneToken replaces the bearer token of zone name and returns the new one.
func (p *Plane) RotateZoneToken(ctx context.Context, name string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if _, ok := p.Zone(name); !ok {
		return "", errorf(ErrNotFound, "zone %q is not configured", name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return "", errClosed
	}
	tok := newSecret()
	w := p.store.batch()
	w.put(prefixZoneToken+name, []byte(tok))
	if err := w.commit(); err != nil {
		return "", err
	}
	p.tokens[name] = tok
	return tok, nil
}

// Snapshot is everything a zone needs to authenticate and authorize requests
// and route buckets, at one revision.
type Snapshot struct {
	Revision   uint64
	Roles      []Role
	Keys       []APIKey // with their secrets
	RootKey    string
	RootSecret string
	TempKey    []byte // the master key; ForZone replaces it by a zone's own
	TempZone   string // the zone TempKey is derived for (set by ForZone)
	Buckets    []Bucket
	Zones      []Zone
}

// ForZone is the snapshot as served to zone: its TempKey is replaced by the
// key derived for that zone alone (iam.ZoneTempKey), so the zone verifies
// temporary credentials minted for it but cannot mint any that another zone
// accepts, and never sees the master key.
func (s Snapshot) ForZone(zone string) Snapshot {
	s.TempKey = iam.ZoneTempKey(s.TempKey, zone)
	s.TempZone = zone
	return s
}

// IAM converts the snapshot for an iam.Authorizer.
func (s Snapshot) IAM() iam.Snapshot {
	out := iam.Snapshot{
		Revision:   s.Revision,
		RootKey:    s.RootKey,
		RootSecret: s.RootSecret,
		TempKey:    slices.Clone(s.TempKey),
		TempZone:   s.TempZone,
	}
	for _, r := range s.Roles {
		out.Roles = append(out.Roles, iam.Role{
			ID: r.ID, Name: r.Name, Description: r.Description, Editable: r.Editable,
			Labels: cloneMap(r.Labels), Policy: r.Policy,
		})
	}
	for _, k := range s.Keys {
		out.Keys = append(out.Keys, iam.APIKey{Key: k.Key, Name: k.Name, Secret: k.Secret, RoleID: k.RoleID})
	}
	return out
}

// Snapshot returns the current state.
func (p *Plane) Snapshot() Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snapshotLocked()
}

func (p *Plane) snapshotLocked() Snapshot {
	s := Snapshot{
		Revision:   p.rev,
		RootKey:    p.rootKey,
		RootSecret: p.rootSecret,
		TempKey:    slices.Clone(p.tempKey),
		Zones:      slices.Clone(p.zones),
	}
	s.Roles = p.rolesLocked()
	for _, k := range p.keys {
		s.Keys = append(s.Keys, *k)
	}
	sort.Slice(s.Keys, func(i, j int) bool { return s.Keys[i].Key < s.Keys[j].Key })
	s.Buckets = p.bucketsLocked()
	return s
}

// WaitSnapshot returns the state as soon as its revision is greater than
// since: at once if it already is, else when a change is committed. When ctx
// ends first it returns the current (unchanged) state and changed=false.
func (p *Plane) WaitSnapshot(ctx context.Context, since uint64) (s Snapshot, changed bool) {
	for {
		p.mu.Lock()
		if p.rev > since {
			s := p.snapshotLocked()
			p.mu.Unlock()
			return s, true
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return p.Snapshot(), false
		}
	}
}

// RoleCredentials issues temporary credentials that act with role roleID's
// policy for ttl (clamped to [1 minute, 12 hours]; 0 means 1 hour), valid
// only in zone audience (a configured zone): they are minted with the key
// derived for that zone, so no other zone accepts them.
func (p *Plane) RoleCredentials(ctx context.Context, roleID, audience string, ttl time.Duration) (iam.TempCredentials, error) {
	if err := ctx.Err(); err != nil {
		return iam.TempCredentials{}, err
	}
	switch {
	case ttl <= 0:
		ttl = time.Hour
	case ttl < time.Minute:
		ttl = time.Minute
	case ttl > 12*time.Hour:
		ttl = 12 * time.Hour
	}
	p.mu.Lock()
	_, ok := p.roles[roleID]
	key := p.tempKey
	known := slices.ContainsFunc(p.zones, func(z Zone) bool { return z.Name == audience })
	p.mu.Unlock()
	if !ok {
		return iam.TempCredentials{}, errorf(ErrNotFound, "role %q not found", roleID)
	}
	if !known {
		return iam.TempCredentials{}, fieldErrorf("zone", ErrInvalid, "zone %q, for which credentials are asked, is not a configured zone", audience)
	}
	return iam.IssueTempCredentials(iam.ZoneTempKey(key, audience), audience, roleID, p.now(), ttl), nil
}

func validZoneName(name string) error {
	if name == "" || len(name) > 63 {
		return fmt.Errorf("control: zone name %q must be 1 to 63 characters", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("control: zone name %q may only hold lowercase letters, digits and hyphens", name)
		}
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand.Read never fails on supported platforms (Go ≥ 1.24).
		panic(err)
	}
	return b
}

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newAPIKeyID returns "EXO" followed by 24 random alphanumerics.
func newAPIKeyID() string {
	return "EXO" + randomAlnum(24)
}

func randomAlnum(n int) string {
	out := make([]byte, 0, n)
	// 248 is the largest multiple of 62 below 256: reject above it for no bias.
	for len(out) < n {
		for _, b := range randomBytes(n) {
			if b < 248 && len(out) < n {
				out = append(out, alphanumerics[int(b)%len(alphanumerics)])
			}
		}
	}
	return string(out)
}

// newSecret returns 43 characters of base64url randomness (32 bytes).
func newSecret() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
