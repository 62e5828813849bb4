package repltest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/prometheus/client_golang/prometheus"

	"sos/internal/blob/fsblob"
	"sos/internal/iam"
	"sos/internal/meta"
	"sos/internal/meta/pebblemeta"
	"sos/internal/object"
	"sos/internal/replconfig"
	"sos/internal/repldiff"
	"sos/internal/replication"
	"sos/internal/s3api"
	"sos/internal/s3client"
)

// Cluster is a set of in-process zones sharing one IAM view (roles, the
// root key, the temporary-credential key) and one bucket namespace, as the
// control plane gives them.
type Cluster struct {
	t          testing.TB
	Authz      *iam.Authorizer
	TempKey    []byte
	RootKey    string
	RootSecret string
	Logger     *slog.Logger

	mu      sync.Mutex
	rev     uint64
	roles   map[string]iam.Role
	buckets map[string]*Zone
	zones   map[string]*Zone
}

// NewCluster makes an empty cluster; zones and roles are added with
// AddZone and SetRole. Everything stops when the test ends.
func NewCluster(t testing.TB) *Cluster {
	c := &Cluster{
		t:          t,
		Authz:      iam.NewAuthorizer(iam.AuthorizerOptions{}),
		TempKey:    []byte("0123456789abcdef0123456789abcdef-test-temp-key"),
		RootKey:    "EXOROOTTESTKEY",
		RootSecret: "root-test-secret",
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		roles:      map[string]iam.Role{},
		buckets:    map[string]*Zone{},
		zones:      map[string]*Zone{},
	}
	c.load()
	return c
}

func (c *Cluster) load() {
	c.rev++
	s := iam.Snapshot{Revision: c.rev, RootKey: c.RootKey, RootSecret: c.RootSecret, TempKey: c.TempKey}
	for _, r := range c.roles {
		s.Roles = append(s.Roles, r)
	}
	c.Authz.Load(s)
}

// SetRole creates or replaces a role with a policy document (JSON).
func (c *Cluster) SetRole(id, name, policy string) {
	c.t.Helper()
	p, err := iam.ParsePolicy([]byte(policy))
	if err != nil {
		c.t.Fatalf("policy of role %s: %v", name, err)
	}
	c.mu.Lock()
	c.roles[id] = iam.Role{ID: id, Name: name, Editable: true, Policy: p}
	c.load()
	c.mu.Unlock()
}

// RoleCredentials issues temporary credentials of a role (replication's
// Credentials). The in-process zones share one Authorizer, whose view has no
// zone of its own, so the credentials carry the empty audience it verifies;
// per-zone audiences are tested in iam and through the real processes.
func (c *Cluster) RoleCredentials(ctx context.Context, roleID, zone string) (iam.TempCredentials, error) {
	if _, ok := c.Authz.Role(roleID); !ok {
		return iam.TempCredentials{}, fmt.Errorf("%w: %s", replication.ErrUnknownRole, roleID)
	}
	return iam.IssueTempCredentials(c.TempKey, "", roleID, time.Now(), 15*time.Minute), nil
}

// BucketZone locates a bucket: its zone and the address peers use (the
// zone's fault proxy).
func (c *Cluster) BucketZone(name string) (zone, endpoint string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	z := c.buckets[name]
	if z == nil {
		return "", "", false
	}
	return z.Name, z.Proxy.URL(), true
}

// Buckets lists every zone's buckets (for the S3 handler's ListBuckets).
func (c *Cluster) Buckets() []meta.Bucket {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]meta.Bucket, 0, len(c.buckets))
	for name, z := range c.buckets {
		out = append(out, meta.Bucket{Name: name, Zone: z.Name})
	}
	return out
}

// CheckDestination vets a replication destination.
func (c *Cluster) CheckDestination(ctx context.Context, bucket string) error {
	c.mu.Lock()
	z := c.buckets[bucket]
	c.mu.Unlock()
	if z == nil {
		return fmt.Errorf("%w: destination bucket %s does not exist", object.ErrInvalidArgument, bucket)
	}
	b, err := z.Objects().Bucket(ctx, bucket)
	if err != nil {
		return err
	}
	if b.Versioning != meta.Enabled {
		return fmt.Errorf("%w: versioning is not enabled on destination bucket %s", object.ErrInvalidRequest, bucket)
	}
	return nil
}

type zoneRegistry struct {
	c *Cluster
	z *Zone
}

func (r zoneRegistry) Register(ctx context.Context, name string) error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if o := r.c.buckets[name]; o != nil {
		if o == r.z {
			return object.ErrBucketOwnedByYou
		}
		return object.ErrBucketExists
	}
	r.c.buckets[name] = r.z
	return nil
}

