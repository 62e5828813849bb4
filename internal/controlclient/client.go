package controlclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sos/internal/iam"
	"sos/internal/transport"
)

// Options configures New.
type Options struct {
	// URL is the control plane's base URL, e.g. "http://127.0.0.1:8080".
	URL string
	// Token is this zone's bearer token on the internal API.
	Token string
	// Zone is this zone's name.
	Zone string
	// Logger receives the client's logs; nil discards them.
	Logger *slog.Logger
	// HTTPClient sends the requests (the zone's, from internal/transport
	// with its --ca and --insecure-http); nil means one of
	// internal/transport with the system roots. It should have no overall
	// timeout: each request has its own deadline.
	HTTPClient *http.Client
	// RequestTimeout bounds each call other than the snapshot long-poll
	// (which waits Wait plus a margin); 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Authorizer is kept loaded with every snapshot; nil makes a new one
	// (see (*Client).Authorizer).
	Authorizer *iam.Authorizer
	// OnSnapshot, when set, is called after each new snapshot is applied,
	// from the Run goroutine.
	OnSnapshot func(State)
	// Wait is the long-poll wait asked of the control plane; 0 means 25s.
	Wait time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CacheFile, when set, is where the client keeps the last snapshot it
	// applied (API key secrets included: see the package doc), and what Run
	// serves from when the control plane does not answer at start.
	CacheFile string
	// CacheGrace is how long Run's first request may take before Run
	// applies the cached snapshot (and keeps trying); 0 means
	// DefaultCacheGrace.
	CacheGrace time.Duration
}

// Bucket is an entry of the global bucket namespace.
type Bucket struct {
	Name      string    `json:"name"`
	Zone      string    `json:"zone"`
	CreatedAt time.Time `json:"created-at"`
}

// Zone is a zone and its S3 endpoint.
type Zone struct {
	Name       string `json:"name"`
	S3Endpoint string `json:"sos-endpoint"`
}

// BucketUsage is what a zone reports about one bucket.
type BucketUsage struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	Objects int64  `json:"objects"`
}

// State is one snapshot as the client applied it.
type State struct {
	Revision uint64
	IAM      iam.Snapshot
	Buckets  []Bucket
	Zones    []Zone
}

// ErrBucketAlreadyExists: the name is taken by another zone.
type ErrBucketAlreadyExists struct {
	Zone string
}

func (e ErrBucketAlreadyExists) Error() string {
	return "bucket name already taken in zone " + e.Zone
}

// ErrBucketAlreadyOwnedByYou: this zone registered the name already.
var ErrBucketAlreadyOwnedByYou = errors.New("bucket name already registered by this zone")

// ErrNotFound: the control plane does not know the bucket or role.
var ErrNotFound = errors.New("not found")

// APIError is any other refusal of the control plane.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("control plane answered %d: %s", e.Status, e.Message)
}

// DefaultRequestTimeout bounds a call to the control plane other than the
// snapshot long-poll.
const DefaultRequestTimeout = 30 * time.Second

// Client talks to the control plane for one zone. Safe for concurrent use.
type Client struct {
	base       string
	token      string
	zone       string
	logger     *slog.Logger
	hc         *http.Client
	auth       *iam.Authorizer
	onSnapshot func(State)
	wait       time.Duration
	timeout    time.Duration
	now        func() time.Time
	cacheFile  string
	cacheGrace time.Duration

	applied  atomic.Bool // a snapshot of the control plane was applied
	state    atomic.Pointer[clientState]
	healthy  atomic.Bool
	lastSync atomic.Int64 // unix nanos of the last successful exchange
	ready    chan struct{}
	readyOne sync.Once

	mu        sync.Mutex // guards localBkt
	localBkt  map[string]Bucket
	credsMu   sync.Mutex
	credCache map[string]iam.TempCredentials
}

type clientState struct {
	rev     uint64
	buckets map[string]Bucket
	zones   map[string]Zone
	list    []Zone
}

