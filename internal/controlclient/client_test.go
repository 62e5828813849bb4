package controlclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"sos/internal/control"
	"sos/internal/controlapi"
	"sos/internal/controlclient"
	"sos/internal/iam"
)

const seedPolicy = `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
{"action":"allow","expression":"parameters.bucket == 'my-source' && operation == 'get-object'"},
{"action":"allow","expression":"parameters.bucket == 'my-destination' && operation.startsWith('put-object')"}]}}}`

type fixture struct {
	plane *control.Plane
	srv   *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	plane, err := control.Open(context.Background(), control.Options{
		DataDir: t.TempDir(),
		Zones: []control.Zone{
			{Name: "ch-dk-2", S3Endpoint: "http://127.0.0.1:9001"},
			{Name: "at-vie-1", S3Endpoint: "http://127.0.0.1:9002"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(controlapi.New(plane, controlapi.Options{}))
	t.Cleanup(func() {
		srv.Close()
		plane.Close()
	})
	return &fixture{plane: plane, srv: srv}
}

func (f *fixture) client(t *testing.T, zone string, opts controlclient.Options) *controlclient.Client {
	t.Helper()
	tok, ok := f.plane.ZoneToken(zone)
	if !ok {
		t.Fatalf("no token for %s", zone)
	}
	opts.URL, opts.Token, opts.Zone = f.srv.URL, tok, zone
	return controlclient.New(opts)
}

// run starts c.Run until the test ends and waits for the first snapshot.
func run(t *testing.T, c *controlclient.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		c.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-c.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("no first snapshot")
	}
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSyncKeysAndPolicies(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var snapshots atomic.Int32
	c := f.client(t, "ch-dk-2", controlclient.Options{OnSnapshot: func(controlclient.State) { snapshots.Add(1) }})
	run(t, c)
	a := c.Authorizer()
	if !c.Healthy() || c.LastSync().IsZero() || snapshots.Load() == 0 {
		t.Errorf("after first sync: healthy %v last %v snapshots %d", c.Healthy(), c.LastSync(), snapshots.Load())
	}
	rootKey, rootSecret := f.plane.RootCredentials()
	if s, err := a.Secret(ctx, rootKey, ""); err != nil || s != rootSecret {
		t.Errorf("root key: %v", err)
	}

	pol, _ := iam.ParsePolicy([]byte(seedPolicy))
	role, _, err := f.plane.CreateRole(ctx, control.RoleSpec{Name: "seed", Editable: true, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	key, err := f.plane.CreateAPIKey(ctx, "k", role.ID)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "new key reaches the zone", func() bool {
		s, err := a.Secret(ctx, key.Key, "")
		return err == nil && s == key.Secret
	})
	get := iam.Request{Operation: "get-object", Bucket: "my-source", Key: "x"}
	if d := a.Authorize(ctx, key.Key, "", get); !d.Allowed {
		t.Errorf("seed policy denies get-object on my-source: %s", d.Reason)
	}

	// Policy change.
	deny, _ := iam.ParsePolicy([]byte(`{"default-service-strategy":"deny","services":{}}`))
	if _, err := f.plane.SetRolePolicy(ctx, role.ID, deny); err != nil {
		t.Fatal(err)
	}
	eventually(t, "policy change reaches the zone", func() bool {
		return !a.Authorize(ctx, key.Key, "", get).Allowed
	})

	// Revocation.
	if _, err := f.plane.DeleteAPIKey(ctx, key.Key); err != nil {
		t.Fatal(err)
	}
	eventually(t, "revocation reaches the zone", func() bool {
		_, err := a.Secret(ctx, key.Key, "")
		return errors.Is(err, iam.ErrUnknownKey)
	})
	if c.Revision() != f.plane.Revision() {
		t.Errorf("client revision %d, plane %d", c.Revision(), f.plane.Revision())
	}
}

func TestBuckets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	dk := f.client(t, "ch-dk-2", controlclient.Options{})
	vie := f.client(t, "at-vie-1", controlclient.Options{})
	run(t, dk)
	run(t, vie)

	if err := dk.RegisterBucket(ctx, "my-source"); err != nil {
		t.Fatal(err)
	}
	// The registering zone knows at once.
	if z, ep, ok := dk.BucketZone("my-source"); !ok || z != "ch-dk-2" || ep != "http://127.0.0.1:9001" {
		t.Errorf("BucketZone in dk = %q %q %v", z, ep, ok)
	}
	if err := dk.RegisterBucket(ctx, "my-source"); !errors.Is(err, controlclient.ErrBucketAlreadyOwnedByYou) {
		t.Errorf("same zone: %v", err)
	}
	var exists controlclient.ErrBucketAlreadyExists
	if err := vie.RegisterBucket(ctx, "my-source"); !errors.As(err, &exists) || exists.Zone != "ch-dk-2" {
		t.Errorf("other zone: %v", err)
	}
	var apiErr *controlclient.APIError
	if err := vie.RegisterBucket(ctx, "NO"); !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Errorf("bad name: %v", err)
	}
	eventually(t, "the other zone learns the bucket", func() bool {
		z, ep, ok := vie.BucketZone("my-source")
		return ok && z == "ch-dk-2" && ep == "http://127.0.0.1:9001"
	})
	if zs := vie.Zones(); len(zs) != 2 {
		t.Errorf("zones = %v", zs)
	}

	if err := dk.ReportUsage(ctx, []controlclient.BucketUsage{{Name: "my-source", Size: 42, Objects: 2}}); err != nil {
		t.Fatal(err)
	}
	rows, _ := f.plane.Usage(ctx)
	if len(rows) != 1 || rows[0].Size != 42 || rows[0].Objects != 2 {
		t.Errorf("usage = %+v", rows)
	}

	if err := vie.UnregisterBucket(ctx, "my-source"); err == nil {
		t.Error("the other zone released the bucket")
	}
	if err := dk.UnregisterBucket(ctx, "my-source"); err != nil {
		t.Fatal(err)
	}
	if err := dk.UnregisterBucket(ctx, "my-source"); !errors.Is(err, controlclient.ErrNotFound) {
		t.Errorf("release twice: %v", err)
	}
	eventually(t, "both zones forget the bucket", func() bool {
		_, _, ok1 := dk.BucketZone("my-source")
		_, _, ok2 := vie.BucketZone("my-source")
		return !ok1 && !ok2
	})
}

func TestRoleCredentialsCached(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.client(t, "ch-dk-2", controlclient.Options{})
	run(t, c)
	pol, _ := iam.ParsePolicy([]byte(seedPolicy))
	role, _, err := f.plane.CreateRole(ctx, control.RoleSpec{Name: "seed", Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := c.RoleCredentials(ctx, role.ID, "ch-dk-2")
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.RoleCredentials(ctx, role.ID, "ch-dk-2")
	if err != nil || again.AccessKey != cr.AccessKey {
		t.Errorf("not cached: %v %v", again.AccessKey, err)
	}
	eventually(t, "the role reaches the zone", func() bool {
		_, ok := c.Authorizer().Role(role.ID)
		return ok
	})
	a := c.Authorizer()
	if s, err := a.Secret(ctx, cr.AccessKey, cr.SessionToken); err != nil || s != cr.Secret {
		t.Errorf("zone cannot verify its role credentials: %v", err)
	}
	d := a.Authorize(ctx, cr.AccessKey, cr.SessionToken, iam.Request{Operation: "put-object", Bucket: "my-destination", Key: "k"})
	if !d.Allowed {
		t.Errorf("role credentials denied put-object: %s", d.Reason)
	}
	// Credentials for the other zone are cached apart and refused here.
	other, err := c.RoleCredentials(ctx, role.ID, "at-vie-1")
	if err != nil || other.AccessKey == cr.AccessKey {
		t.Fatalf("credentials for at-vie-1: %v %v", other.AccessKey, err)
	}
	if _, err := a.Secret(ctx, other.AccessKey, other.SessionToken); !errors.Is(err, iam.ErrInvalidToken) {
		t.Errorf("ch-dk-2 accepted credentials minted for at-vie-1: %v", err)
	}
	if _, err := c.RoleCredentials(ctx, "nope", "ch-dk-2"); !errors.Is(err, controlclient.ErrNotFound) {
		t.Errorf("unknown role: %v", err)
	}
}

func TestKeepsServingWhenControlPlaneIsDown(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	pol, _ := iam.ParsePolicy([]byte(seedPolicy))
	role, _, _ := f.plane.CreateRole(ctx, control.RoleSpec{Name: "seed", Policy: pol})
	key, _ := f.plane.CreateAPIKey(ctx, "k", role.ID)

	// A proxy we can cut.
	var down atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		f.srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	tok, _ := f.plane.ZoneToken("ch-dk-2")
	c := controlclient.New(controlclient.Options{URL: proxy.URL, Token: tok, Zone: "ch-dk-2", Wait: 50 * time.Millisecond})
	run(t, c)
	down.Store(true)
	eventually(t, "client notices the outage", func() bool { return !c.Healthy() })
	if s, err := c.Authorizer().Secret(ctx, key.Key, ""); err != nil || s != key.Secret {
		t.Errorf("forgot the key during the outage: %v", err)
	}
	last := c.LastSync()
	if last.IsZero() {
		t.Error("LastSync is zero")
	}
	down.Store(false)
	eventually(t, "client recovers", func() bool { return c.Healthy() && c.LastSync().After(last) })
}

func TestWrongToken(t *testing.T) {
	f := newFixture(t)
	c := controlclient.New(controlclient.Options{URL: f.srv.URL, Token: "wrong", Zone: "ch-dk-2"})
	err := c.Sync(context.Background())
	var apiErr *controlclient.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 403 {
		t.Errorf("Sync with a wrong token: %v", err)
	}
	if c.Healthy() {
		t.Error("healthy without a sync")
	}
}

// A control plane that accepts requests and never answers must not hang a
// zone: every call other than the long-poll has its own deadline, even
// when the caller's context has none (replication workers and the usage
// reporter call with their run context).
func TestCallsTimeOutOnAHungControlPlane(t *testing.T) {
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hung.Close()
	defer close(release)
	c := controlclient.New(controlclient.Options{URL: hung.URL, Token: "t", Zone: "ch-dk-2", RequestTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	done := make(chan error, 4)
	go func() {
		_, err := c.RoleCredentials(ctx, "role", "ch-dk-2")
		done <- err
		_, err = c.RoleCredentials(ctx, "role", "ch-dk-2") // the first call must not keep the cache locked
		done <- err
	}()
	go func() { done <- c.RegisterBucket(ctx, "b") }()
	go func() { done <- c.ReportUsage(ctx, nil) }()
	for range 4 {
		select {
		case err := <-done:
			if err == nil {
				t.Error("a call to a control plane that never answers succeeded")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a call to a control plane that never answers is still waiting")
		}
	}
}

// A control plane restored from a backup (or reset) answers with a lower
// revision than the zone holds. The zone must take its state as it is
// then, not keep the newer state it had (API keys revoked since, for one)
// until the revision happens to catch up.
func TestControlPlaneRevisionGoesBackwards(t *testing.T) {
	ctx := context.Background()
	newer, older := newFixture(t), newFixture(t)
	pol, _ := iam.ParsePolicy([]byte(seedPolicy))
	role, _, _ := newer.plane.CreateRole(ctx, control.RoleSpec{Name: "seed", Policy: pol})
	key, err := newer.plane.CreateAPIKey(ctx, "k", role.ID)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := newer.plane.CreateRole(ctx, control.RoleSpec{Name: "r" + time.Now().String()}); err != nil {
			t.Fatal(err)
		}
	}
	var backend atomic.Pointer[fixture]
	backend.Store(newer)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := backend.Load()
		// Both planes know the zone, each with its own token: use the
		// serving plane's.
		tok, _ := f.plane.ZoneToken("ch-dk-2")
		r.Header.Set("Authorization", "Bearer "+tok)
		f.srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	c := controlclient.New(controlclient.Options{URL: proxy.URL, Token: "per-plane", Zone: "ch-dk-2", Wait: 50 * time.Millisecond})
	run(t, c)
	if _, err := c.Authorizer().Secret(ctx, key.Key, ""); err != nil {
		t.Fatalf("key unknown before the switch: %v", err)
	}
	if older.plane.Revision() >= c.Revision() {
		t.Fatalf("test premise: the older plane's revision %d is below the zone's %d", older.plane.Revision(), c.Revision())
	}
	backend.Store(older)
	eventually(t, "the zone takes the older plane's state", func() bool {
		_, err := c.Authorizer().Secret(ctx, key.Key, "")
		return err != nil && c.Revision() == older.plane.Revision()
	})
}

// A bucket registered by a zone that is no longer part of the deployment
// has no endpoint: BucketZone must not answer with an empty one.
func TestBucketOfARemovedZone(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	open := func(zones ...control.Zone) (*control.Plane, *httptest.Server) {
		plane, err := control.Open(ctx, control.Options{DataDir: dir, Zones: zones})
		if err != nil {
			t.Fatal(err)
		}
		return plane, httptest.NewServer(controlapi.New(plane, controlapi.Options{}))
	}
	dk := control.Zone{Name: "ch-dk-2", S3Endpoint: "http://127.0.0.1:9001"}
	plane, srv := open(dk, control.Zone{Name: "at-vie-1", S3Endpoint: "http://127.0.0.1:9002"})
	if _, err := plane.RegisterBucket(ctx, "gone-with-zone", "at-vie-1"); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	plane.Close()

	plane, srv = open(dk) // at-vie-1 left the deployment
	defer func() { srv.Close(); plane.Close() }()
	tok, _ := plane.ZoneToken("ch-dk-2")
	c := controlclient.New(controlclient.Options{URL: srv.URL, Token: tok, Zone: "ch-dk-2"})
	run(t, c)
	if z, ep, ok := c.BucketZone("gone-with-zone"); ok {
		t.Fatalf("BucketZone of a bucket in a removed zone = %q %q true, want not found", z, ep)
	}
}