func (r zoneRegistry) Unregister(ctx context.Context, name string) error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if r.c.buckets[name] == r.z {
		delete(r.c.buckets, name)
	}
	return nil
}

// ZoneOptions tune a zone's replication.
type ZoneOptions struct {
	Workers        int
	Backoff        replication.Backoff
	RequestTimeout time.Duration
	RescanInterval time.Duration
}

// Zone is one in-process zone: stores in Dir, the S3 handler on a local
// listener (URL, for clients) behind a FaultProxy (what peers use).
type Zone struct {
	Name  string
	Dir   string
	Proxy *FaultProxy
	c     *Cluster
	opts  ZoneOptions
	srv   *httptest.Server

	handler atomic.Pointer[http.Handler]
	repl    atomic.Pointer[replication.Replicator]

	mu       sync.Mutex
	meta     *pebblemeta.Store
	objects  *object.Service
	registry *prometheus.Registry
	cancel   context.CancelFunc
	done     chan struct{}
}

// AddZone starts a zone.
func (c *Cluster) AddZone(name string, opts ZoneOptions) *Zone {
	c.t.Helper()
	if opts.Workers == 0 {
		opts.Workers = 8
	}
	if opts.Backoff.Min == 0 {
		opts.Backoff = replication.Backoff{Min: 20 * time.Millisecond, Max: 500 * time.Millisecond}
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 5 * time.Second
	}
	if opts.RescanInterval == 0 {
		opts.RescanInterval = 50 * time.Millisecond
	}
	z := &Zone{Name: name, Dir: filepath.Join(c.t.TempDir(), name), c: c, opts: opts}
	z.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := z.handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "zone is stopped", http.StatusServiceUnavailable)
	}))
	p, err := NewFaultProxy(z.srv.Listener.Addr().String())
	if err != nil {
		c.t.Fatal(err)
	}
	z.Proxy = p
	c.mu.Lock()
	c.zones[name] = z
	c.mu.Unlock()
	if err := z.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		z.Stop()
		p.Close()
		z.srv.Close()
	})
	return z
}

// URL is the zone's S3 endpoint for clients (not through the proxy).
func (z *Zone) URL() string { return z.srv.URL }

// Objects is the zone's object service (nil while stopped).
func (z *Zone) Objects() *object.Service {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.objects
}

// Meta is the zone's metadata store (nil while stopped).
func (z *Zone) Meta() meta.Store {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.meta
}

// Replicator is the zone's replication engine (nil while stopped).
func (z *Zone) Replicator() *replication.Replicator { return z.repl.Load() }

// Metrics is the zone's Prometheus registry.
func (z *Zone) Metrics() *prometheus.Registry {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.registry
}

// Start opens the zone's stores and starts its handler and workers.
func (z *Zone) Start() error {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.meta != nil {
		return errors.New("zone already started")
	}
	ms, err := pebblemeta.Open(filepath.Join(z.Dir, "meta"), pebblemeta.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20, Logger: z.c.Logger})
	if err != nil {
		return err
	}
	bs, err := fsblob.Open(filepath.Join(z.Dir, "blobs"))
	if err != nil {
		ms.Close()
		return err
	}
	ctx := context.Background()
	svc, err := object.New(ctx, object.Options{
		Meta: ms, Blobs: bs, Zone: z.Name, Registry: zoneRegistry{z.c, z}, Destinations: z.c,
		OnConflict: func(bucket, key string) {
			if r := z.repl.Load(); r != nil {
				r.Conflict(bucket, key)
			}
		},
		OnQueued: func() {
			if r := z.repl.Load(); r != nil {
				r.Wake()
			}
		},
		// In the request, unlike the server (in the background): a test
		// that set a configuration finds the replicator told of it.
		OnReplicationChange: func(bucket string) {
			if r := z.repl.Load(); r != nil {
				r.OnConfigChange(context.Background(), bucket)
			}
		},
		Logger: z.c.Logger,
	})
	if err != nil {
		ms.Close()
		return err
	}
	reg := prometheus.NewRegistry()
	r, err := replication.New(replication.Options{
		Zone: z.Name, Meta: ms, Source: svc, Creds: z.c, Authz: z.c.Authz, Peers: z.c,
		Workers: z.opts.Workers, Backoff: z.opts.Backoff, Logger: z.c.Logger, Registerer: reg,
		RequestTimeout: z.opts.RequestTimeout, RescanInterval: z.opts.RescanInterval, Clock: svc.Clock(),
	})
	if err != nil {
		ms.Close()
		return err
	}
	var h http.Handler = s3api.New(s3api.Options{
		Zone: z.Name, Objects: svc, Auth: z.c.Authz, Locator: z.c, Roles: z.c.Authz,
		Replication: Adapter{R: r}, Logger: z.c.Logger,
	})
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(runCtx)
	}()
	z.meta, z.objects, z.registry, z.cancel, z.done = ms, svc, reg, cancel, done
	z.repl.Store(r)
	z.handler.Store(&h)
	return nil
}