// New returns a client; call Run to start syncing.
func New(opts Options) *Client {
	c := &Client{
		base:       strings.TrimSuffix(opts.URL, "/"),
		token:      opts.Token,
		zone:       opts.Zone,
		logger:     opts.Logger,
		hc:         opts.HTTPClient,
		auth:       opts.Authorizer,
		onSnapshot: opts.OnSnapshot,
		wait:       opts.Wait,
		timeout:    opts.RequestTimeout,
		now:        opts.Now,
		cacheFile:  opts.CacheFile,
		cacheGrace: opts.CacheGrace,
		ready:      make(chan struct{}),
		localBkt:   map[string]Bucket{},
		credCache:  map[string]iam.TempCredentials{},
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.hc == nil {
		// Without a CA file Load cannot fail.
		trust, _ := transport.Load(transport.Options{})
		c.hc = trust.Client(transport.Tuning{})
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.auth == nil {
		c.auth = iam.NewAuthorizer(iam.AuthorizerOptions{Now: c.now})
	}
	if c.wait <= 0 {
		c.wait = 25 * time.Second
	}
	if c.timeout <= 0 {
		c.timeout = DefaultRequestTimeout
	}
	if c.cacheGrace <= 0 {
		c.cacheGrace = DefaultCacheGrace
	}
	c.state.Store(&clientState{buckets: map[string]Bucket{}, zones: map[string]Zone{}})
	return c
}

// Authorizer is the authorizer the client keeps loaded.
func (c *Client) Authorizer() *iam.Authorizer { return c.auth }

// Healthy reports whether the last exchange with the control plane worked.
func (c *Client) Healthy() bool { return c.healthy.Load() }

// LastSync is when the control plane last answered (zero: never).
func (c *Client) LastSync() time.Time {
	n := c.lastSync.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Revision is the revision of the applied snapshot.
func (c *Client) Revision() uint64 { return c.state.Load().rev }

// Ready is closed once the first snapshot has been applied.
func (c *Client) Ready() <-chan struct{} { return c.ready }

// Zones lists the zones of the last snapshot.
func (c *Client) Zones() []Zone {
	return append([]Zone(nil), c.state.Load().list...)
}

// Buckets lists the global bucket namespace of the last snapshot (plus the
// names this zone registered since), ordered by name.
func (c *Client) Buckets() []Bucket {
	st := c.state.Load()
	seen := make(map[string]Bucket, len(st.buckets))
	for n, b := range st.buckets {
		seen[n] = b
	}
	c.mu.Lock()
	for n, b := range c.localBkt {
		seen[n] = b
	}
	c.mu.Unlock()
	out := make([]Bucket, 0, len(seen))
	for _, b := range seen {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// BucketZone says which zone holds bucket name and that zone's S3 endpoint.
func (c *Client) BucketZone(name string) (zone, endpoint string, ok bool) {
	st := c.state.Load()
	b, ok := st.buckets[name]
	if !ok {
		c.mu.Lock()
		b, ok = c.localBkt[name]
		c.mu.Unlock()
	}
	if !ok {
		return "", "", false
	}
	z, ok := st.zones[b.Zone]
	if !ok || z.S3Endpoint == "" {
		// A zone no longer in the deployment: nobody can be sent there
		// (an empty endpoint would let an SDK fall back to AWS's own).
		return "", "", false
	}
	return b.Zone, z.S3Endpoint, true
}

// Run long-polls the control plane until ctx ends, applying every new
// snapshot. It retries with backoff when the control plane is unreachable,
// logging the outage once and its end. It returns ctx's error.
//
// With Options.CacheFile, Run reads the cached snapshot first; if the
// control plane does not answer its first request (within CacheGrace), Run
// applies the cached snapshot (Ready is then closed, Healthy stays false)
// and keeps trying: the control plane's snapshot replaces it as soon as it
// answers, whatever its revision.
func (c *Client) Run(ctx context.Context) error {
	backoff := 250 * time.Millisecond
	failures := 0
	first := true
	cached, haveCache := c.loadCache()
	for {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if haveCache {
			pctx, cancel = context.WithTimeout(ctx, c.cacheGrace)
		}
		err := c.poll(pctx, first)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if haveCache {
			haveCache = false
			if err != nil {
				c.applyCache(cached)
			}
			cached = cacheFile{}
		}
		if err == nil {
			first = false
			if failures > 0 {
				c.logger.Info("control plane reachable again", "url", c.base, "after_failures", failures)
			}
			failures = 0
			backoff = 250 * time.Millisecond
			continue
		}
		failures++
		// Ask for the snapshot at once next time, not with a long-poll: a
		// long-poll to a control plane that is back but unchanged would only
		// answer (and mark the client healthy) when its wait runs out.
		first = true
		c.healthy.Store(false)
		if failures == 1 || failures%20 == 0 {
			c.logger.Warn("cannot reach the control plane; serving with the last known IAM and buckets",
				"url", c.base, "err", err, "failures", failures, "revision", c.Revision(), "last_sync", c.LastSync())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// Sync fetches the current snapshot once, without waiting, and applies it.
func (c *Client) Sync(ctx context.Context) error { return c.poll(ctx, true) }

// poll does one snapshot request: immediate when now is true, else a
// long-poll from the applied revision.
func (c *Client) poll(ctx context.Context, now bool) (err error) {
	defer func() {
		if err != nil && ctx.Err() == nil {
			c.healthy.Store(false)
		}
	}()
	q := url.Values{}
	wait := c.wait
	if !now && c.Revision() > 0 {
		q.Set("since", strconv.FormatUint(c.Revision(), 10))
		q.Set("wait", wait.String())
	} else if !now {
		q.Set("since", "0")
		q.Set("wait", wait.String())
	}
	rctx, cancel := context.WithTimeout(ctx, wait+15*time.Second)
	defer cancel()
	resp, err := c.do(rctx, http.MethodGet, "/internal/v1/snapshot?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		c.touch()
		if rev, err := strconv.ParseUint(resp.Header.Get("X-Sos-Revision"), 10, 64); err == nil && rev < c.Revision() {
			// A long-poll from our revision would wait until the control
			// plane's catches up: take its state as it is now instead.
			c.logger.Warn("control plane revision went backwards; its data may have been reset: taking its state", "ours", c.Revision(), "theirs", rev)
			resp.Body.Close()
			return c.poll(ctx, true)
		}
		return nil
	case http.StatusOK:
	default:
		return readAPIError(resp)
	}
	var ws wireSnapshot
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&ws); err != nil {
		return fmt.Errorf("decoding the snapshot: %w", err)
	}
	c.touch()
	// An immediate answer is the control plane's state now, which holds
	// even when its revision is below ours (it was restored or reset).
	c.apply(ws, now, true)
	return nil
}

func (c *Client) touch() {
	c.healthy.Store(true)
	c.lastSync.Store(c.now().UnixNano())
}

type wireRole struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Editable    bool              `json:"editable"`
	Labels      map[string]string `json:"labels"`
	Policy      json.RawMessage   `json:"policy"`
}

type wireSnapshot struct {
	Revision   uint64       `json:"revision"`
	Roles      []wireRole   `json:"roles"`
	Keys       []iam.APIKey `json:"keys"`
	RootKey    string       `json:"root-key"`
	RootSecret string       `json:"root-secret"`
	TempKey    []byte       `json:"temp-key"`
	TempZone   string       `json:"temp-zone"`
	Buckets    []Bucket     `json:"buckets"`
	Zones      []Zone       `json:"zones"`
}

// apply makes ws the client's state: whatever its revision when replace is
// set, else only if it is not older. fromControl says ws is the control
// plane's answer (not the cache's), which is then saved to the cache file.
func (c *Client) apply(ws wireSnapshot, replace, fromControl bool) {
	snap := iam.Snapshot{
		Revision: ws.Revision, Keys: ws.Keys,
		RootKey: ws.RootKey, RootSecret: ws.RootSecret, TempKey: ws.TempKey,
		TempZone: ws.TempZone,
	}
	for _, r := range ws.Roles {
		pol, err := c.auth.CompilePolicy(r.Policy)
		if err != nil {
			// The control plane compiled it when it was written; a zone that
			// cannot is older or newer: leave the role out, so it allows nothing.
			c.logger.Error("role policy does not compile in this zone; the role allows nothing here",
				"role", r.ID, "name", r.Name, "err", err)
			continue
		}
		snap.Roles = append(snap.Roles, iam.Role{
			ID: r.ID, Name: r.Name, Description: r.Description, Editable: r.Editable,
			Labels: r.Labels, Policy: pol,
		})
	}
	if replace {
		if loaded := c.auth.Revision(); ws.Revision < loaded {
			c.logger.Warn("control plane snapshot is older than the loaded one; taking it", "revision", ws.Revision, "loaded", loaded)
		}
		c.auth.Replace(snap)
	} else if !c.auth.Load(snap) {
		c.logger.Warn("ignoring an older snapshot from the control plane", "revision", ws.Revision, "loaded", c.auth.Revision())
		return
	}
	st := &clientState{rev: ws.Revision, buckets: map[string]Bucket{}, zones: map[string]Zone{}, list: ws.Zones}
	for _, b := range ws.Buckets {
		st.buckets[b.Name] = b
	}
	for _, z := range ws.Zones {
		st.zones[z.Name] = z
	}
	c.state.Store(st)
	c.mu.Lock()
	for name := range c.localBkt {
		if _, ok := st.buckets[name]; ok {
			delete(c.localBkt, name)
		}
	}
	c.mu.Unlock()
	c.logger.Debug("applied control plane snapshot", "revision", ws.Revision, "roles", len(snap.Roles), "keys", len(ws.Keys), "buckets", len(ws.Buckets), "from_control_plane", fromControl)
	if fromControl {
		c.applied.Store(true)
		if c.cacheFile != "" {
			// After the authorizer took it: a revoked key must not wait
			// for a disk. A failure only costs the cache its freshness.
			if err := c.saveCache(ws); err != nil {
				c.logger.Error("cannot save the control plane snapshot to the cache file", "file", c.cacheFile, "err", err)
			}
		}
	}
	if c.onSnapshot != nil {
		c.onSnapshot(State{Revision: ws.Revision, IAM: snap, Buckets: ws.Buckets, Zones: ws.Zones})
	}
	c.readyOne.Do(func() { close(c.ready) })
}

func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.hc.Do(req)
}

type wireError struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Zone    string `json:"zone"`
}

func decodeError(resp *http.Response) wireError {
	var we wireError
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(raw, &we) != nil || we.Message == "" {
		we.Message = strings.TrimSpace(string(raw))
		if we.Message == "" {
			we.Message = resp.Status
		}
	}
	return we
}

func readAPIError(resp *http.Response) error {
	we := decodeError(resp)
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %s", ErrNotFound, we.Message)
	}
	return &APIError{Status: resp.StatusCode, Message: we.Message}
}

// RegisterBucket claims name for this zone in the global namespace.
// Errors: ErrBucketAlreadyExists (another zone has it),
// ErrBucketAlreadyOwnedByYou (this zone has it), *APIError.
func (c *Client) RegisterBucket(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.do(ctx, http.MethodPost, "/internal/v1/buckets", map[string]string{"name": name, "zone": c.zone})
	if err != nil {
		return fmt.Errorf("registering bucket %q with the control plane: %w", name, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var b Bucket
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
			return fmt.Errorf("decoding the registration of %q: %w", name, err)
		}
		c.mu.Lock()
		c.localBkt[name] = b
		c.mu.Unlock()
		return nil
	case http.StatusConflict:
		we := decodeError(resp)
		switch we.Code {
		case "BucketAlreadyOwnedByYou":
			return ErrBucketAlreadyOwnedByYou
		case "BucketAlreadyExists":
			return ErrBucketAlreadyExists{Zone: we.Zone}
		}
		return &APIError{Status: resp.StatusCode, Message: we.Message}
	default:
		return readAPIError(resp)
	}
}

// UnregisterBucket releases name (after this zone deleted the bucket).
// A name that is not registered gives ErrNotFound.
func (c *Client) UnregisterBucket(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	path := "/internal/v1/buckets/" + url.PathEscape(name) + "?zone=" + url.QueryEscape(c.zone)
	resp, err := c.do(ctx, http.MethodDelete, path, nil)
	if err != nil {
		return fmt.Errorf("releasing bucket %q with the control plane: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return readAPIError(resp)
	}
	c.mu.Lock()
	delete(c.localBkt, name)
	c.mu.Unlock()
	return nil
}

// RoleCredentialsTTL is the lifetime asked for temporary role credentials;
// they are reused until less than a quarter of it is left.
const RoleCredentialsTTL = time.Hour

// RoleCredentials returns temporary credentials acting as role roleID that
// zone (the one they will be presented to) accepts, cached per (role, zone)
// until near their expiry. An unknown role gives ErrNotFound.
func (c *Client) RoleCredentials(ctx context.Context, roleID, zone string) (iam.TempCredentials, error) {
	c.credsMu.Lock()
	defer c.credsMu.Unlock()
	cacheKey := roleID + "\x00" + zone
	if cr, ok := c.credCache[cacheKey]; ok && cr.Expiration.Sub(c.now()) > RoleCredentialsTTL/4 {
		return cr, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	body := map[string]any{"role-id": roleID, "zone": zone, "ttl-seconds": int64(RoleCredentialsTTL / time.Second)}
	resp, err := c.do(ctx, http.MethodPost, "/internal/v1/role-credentials", body)
	if err != nil {
		return iam.TempCredentials{}, fmt.Errorf("asking the control plane for credentials of role %s for zone %s: %w", roleID, zone, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return iam.TempCredentials{}, readAPIError(resp)
	}
	var w struct {
		AccessKey    string    `json:"access-key"`
		Secret       string    `json:"secret"`
		SessionToken string    `json:"session-token"`
		Expiration   time.Time `json:"expiration"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&w); err != nil {
		return iam.TempCredentials{}, fmt.Errorf("decoding credentials of role %s: %w", roleID, err)
	}
	cr := iam.TempCredentials{AccessKey: w.AccessKey, Secret: w.Secret, SessionToken: w.SessionToken, Expiration: w.Expiration}
	c.credCache[cacheKey] = cr
	return cr, nil
}

// ReportUsage sends the size and object count of this zone's buckets.
func (c *Client) ReportUsage(ctx context.Context, buckets []BucketUsage) error {
	if buckets == nil {
		buckets = []BucketUsage{}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.do(ctx, http.MethodPut, "/internal/v1/usage", map[string]any{"zone": c.zone, "buckets": buckets})
	if err != nil {
		return fmt.Errorf("reporting usage to the control plane: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return readAPIError(resp)
	}
	return nil
}
