package control_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"sos/internal/control"
	"sos/internal/iam"
	"sos/internal/versionid"
)

var zones = []control.Zone{
	{Name: "ch-dk-2", S3Endpoint: "http://127.0.0.1:9001"},
	{Name: "at-vie-1", S3Endpoint: "http://127.0.0.1:9002"},
}

func open(t *testing.T, dir string) *control.Plane {
	t.Helper()
	p, err := control.Open(context.Background(), control.Options{DataDir: dir, Zones: zones})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func policy(t *testing.T, doc string) *iam.Policy {
	t.Helper()
	p, err := iam.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const seedPolicy = `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
{"action":"allow","expression":"parameters.bucket == 'my-source' && operation == 'get-object'"},
{"action":"allow","expression":"parameters.bucket == 'my-destination' && operation.startsWith('put-object')"}]}}}`

func TestDurableAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := open(t, dir)
	rootKey, rootSecret := p.RootCredentials()
	if !regexp.MustCompile(`^EXO[A-Za-z0-9]{24}$`).MatchString(rootKey) || len(rootSecret) != 43 {
		t.Errorf("generated root key %q secret %q", rootKey, rootSecret)
	}
	tok, ok := p.ZoneToken("ch-dk-2")
	if !ok || len(tok) != 43 {
		t.Fatalf("zone token %q %v", tok, ok)
	}
	role, op, err := p.CreateRole(ctx, control.RoleSpec{Name: "seed", Editable: true, Policy: policy(t, seedPolicy), Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	key, err := p.CreateAPIKey(ctx, "replicator", role.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^EXO[A-Za-z0-9]{24}$`).MatchString(key.Key) || !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(key.Secret) {
		t.Errorf("key %q secret %q", key.Key, key.Secret)
	}
	if _, err := p.RegisterBucket(ctx, "my-source", "ch-dk-2"); err != nil {
		t.Fatal(err)
	}
	before := p.Snapshot()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	p = open(t, dir)
	defer p.Close()
	after := p.Snapshot()
	if after.Revision != before.Revision || after.Revision < 3 {
		t.Errorf("revision %d after restart, %d before", after.Revision, before.Revision)
	}
	if k, s := p.RootCredentials(); k != rootKey || s != rootSecret {
		t.Errorf("root key changed across restart")
	}
	if tok2, _ := p.ZoneToken("ch-dk-2"); tok2 != tok {
		t.Errorf("zone token changed across restart")
	}
	if string(after.TempKey) != string(before.TempKey) || len(after.TempKey) != 32 {
		t.Errorf("temp key changed across restart")
	}
	if len(after.Roles) != 1 || after.Roles[0].ID != role.ID || after.Roles[0].Labels["a"] != "b" || !after.Roles[0].Policy.Equal(role.Policy) {
		t.Errorf("roles after restart = %+v", after.Roles)
	}
	if len(after.Keys) != 1 || after.Keys[0].Secret != key.Secret {
		t.Errorf("keys after restart = %+v", after.Keys)
	}
	if len(after.Buckets) != 1 || after.Buckets[0].Zone != "ch-dk-2" {
		t.Errorf("buckets after restart = %+v", after.Buckets)
	}
	if got, err := p.Operation(ctx, op.ID); err != nil || got.Reference.ID != role.ID {
		t.Errorf("operation after restart: %+v %v", got, err)
	}
	// The compiled policy works after reload.
	d := after.Roles[0].Policy.Evaluate(iam.ServiceSOS, iam.Request{Operation: "get-object", Bucket: "my-source", Key: "k"})
	if !d.Allowed {
		t.Errorf("seed policy after reload denies get-object: %s", d.Reason)
	}
	// A fixed root key wins over the stored one.
	p.Close()
	p2, err := control.Open(ctx, control.Options{DataDir: dir, Zones: zones, RootKey: "EXOfixed", RootSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if k, _ := p2.RootCredentials(); k != "EXOfixed" {
		t.Errorf("root key = %q", k)
	}
}

func TestZoneTokens(t *testing.T) {
	p := open(t, t.TempDir())
	defer p.Close()
	dk, _ := p.ZoneToken("ch-dk-2")
	vie, _ := p.ZoneToken("at-vie-1")
	if dk == vie {
		t.Fatal("two zones share a token")
	}
	if z, ok := p.ZoneForToken(vie); !ok || z != "at-vie-1" {
		t.Errorf("ZoneForToken = %q %v", z, ok)
	}
	for _, bad := range []string{"", "x", dk + "x"} {
		if _, ok := p.ZoneForToken(bad); ok {
			t.Errorf("token %q accepted", bad)
		}
	}
	nt, err := p.RotateZoneToken(context.Background(), "ch-dk-2")
	if err != nil || nt == dk {
		t.Fatalf("rotate: %q %v", nt, err)
	}
	if _, ok := p.ZoneForToken(dk); ok {
		t.Error("old token still accepted")
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	ctx := context.Background()
	for _, o := range []control.Options{
		{},
		{DataDir: t.TempDir(), RootKey: "EXOa"},
		{DataDir: t.TempDir(), Zones: []control.Zone{{Name: "Bad Zone"}}},
		{DataDir: t.TempDir(), Zones: []control.Zone{{Name: "a"}, {Name: "a"}}},
	} {
		if p, err := control.Open(ctx, o); err == nil {
			p.Close()
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
}

func TestWaitSnapshot(t *testing.T) {
	ctx := context.Background()
	p := open(t, t.TempDir())
	defer p.Close()
	rev := p.Revision()
	got := make(chan control.Snapshot, 1)
	go func() {
		s, _ := p.WaitSnapshot(ctx, rev)
		got <- s
	}()
	if _, err := p.RegisterBucket(ctx, "abc", "ch-dk-2"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s.Revision <= rev || len(s.Buckets) != 1 {
			t.Errorf("woken with %+v", s)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("WaitSnapshot did not wake")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, changed := p.WaitSnapshot(cctx, p.Revision()); changed {
		t.Error("canceled wait reports a change")
	}
}

func TestBucketRegistry(t *testing.T) {
	ctx := context.Background()
	p := open(t, t.TempDir())
	defer p.Close()
	if _, err := p.RegisterBucket(ctx, "shared", "ch-dk-2"); err != nil {
		t.Fatal(err)
	}
	_, err := p.RegisterBucket(ctx, "shared", "ch-dk-2")
	var own *control.BucketAlreadyOwnedByYouError
	if !errors.As(err, &own) {
		t.Errorf("same zone: %v", err)
	}
	_, err = p.RegisterBucket(ctx, "shared", "at-vie-1")
	var exists *control.BucketAlreadyExistsError
	if !errors.As(err, &exists) || exists.Zone != "ch-dk-2" || !errors.Is(err, control.ErrConflict) {
		t.Errorf("other zone: %v", err)
	}
	for _, bad := range []string{"ab", "UPPER", "a..b", "-ab", "192.168.1.1", "under_score", "a.-b", "xn--abc", "abc-s3alias"} {
		if _, err := p.RegisterBucket(ctx, bad, "ch-dk-2"); !errors.Is(err, control.ErrInvalid) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	if _, err := p.RegisterBucket(ctx, "fine", "nowhere"); !errors.Is(err, control.ErrInvalid) {
		t.Errorf("unknown zone: %v", err)
	}
	if err := p.UnregisterBucket(ctx, "shared", "at-vie-1"); !errors.Is(err, control.ErrConflict) {
		t.Errorf("release by other zone: %v", err)
	}
	if err := p.UnregisterBucket(ctx, "shared", "ch-dk-2"); err != nil {
		t.Fatal(err)
	}
	if err := p.UnregisterBucket(ctx, "shared", "ch-dk-2"); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("release twice: %v", err)
	}
}

func TestRoleCredentials(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := control.Open(ctx, control.Options{DataDir: t.TempDir(), Zones: zones, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	role, _, err := p.CreateRole(ctx, control.RoleSpec{Name: "r", Policy: policy(t, seedPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ ttl, want time.Duration }{
		{0, time.Hour}, {time.Second, time.Minute}, {48 * time.Hour, 12 * time.Hour}, {15 * time.Minute, 15 * time.Minute},
	} {
		cr, err := p.RoleCredentials(ctx, role.ID, "ch-dk-2", c.ttl)
		if err != nil {
			t.Fatal(err)
		}
		if got := cr.Expiration.Sub(now); got != c.want {
			t.Errorf("ttl %v: expires after %v, want %v", c.ttl, got, c.want)
		}
	}
	// The audience zone verifies them with the key of its snapshot; the
	// other zone refuses them, and neither snapshot holds the master key.
	dk := iam.NewAuthorizer(iam.AuthorizerOptions{Now: func() time.Time { return now }})
	dk.Load(p.Snapshot().ForZone("ch-dk-2").IAM())
	vie := iam.NewAuthorizer(iam.AuthorizerOptions{Now: func() time.Time { return now }})
	vie.Load(p.Snapshot().ForZone("at-vie-1").IAM())
	cr, _ := p.RoleCredentials(ctx, role.ID, "at-vie-1", time.Hour)
	if secret, err := vie.Secret(ctx, cr.AccessKey, cr.SessionToken); err != nil || secret != cr.Secret {
		t.Errorf("the audience zone cannot verify temp credentials: %v", err)
	}
	if _, err := dk.Secret(ctx, cr.AccessKey, cr.SessionToken); !errors.Is(err, iam.ErrInvalidToken) || !strings.Contains(err.Error(), `issued for zone "at-vie-1", not for this zone "ch-dk-2"`) {
		t.Errorf("another zone: got %v, want a refusal naming both zones", err)
	}
	if bytes.Equal(p.Snapshot().ForZone("ch-dk-2").TempKey, p.Snapshot().TempKey) {
		t.Error("a zone's snapshot carries the master temp key")
	}
	if _, err := p.RoleCredentials(ctx, "nope", "ch-dk-2", 0); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("unknown role: %v", err)
	}
	if _, err := p.RoleCredentials(ctx, role.ID, "nowhere", 0); !errors.Is(err, control.ErrInvalid) {
		t.Errorf("unconfigured audience zone: %v", err)
	}
}

// Version IDs carry a 10-bit tag of the zone name (versionid.ZoneTag) so
// that two zones never make the same one; two zones whose names share a
// tag would, so such a deployment is refused.
func TestOpenRefusesZonesWithTheSameVersionTag(t *testing.T) {
	if versionid.ZoneTag("zone-0") != versionid.ZoneTag("zone-50") {
		t.Fatal("test premise: zone-0 and zone-50 share a version tag")
	}
	p, err := control.Open(context.Background(), control.Options{DataDir: t.TempDir(),
		Zones: []control.Zone{{Name: "zone-0"}, {Name: "zone-50"}}})
	if err == nil {
		p.Close()
		t.Fatal("Open accepted two zones whose version IDs would collide")
	}
	if !strings.Contains(err.Error(), "zone-0") || !strings.Contains(err.Error(), "zone-50") {
		t.Errorf("error does not name both zones: %v", err)
	}
}