// Stop stops the workers and the handler and closes the stores (the
// listener and proxy stay, answering 503).
func (z *Zone) Stop() {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.meta == nil {
		return
	}
	z.handler.Store(nil)
	z.cancel()
	<-z.done
	z.repl.Store(nil)
	z.meta.Close()
	z.meta, z.objects = nil, nil
}

// Restart closes and reopens the zone's stores.
func (z *Zone) Restart() error {
	z.Stop()
	return z.Start()
}

// Client is an S3 client of the zone with the root key.
func (z *Zone) Client() *s3.Client {
	return NewS3Client(z.URL(), z.Name, z.c.RootKey, z.c.RootSecret, "")
}

// NewS3Client builds an S3 client with explicit configuration (no shared
// config files, no environment): s3client.New.
func NewS3Client(endpoint, region, key, secret, token string) *s3.Client {
	return s3client.New(s3client.Config{Endpoint: endpoint, Region: region, AccessKey: key, Secret: secret, SessionToken: token})
}

// CreateVersionedBucket creates a bucket in z with versioning Enabled.
func (z *Zone) CreateVersionedBucket(ctx context.Context, name string) error {
	cl := z.Client()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return err
	}
	_, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	return err
}

// SetReplication puts a replication configuration given in the seed's
// JSON form on bucket (through S3, as a client would); the replicator is
// told before it returns.
func (z *Zone) SetReplication(ctx context.Context, bucket, configJSON string) error {
	cfg, err := replconfig.ParseJSON([]byte(configJSON))
	if err != nil {
		return err
	}
	cl := z.Client()
	rc := &types.ReplicationConfiguration{Role: aws.String(cfg.Role)}
	for _, r := range cfg.Rules {
		rule := types.ReplicationRule{
			ID: aws.String(r.ID), Status: types.ReplicationRuleStatus(r.Status),
			Destination: &types.Destination{Bucket: aws.String(r.Destination.Bucket)},
		}
		if r.Priority != nil {
			rule.Priority = aws.Int32(int32(*r.Priority))
		}
		if r.Filter != nil && r.Filter.Prefix != nil {
			rule.Filter = &types.ReplicationRuleFilter{Prefix: r.Filter.Prefix}
		} else {
			rule.Filter = &types.ReplicationRuleFilter{Prefix: aws.String("")}
		}
		dm := types.DeleteMarkerReplicationStatusDisabled
		if r.DeleteMarkers() {
			dm = types.DeleteMarkerReplicationStatusEnabled
		}
		rule.DeleteMarkerReplication = &types.DeleteMarkerReplication{Status: dm}
		if r.ExistingObjectReplication != nil {
			rule.ExistingObjectReplication = &types.ExistingObjectReplication{Status: types.ExistingObjectReplicationStatus(r.ExistingObjectReplication.Status)}
		}
		rc.Rules = append(rc.Rules, rule)
	}
	_, err = cl.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(bucket), ReplicationConfiguration: rc})
	return err
}

// Diff compares two buckets version by version.
func Diff(ctx context.Context, a *Zone, bucketA string, b *Zone, bucketB string) ([]repldiff.Difference, error) {
	return repldiff.Compare(ctx, a.Client(), b.Client(), bucketA, bucketB)
}

// Eventually polls cond every 20ms until it holds or timeout passes; it
// fails the test with cond's last words otherwise. The timeout is a
// deadline for a failure, not a measure of speed.
func Eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not reached after %v: %s", timeout, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Adapter serves the S3 handler's sos-replication-* extensions from a
// Replicator.
type Adapter struct{ R *replication.Replicator }

// Status implements s3api.Replication.
func (a Adapter) Status(ctx context.Context, bucket string) (any, error) {
	return a.R.Status(ctx, bucket)
}

// Resync implements s3api.Replication.
func (a Adapter) Resync(ctx context.Context, bucket string) (int, error) {
	return a.R.Resync(ctx, bucket)
}

// Retry implements s3api.Replication.
func (a Adapter) Retry(ctx context.Context, bucket string) (int, error) {
	return a.R.RetryFailed(ctx, bucket)
}
