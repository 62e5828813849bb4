package iam

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var tempKey = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable clock for the Authorizer.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}
func (c *clock) set(t time.Time)     { c.t.Store(&t) }
func (c *clock) now() time.Time      { return *c.t.Load() }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

func seedSnapshot(t testing.TB, rev uint64) Snapshot {
	t.Helper()
	return Snapshot{
		Revision: rev,
		Roles: []Role{
			{ID: "role-repl", Name: "replication-my-source-my-destination", Editable: true, Policy: mustParse(t, "testdata/policies/seed.json")},
			{ID: "role-all", Name: "everything", Policy: mustParse(t, "testdata/policies/type-allow.json")},
			{ID: "role-none", Name: "nothing", Policy: mustParse(t, "testdata/policies/default-deny.json")},
		},
		Keys: []APIKey{
			{Key: "EXOrepl", Name: "repl", Secret: "repl-secret", RoleID: "role-repl"},
			{Key: "EXOall", Name: "all", Secret: "all-secret", RoleID: "role-all"},
			{Key: "EXOorphan", Name: "orphan", Secret: "orphan-secret", RoleID: "role-gone"},
		},
		RootKey:    "EXOroot",
		RootSecret: "root-secret",
		TempKey:    tempKey,
	}
}

func TestTempCredentials(t *testing.T) {
	now := time.Date(2025, 2, 20, 15, 50, 0, 0, time.UTC)
	c := IssueTempCredentials(tempKey, "", "role-repl", now, time.Hour)
	if !strings.HasPrefix(c.AccessKey, TempKeyPrefix) {
		t.Errorf("access key %q lacks %s", c.AccessKey, TempKeyPrefix)
	}
	if !c.Expiration.Equal(now.Add(time.Hour)) {
		t.Errorf("expiration %v", c.Expiration)
	}
	if c.Secret == "" || c.SessionToken == "" {
		t.Fatal("empty secret or token")
	}
	c2 := IssueTempCredentials(tempKey, "", "role-repl", now, time.Hour)
	if c2.AccessKey == c.AccessKey || c2.Secret == c.Secret {
		t.Error("two issues gave the same key or secret")
	}

	s, err := verifyTempToken(tempKey, "", c.AccessKey, c.SessionToken, now.Add(59*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if s.roleID != "role-repl" || s.accessKey != c.AccessKey {
		t.Errorf("session %+v", s)
	}

	tamper := func(tok string) string {
		payload, mac, _ := strings.Cut(tok, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(payload)
		raw = []byte(strings.Replace(string(raw), "role-repl", "role-alll", 1))
		return base64.RawURLEncoding.EncodeToString(raw) + "." + mac
	}
	flipMAC := func(tok string) string {
		b := []byte(tok)
		i := len(b) - 2
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	cases := []struct {
		name      string
		key       []byte
		accessKey string
		token     string
		at        time.Time
		want      error
	}{
		{"expired at expiry", tempKey, c.AccessKey, c.SessionToken, now.Add(time.Hour), ErrExpiredToken},
		{"expired later", tempKey, c.AccessKey, c.SessionToken, now.Add(48 * time.Hour), ErrExpiredToken},
		{"tampered role", tempKey, c.AccessKey, tamper(c.SessionToken), now, ErrInvalidToken},
		{"tampered mac", tempKey, c.AccessKey, flipMAC(c.SessionToken), now, ErrInvalidToken},
		{"wrong hmac key", []byte("another key, another deployment"), c.AccessKey, c.SessionToken, now, ErrInvalidToken},
		{"empty hmac key", nil, c.AccessKey, c.SessionToken, now, ErrInvalidToken},
		{"other access key", tempKey, c2.AccessKey, c.SessionToken, now, ErrInvalidToken},
		{"no token", tempKey, c.AccessKey, "", now, ErrInvalidToken},
		{"garbage", tempKey, c.AccessKey, "not a token", now, ErrInvalidToken},
		{"bad base64", tempKey, c.AccessKey, "!!!.???", now, ErrInvalidToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifyTempToken(tc.key, "", tc.accessKey, tc.token, tc.at)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestAuthorizerSecret(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Date(2025, 2, 20, 15, 0, 0, 0, time.UTC))
	a := NewAuthorizer(AuthorizerOptions{Now: clk.now})
	if _, err := a.Secret(ctx, "EXOroot", ""); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("before Load: got %v, want ErrUnknownKey", err)
	}
	a.Load(seedSnapshot(t, 1))
	temp := IssueTempCredentials(tempKey, "", "role-repl", clk.now(), 15*time.Minute)
	tempGone := IssueTempCredentials(tempKey, "", "role-gone", clk.now(), 15*time.Minute)

	for _, tc := range []struct {
		key, token, want string
		err              error
	}{
		{"EXOroot", "", "root-secret", nil},
		{"EXOrepl", "", "repl-secret", nil},
		{"EXOall", "", "all-secret", nil},
		{"EXOnope", "", "", ErrUnknownKey},
		{"", "", "", ErrUnknownKey},
		{"EXOrepl", temp.SessionToken, "", ErrInvalidToken},
		{temp.AccessKey, temp.SessionToken, temp.Secret, nil},
		{temp.AccessKey, "", "", ErrInvalidToken},
		{tempGone.AccessKey, tempGone.SessionToken, "", ErrInvalidToken},
	} {
		got, err := a.Secret(ctx, tc.key, tc.token)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Secret(%q): got %q, %v; want %q, %v", tc.key, got, err, tc.want, tc.err)
		}
	}
	clk.add(15 * time.Minute)
	if _, err := a.Secret(ctx, temp.AccessKey, temp.SessionToken); !errors.Is(err, ErrExpiredToken) {
		t.Errorf("after expiry: got %v, want ErrExpiredToken", err)
	}
}

func TestAuthorizerAuthorize(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Date(2025, 2, 20, 15, 0, 0, 0, time.UTC))
	a := NewAuthorizer(AuthorizerOptions{Now: clk.now})
	a.Load(seedSnapshot(t, 1))
	temp := IssueTempCredentials(tempKey, "", "role-repl", clk.now(), time.Hour)

	get := func(bucket string) Request { return Request{Operation: "get-object", Bucket: bucket, Key: "k"} }
	put := func(bucket string) Request { return Request{Operation: "put-object", Bucket: bucket, Key: "k"} }
	for _, tc := range []struct {
		key, token string
		req        Request
		allowed    bool
		reason     string
	}{
		{"EXOroot", "", Request{Operation: "delete-bucket", Bucket: "x"}, true, "root key"},
		{"EXOrepl", "", get("my-source"), true, "role replication-my-source-my-destination: rule services.sos.rules[0] allows"},
		{"EXOrepl", "", put("my-destination"), true, ""},
		{"EXOrepl", "", put("my-source"), false, "role replication-my-source-my-destination: no rule of services.sos matches put-object on bucket my-source key k"},
		{"EXOall", "", put("anything"), true, ""},
		{"EXOorphan", "", get("my-source"), false, "role role-gone does not exist"},
		{"EXOnope", "", get("my-source"), false, `unknown access key "EXOnope"`},
		{"EXOrepl", "sometoken", get("my-source"), false, ""},
		{temp.AccessKey, temp.SessionToken, get("my-source"), true, ""},
		{temp.AccessKey, temp.SessionToken, put("my-destination"), true, ""},
		{temp.AccessKey, temp.SessionToken, get("my-destination"), false, ""},
		{temp.AccessKey, "", get("my-source"), false, ""},
	} {
		d := a.Authorize(ctx, tc.key, tc.token, tc.req)
		if d.Allowed != tc.allowed || (tc.reason != "" && d.Explain() != tc.reason) {
			t.Errorf("Authorize(%s, %+v) = %+v, want allowed=%v reason %q", tc.key, tc.req, d, tc.allowed, tc.reason)
		}
	}

	// The role that decided is a field, apart from the policy's words.
	if d := a.Authorize(ctx, "EXOrepl", "", put("my-source")); d.Role != "replication-my-source-my-destination" ||
		d.Reason != "no rule of services.sos matches put-object on bucket my-source key k" {
		t.Errorf("denial by a role: %+v", d)
	}
	if d := a.Authorize(ctx, "EXOnope", "", get("my-source")); d.Role != "" {
		t.Errorf("denial of an unknown key names role %q", d.Role)
	}

	// api_key is bound to the access key.
	p, err := ParsePolicy([]byte(`{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[{"action":"allow","expression":"api_key == 'EXOself'"}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	s := seedSnapshot(t, 2)
	s.Roles = append(s.Roles, Role{ID: "role-self", Name: "self", Policy: p})
	s.Keys = append(s.Keys, APIKey{Key: "EXOself", Secret: "s", RoleID: "role-self"}, APIKey{Key: "EXOother", Secret: "s", RoleID: "role-self"})
	a.Load(s)
	if !a.Authorize(ctx, "EXOself", "", get("b")).Allowed || a.Authorize(ctx, "EXOother", "", get("b")).Allowed {
		t.Error("api_key is not the signing key")
	}

	// Deleting the role revokes its temporary credentials at once.
	s = seedSnapshot(t, 3)
	s.Roles = s.Roles[1:]
	a.Load(s)
	if d := a.Authorize(ctx, temp.AccessKey, temp.SessionToken, get("my-source")); d.Allowed {
		t.Errorf("temp credentials of a deleted role allowed: %s", d.Reason)
	}
	// And expiry ends them.
	a.Load(seedSnapshot(t, 4))
	clk.add(time.Hour)
	if d := a.Authorize(ctx, temp.AccessKey, temp.SessionToken, get("my-source")); d.Allowed || !strings.Contains(d.Reason, "expired") {
		t.Errorf("expired temp credentials: %+v", d)
	}
	if d := a.AuthorizeRole("role-repl", get("my-source")); !d.Allowed {
		t.Errorf("AuthorizeRole: %+v", d)
	}
}

func TestAuthorizerPrincipal(t *testing.T) {
	clk := newClock(time.Date(2025, 2, 20, 15, 0, 0, 0, time.UTC))
	a := NewAuthorizer(AuthorizerOptions{Now: clk.now})
	a.Load(seedSnapshot(t, 1))
	temp := IssueTempCredentials(tempKey, "", "role-repl", clk.now(), time.Hour)
	for _, tc := range []struct {
		key, token string
		want       Principal
		err        error
	}{
		{"EXOroot", "", Principal{Kind: PrincipalRoot}, nil},
		{"EXOrepl", "", Principal{Kind: PrincipalKey, RoleID: "role-repl", RoleName: "replication-my-source-my-destination", KeyName: "repl"}, nil},
		{"EXOorphan", "", Principal{Kind: PrincipalKey, RoleID: "role-gone", KeyName: "orphan"}, nil},
		{temp.AccessKey, temp.SessionToken, Principal{Kind: PrincipalRoleSession, RoleID: "role-repl", RoleName: "replication-my-source-my-destination"}, nil},
		{temp.AccessKey, "x", Principal{}, ErrInvalidToken},
		{"EXOnope", "", Principal{}, ErrUnknownKey},
	} {
		got, err := a.Principal(tc.key, tc.token)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Principal(%s) = %+v, %v; want %+v, %v", tc.key, got, err, tc.want, tc.err)
		}
	}
}

func TestAuthorizerLoadRevisionAndReuse(t *testing.T) {
	a := NewAuthorizer(AuthorizerOptions{})
	s1 := seedSnapshot(t, 5)
	if !a.Load(s1) || a.Revision() != 5 {
		t.Fatal("first Load")
	}
	if a.Load(seedSnapshot(t, 4)) {
		t.Error("an older snapshot was loaded")
	}
	if a.Revision() != 5 {
		t.Errorf("revision %d after a stale Load", a.Revision())
	}
	// A new snapshot with freshly parsed but identical policies keeps the
	// compiled ones already loaded; a changed policy is taken as is.
	s2 := seedSnapshot(t, 6)
	changed := mustParse(t, "testdata/policies/type-deny.json")
	s2.Roles[1].Policy = changed
	a.Load(s2)
	r0, _ := a.Role("role-repl")
	if r0.Policy != s1.Roles[0].Policy {
		t.Error("unchanged policy was not reused")
	}
	r1, _ := a.Role("role-all")
	if r1.Policy != changed {
		t.Error("changed policy was not taken")
	}
	// CompilePolicy returns the loaded compiled policy for the same document,
	// whatever its formatting.
	p, err := a.CompilePolicy([]byte(`{"services":{"sos":{"rules":[
		{"expression":"parameters.bucket == 'my-source' && operation == 'get-object'","action":"allow"},
		{"action":"allow","expression":"parameters.bucket == 'my-destination' && operation.startsWith('put-object')"}],
		"type":"rules"}},"default-service-strategy":"deny"}`))
	if err != nil {
		t.Fatal(err)
	}
	if p != s1.Roles[0].Policy {
		t.Error("CompilePolicy compiled again a loaded document")
	}
	if _, err := a.CompilePolicy([]byte(`{"default-service-strategy":"nope"}`)); err == nil {
		t.Error("CompilePolicy accepted an invalid document")
	}
	if _, ok := a.Role("role-gone"); ok {
		t.Error("Role found a role that is not there")
	}
}

// TestAuthorizerConcurrentLoad swaps snapshots while requests are authorized;
// run with -race. Each snapshot either lets EXOkey read bucket "b<rev>" or
// holds another key, and every decision must be consistent with one
// snapshot: a key never resolves to a role of another revision.
func TestAuthorizerConcurrentLoad(t *testing.T) {
	ctx := context.Background()
	a := NewAuthorizer(AuthorizerOptions{})
	const revs = 200
	policies := make([]*Policy, 4)
	for i := range policies {
		p, err := ParsePolicy([]byte(fmt.Sprintf(`{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[{"action":"allow","expression":"parameters.bucket == 'b%d'"}]}}}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		policies[i] = p
	}
	snap := func(rev uint64) Snapshot {
		i := int(rev) % len(policies)
		return Snapshot{
			Revision: rev,
			Roles:    []Role{{ID: "r", Name: fmt.Sprintf("role%d", i), Policy: policies[i]}},
			Keys:     []APIKey{{Key: "EXOkey", Secret: fmt.Sprintf("secret%d", i), RoleID: "r"}},
			RootKey:  "EXOroot", RootSecret: "root",
		}
	}
	a.Load(snap(0))
	var wg sync.WaitGroup
	var stop atomic.Bool
	errs := make(chan string, 100)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load() || n < 100; n++ {
				i := n % len(policies)
				d := a.Authorize(ctx, "EXOkey", "", Request{Operation: "get-object", Bucket: fmt.Sprintf("b%d", i), Key: "k"})
				// The reason names the role that decided: it must be the role whose policy it used.
				want := fmt.Sprintf("role role%d: rule services.sos.rules[0] allows", i)
				if d.Allowed && d.Explain() != want {
					select {
					case errs <- fmt.Sprintf("allowed by %q, want %q", d.Explain(), want):
					default:
					}
				}
				if sec, err := a.Secret(ctx, "EXOkey", ""); err != nil || !strings.HasPrefix(sec, "secret") {
					select {
					case errs <- fmt.Sprintf("Secret: %q, %v", sec, err):
					default:
					}
				}
				if n > 100000 {
					return
				}
			}
		}()
	}
	for rev := uint64(1); rev <= revs; rev++ {
		a.Load(snap(rev))
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if a.Revision() != revs {
		t.Errorf("revision %d, want %d", a.Revision(), revs)
	}
}

// Credentials minted for one zone verify only in that zone: another zone
// holds another derived key and refuses them, saying why.
func TestTempCredentialsZoneAudience(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 2, 20, 15, 0, 0, 0, time.UTC)
	zoneA, zoneB := NewAuthorizer(AuthorizerOptions{Now: func() time.Time { return now }}), NewAuthorizer(AuthorizerOptions{Now: func() time.Time { return now }})
	sa, sb := seedSnapshot(t, 1), seedSnapshot(t, 1)
	sa.TempKey, sa.TempZone = ZoneTempKey(tempKey, "zone-a"), "zone-a"
	sb.TempKey, sb.TempZone = ZoneTempKey(tempKey, "zone-b"), "zone-b"
	zoneA.Load(sa)
	zoneB.Load(sb)
	forB := IssueTempCredentials(ZoneTempKey(tempKey, "zone-b"), "zone-b", "role-repl", now, time.Hour)
	if got, err := zoneB.Secret(ctx, forB.AccessKey, forB.SessionToken); err != nil || got != forB.Secret {
		t.Fatalf("zone-b: got %q, %v; want the secret", got, err)
	}
	_, err := zoneA.Secret(ctx, forB.AccessKey, forB.SessionToken)
	if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), `issued for zone "zone-b", not for this zone "zone-a"`) {
		t.Fatalf("zone-a: got %v, want ErrInvalidToken naming both zones", err)
	}
	// A zone minting with its own key for another audience gets nowhere.
	forged := IssueTempCredentials(ZoneTempKey(tempKey, "zone-a"), "zone-b", "role-repl", now, time.Hour)
	if _, err := zoneB.Secret(ctx, forged.AccessKey, forged.SessionToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("forged by zone-a for zone-b: got %v, want ErrInvalidToken", err)
	}
	if bytes.Equal(ZoneTempKey(tempKey, "zone-a"), ZoneTempKey(tempKey, "zone-b")) || bytes.Equal(ZoneTempKey(tempKey, "zone-a"), tempKey) {
		t.Fatal("derived keys must differ per zone and from the master key")
	}
}
