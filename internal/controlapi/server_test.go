package controlapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sos/internal/auth/exo2"
	"sos/internal/control"
	"sos/internal/controlapi"
	"sos/internal/iam"
)

const seedPolicy = `{
"default-service-strategy": "deny",
"services": {
"sos": {
"type": "rules",
"rules": [
{"action": "allow", "expression": "parameters.bucket == 'my-source' && operation == 'get-object'"},
{"action": "allow", "expression": "parameters.bucket == 'my-destination' && operation.startsWith('put-object')"}
]
}
}
}`

type env struct {
	t          *testing.T
	plane      *control.Plane
	srv        *httptest.Server
	rootKey    string
	rootSecret string
	expiries   exo2.Expiries // each request its own signature
}

func newEnv(t *testing.T, opts controlapi.Options) *env {
	t.Helper()
	plane, err := control.Open(context.Background(), control.Options{
		DataDir: t.TempDir(),
		Zones: []control.Zone{
			{Name: "ch-dk-2", S3Endpoint: "http://127.0.0.1:9001"},
			{Name: "at-vie-1", S3Endpoint: "http://127.0.0.1:9002"},
		},
		APIEndpoint: "http://127.0.0.1:8080",
		RootKey:     "EXOroot000000000000000000000",
		RootSecret:  "root-secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(controlapi.New(plane, opts))
	t.Cleanup(func() {
		srv.Close()
		plane.Close()
	})
	return &env{t: t, plane: plane, srv: srv, rootKey: "EXOroot000000000000000000000", rootSecret: "root-secret"}
}

type resp struct {
	status int
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v: %s", r.status, err, r.body)
	}
	return m
}

func (r resp) message(t *testing.T) string {
	t.Helper()
	msg, _ := r.json(t)["message"].(string)
	return msg
}

// call sends a signed API v2 request.
func (e *env) call(method, path, body, key, secret string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	var b []byte
	if body != "" {
		b = []byte(body)
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		// Each request its own signature, as a client makes them: the
		// same write signed twice would be refused as a replay.
		if err := exo2.Sign(req, b, key, secret, e.expiries.Next(time.Now(), 5*time.Minute)); err != nil {
			e.t.Fatal(err)
		}
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) resp {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, body: raw}
}

func (e *env) root(method, path, body string) resp {
	e.t.Helper()
	return e.call(method, path, body, e.rootKey, e.rootSecret)
}

func (e *env) must(r resp, status int) map[string]any {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if len(r.body) == 0 {
		return nil
	}
	return r.json(e.t)
}

// createRole creates a role and returns its id.
func (e *env) createRole(name, policy string, editable bool) string {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"name": name, "description": "d " + name, "editable": editable, "policy": json.RawMessage(policy),
	})
	op := e.must(e.root("POST", "/v2/iam-role", string(body)), 200)
	if op["state"] != "success" {
		e.t.Fatalf("operation state = %v", op["state"])
	}
	ref := op["reference"].(map[string]any)
	id := ref["id"].(string)
	if ref["link"] != "/v2/iam-role/"+id || ref["command"] != "get-iam-role" {
		e.t.Fatalf("reference = %v", ref)
	}
	return id
}

func (e *env) createKey(name, roleID string) (key, secret string) {
	e.t.Helper()
	m := e.must(e.root("POST", "/v2/api-key", `{"name":"`+name+`","role-id":"`+roleID+`"}`), 200)
	return m["key"].(string), m["secret"].(string)
}

func TestZones(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	m := e.must(e.root("GET", "/v2/zone", ""), 200)
	zones := m["zones"].([]any)
	if len(zones) != 2 {
		t.Fatalf("zones = %v", zones)
	}
	z := zones[0].(map[string]any)
	if z["name"] != "ch-dk-2" || z["api-endpoint"] != "http://127.0.0.1:8080/v2" || z["sos-endpoint"] != "http://127.0.0.1:9001" {
		t.Errorf("zone = %v", z)
	}
	// Any valid key may list zones, even one whose role allows nothing.
	roleID := e.createRole("nothing", `{"default-service-strategy":"deny","services":{}}`, true)
	k, s := e.createKey("k", roleID)
	e.must(e.call("GET", "/v2/zone", "", k, s), 200)
	// The zone list is public, as Exoscale's is.
	e.must(e.call("GET", "/v2/zone", "", "", ""), 200)
	// Other endpoints are not: no signature gives 403.
	if r := e.call("GET", "/v2/iam-role", "", "", ""); r.status != 403 || !strings.Contains(r.message(t), "missing Authorization") {
		t.Errorf("unsigned: %d %s", r.status, r.body)
	}
}

func TestRoleLifecycle(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	id := e.createRole("replication-my-source-my-destination", seedPolicy, true)

	role := e.must(e.root("GET", "/v2/iam-role/"+id, ""), 200)
	if role["name"] != "replication-my-source-my-destination" || role["editable"] != true || role["description"] != "d replication-my-source-my-destination" {
		t.Errorf("role = %v", role)
	}
	pol := role["policy"].(map[string]any)
	if pol["default-service-strategy"] != "deny" {
		t.Errorf("policy = %v", pol)
	}
	rules := pol["services"].(map[string]any)["sos"].(map[string]any)["rules"].([]any)
	if len(rules) != 2 {
		t.Errorf("rules = %v", rules)
	}
	if _, ok := role["labels"].(map[string]any); !ok {
		t.Errorf("labels should be an object: %v", role["labels"])
	}
	if _, ok := role["permissions"].([]any); !ok {
		t.Errorf("permissions should be an array: %v", role["permissions"])
	}

	list := e.must(e.root("GET", "/v2/iam-role", ""), 200)
	if roles := list["iam-roles"].([]any); len(roles) != 1 || roles[0].(map[string]any)["id"] != id {
		t.Errorf("list = %v", list)
	}

	// Duplicate name.
	r := e.root("POST", "/v2/iam-role", `{"name":"replication-my-source-my-destination"}`)
	if r.status != 409 || !strings.Contains(r.message(t), "already exists") {
		t.Errorf("duplicate: %d %s", r.status, r.body)
	}

	// Update metadata.
	op := e.must(e.root("PUT", "/v2/iam-role/"+id, `{"description":"new","labels":{"team":"storage"},"permissions":["bypass-governance-retention"]}`), 200)
	opID := op["id"].(string)
	got := e.must(e.root("GET", "/v2/operation/"+opID, ""), 200)
	if got["id"] != opID || got["state"] != "success" {
		t.Errorf("operation = %v", got)
	}
	role = e.must(e.root("GET", "/v2/iam-role/"+id, ""), 200)
	if role["description"] != "new" || role["labels"].(map[string]any)["team"] != "storage" || len(role["permissions"].([]any)) != 1 {
		t.Errorf("updated role = %v", role)
	}

	// Update policy.
	e.must(e.root("PUT", "/v2/iam-role/"+id+":policy", `{"default-service-strategy":"allow","services":{}}`), 200)
	role = e.must(e.root("GET", "/v2/iam-role/"+id, ""), 200)
	if role["policy"].(map[string]any)["default-service-strategy"] != "allow" {
		t.Errorf("policy not replaced: %v", role["policy"])
	}

	// Delete refused while a key uses the role, then allowed.
	key, _ := e.createKey("user", id)
	r = e.root("DELETE", "/v2/iam-role/"+id, "")
	if r.status != 409 || !strings.Contains(r.message(t), key) {
		t.Errorf("delete in use: %d %s", r.status, r.body)
	}
	e.must(e.root("DELETE", "/v2/api-key/"+key, ""), 200)
	e.must(e.root("DELETE", "/v2/iam-role/"+id, ""), 200)
	if r := e.root("GET", "/v2/iam-role/"+id, ""); r.status != 404 || !strings.Contains(r.message(t), "not found") {
		t.Errorf("deleted role: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/v2/iam-role/nope", `{"description":"x"}`},
		{"PUT", "/v2/iam-role/nope:policy", `{"default-service-strategy":"allow","services":{}}`},
		{"DELETE", "/v2/iam-role/nope", ""},
		{"GET", "/v2/operation/nope", ""},
		{"GET", "/v2/api-key/nope", ""},
		{"DELETE", "/v2/api-key/nope", ""},
		{"GET", "/v2/no-such-thing", ""},
	} {
		if r := e.root(c.method, c.path, c.body); r.status != 404 || r.message(t) == "" {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
}

func TestNonEditableRole(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	id := e.createRole("fixed", seedPolicy, false)
	for _, c := range []struct{ path, body string }{
		{"/v2/iam-role/" + id, `{"description":"changed"}`},
		{"/v2/iam-role/" + id + ":policy", `{"default-service-strategy":"allow","services":{}}`},
	} {
		r := e.root("PUT", c.path, c.body)
		if r.status != 400 || !strings.Contains(r.message(t), "is not editable") {
			t.Errorf("PUT %s: %d %s", c.path, r.status, r.body)
		}
	}
	role := e.must(e.root("GET", "/v2/iam-role/"+id, ""), 200)
	if role["description"] != "d fixed" || role["policy"].(map[string]any)["default-service-strategy"] != "deny" {
		t.Errorf("role changed: %v", role)
	}
	// Editable defaults to true.
	e.must(e.root("POST", "/v2/iam-role", `{"name":"defaults"}`), 200)
	roles := e.must(e.root("GET", "/v2/iam-role", ""), 200)["iam-roles"].([]any)
	for _, r := range roles {
		m := r.(map[string]any)
		if m["name"] == "defaults" && m["editable"] != true {
			t.Errorf("editable default: %v", m)
		}
	}
}

func TestInvalidPolicies(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	id := e.createRole("r", seedPolicy, true)
	cases := []struct {
		name, policy string
		want         []string
	}{
		{"bad expression", `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"allow","expression":"true"},
			{"action":"allow","expression":"parameters.bucket == "}]}}}`,
			[]string{"invalid policy:", "services.sos.rules[1].expression", "1:"}},
		{"unknown action", `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[{"action":"maybe","expression":"true"}]}}}`,
			[]string{"invalid policy:", "rules[0].action", "maybe"}},
		{"unknown type", `{"default-service-strategy":"deny","services":{"sos":{"type":"sometimes"}}}`,
			[]string{"invalid policy:", "services.sos.type"}},
		{"unknown strategy", `{"default-service-strategy":"perhaps","services":{}}`,
			[]string{"invalid policy:", "default-service-strategy"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"name": "x-" + c.name, "policy": json.RawMessage(c.policy)})
			for _, r := range []resp{
				e.root("POST", "/v2/iam-role", string(body)),
				e.root("PUT", "/v2/iam-role/"+id+":policy", c.policy),
			} {
				if r.status != 400 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				t.Log(r.message(t))
				for _, w := range c.want {
					if !strings.Contains(r.message(t), w) {
						t.Errorf("message %q does not contain %q", r.message(t), w)
					}
				}
			}
		})
	}
	// Nothing was created or changed.
	if roles := e.must(e.root("GET", "/v2/iam-role", ""), 200)["iam-roles"].([]any); len(roles) != 1 {
		t.Errorf("roles = %v", roles)
	}
}

func TestMalformedRequests(t *testing.T) {
	e := newEnv(t, controlapi.Options{MaxBodyBytes: 4096})
	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"empty body", "POST", "/v2/iam-role", "", 400, "request body is empty"},
		{"syntax", "POST", "/v2/iam-role", "{\n\"name\": \"x\",\n}", 400, "line 3"},
		{"wrong type", "POST", "/v2/iam-role", `{"name": 42}`, 400, `field "name" must be a string`},
		{"unknown field", "POST", "/v2/api-key", `{"name":"a","role":"b"}`, 400, `unknown field "role"`},
		{"trailing data", "POST", "/v2/api-key", `{"name":"a","role-id":"b"} {}`, 400, "unexpected data"},
		{"too large", "POST", "/v2/iam-role", `{"name":"` + strings.Repeat("a", 5000) + `"}`, 413, "larger than 4096 bytes"},
		{"too deep", "POST", "/v2/iam-role", `{"name":"x","labels":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, 400, "nest more than 32 levels"},
		{"key without role", "POST", "/v2/api-key", `{"name":"a"}`, 400, "role-id"},
		{"key of unknown role", "POST", "/v2/api-key", `{"name":"a","role-id":"nope"}`, 404, `role "nope" not found`},
		{"role without name", "POST", "/v2/iam-role", `{"description":"x"}`, 400, "needs a name"},
		{"empty policy body", "PUT", "/v2/iam-role/x:policy", "", 400, "expected a policy document"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.root(c.method, c.path, c.body)
			if r.status != c.status || !strings.Contains(r.message(t), c.want) {
				t.Errorf("%d %s, want %d with %q", r.status, r.body, c.status, c.want)
			}
		})
	}
}

// TestErrorsNameTheirField: an invalid request field is named in the
// error's "field" (as API v2 spells it), so that a form or a client can put
// the message beside it without reading the prose.
func TestErrorsNameTheirField(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	e.createRole("taken", seedPolicy, true)
	cases := []struct {
		name, method, path, body string
		field                    string
	}{
		{"role without name", "POST", "/v2/iam-role", `{"description":"x"}`, "name"},
		{"role name taken", "POST", "/v2/iam-role", `{"name":"taken","policy":` + seedPolicy + `}`, "name"},
		{"description too long", "POST", "/v2/iam-role", `{"name":"d","description":"` + strings.Repeat("d", 1025) + `"}`, "description"},
		{"bad permission", "POST", "/v2/iam-role", `{"name":"p","permissions":[" "]}`, "permissions"},
		{"key without name", "POST", "/v2/api-key", `{"role-id":"x"}`, "name"},
		{"key without role", "POST", "/v2/api-key", `{"name":"a"}`, "role-id"},
		{"key of unknown role", "POST", "/v2/api-key", `{"name":"a","role-id":"nope"}`, "role-id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.root(c.method, c.path, c.body)
			if got, _ := r.json(t)["field"].(string); r.status/100 != 4 || got != c.field {
				t.Errorf("%d %s: field %q, want %q", r.status, r.body, got, c.field)
			}
		})
	}
	// An error that is about no one field carries none.
	r := e.root("GET", "/v2/iam-role/no-such-role", "")
	if _, has := r.json(t)["field"]; r.status != 404 || has {
		t.Errorf("%d %s: want 404 without a field", r.status, r.body)
	}
}

func TestAPIKeys(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	id := e.createRole("r", seedPolicy, true)
	m := e.must(e.root("POST", "/v2/api-key", `{"name":"replicator","role-id":"`+id+`"}`), 200)
	key, secret := m["key"].(string), m["secret"].(string)
	if len(key) != 27 || !strings.HasPrefix(key, "EXO") || len(secret) != 43 {
		t.Errorf("key %q (%d) secret %q (%d)", key, len(key), secret, len(secret))
	}
	if m["name"] != "replicator" || m["role-id"] != id {
		t.Errorf("created = %v", m)
	}
	got := e.must(e.root("GET", "/v2/api-key/"+key, ""), 200)
	if _, has := got["secret"]; has || got["key"] != key || got["role-id"] != id {
		t.Errorf("get = %v", got)
	}
	list := e.must(e.root("GET", "/v2/api-key", ""), 200)["api-keys"].([]any)
	if len(list) != 1 {
		t.Fatalf("list = %v", list)
	}
	if _, has := list[0].(map[string]any)["secret"]; has {
		t.Errorf("listing shows a secret: %v", list[0])
	}
	op := e.must(e.root("DELETE", "/v2/api-key/"+key, ""), 200)
	if ref := op["reference"].(map[string]any); ref["id"] != key || ref["command"] != "get-api-key" {
		t.Errorf("delete op = %v", op)
	}
	// The revoked key no longer authenticates.
	r := e.call("GET", "/v2/operation/"+op["id"].(string), "", key, secret)
	if r.status != 403 || !strings.Contains(r.message(t), "unknown API key") {
		t.Errorf("revoked key: %d %s", r.status, r.body)
	}
}

// TestIAMEscalation: through API v2, a key may not hand out more than its
// own role allows (issue 10: a role that may only create-api-key could
// create a key bound to an all-allowing role and so become admin), and IAM
// operations carry CEL parameters.
func TestIAMEscalation(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	admin := e.createRole("admin", `{"default-service-strategy":"allow"}`, true)
	keyMgr := e.createRole("keymgr", `{"default-service-strategy":"deny","services":{"iam":{"type":"rules","rules":[
		{"action":"allow","expression":"operation in ['create-api-key', 'update-iam-role-policy', 'create-iam-role'] && !parameters['role-name'].startsWith('ops-')"}]}}}`, true)
	seed := e.createRole("seed", seedPolicy, true)
	ops := e.createRole("ops-db", `{"default-service-strategy":"deny"}`, true)
	mk, ms := e.createKey("keymgr", keyMgr)

	// A key for the all-allowing role: refused, naming the operation and both roles.
	r := e.call("POST", "/v2/api-key", `{"name":"x","role-id":"`+admin+`"}`, mk, ms)
	if r.status != 403 || r.message(t) != "API key "+mk+" (role keymgr) may not create-api-key: role admin allows more than role keymgr: default-service-strategy allow lets every iam operation through (service iam is not listed), and role keymgr's policy does not" {
		t.Errorf("key for admin: %d %s", r.status, r.body)
	}
	// A key for its own role is no escalation.
	e.must(e.call("POST", "/v2/api-key", `{"name":"second","role-id":"`+keyMgr+`"}`, mk, ms), 200)
	// Making its own role all-allowing: refused.
	r = e.call("PUT", "/v2/iam-role/"+keyMgr+":policy", `{"default-service-strategy":"allow"}`, mk, ms)
	if r.status != 403 || !strings.Contains(r.message(t), "may not update-iam-role-policy: the new policy of role keymgr would allow more than role keymgr") {
		t.Errorf("policy of its own role: %d %s", r.status, r.body)
	}
	// Nor the seed's role, which allows sos operations keymgr does not.
	r = e.call("POST", "/v2/api-key", `{"name":"x","role-id":"`+seed+`"}`, mk, ms)
	if r.status != 403 || !strings.Contains(r.message(t), "may not create-api-key: role seed allows more than role keymgr: rule services.sos.rules[0]") {
		t.Errorf("key for seed: %d %s", r.status, r.body)
	}
	// A role more powerful than its own: refused; one that denies everything: created.
	r = e.call("POST", "/v2/iam-role", `{"name":"wide","policy":{"default-service-strategy":"deny","services":{"sos":{"type":"allow"}}}}`, mk, ms)
	if r.status != 403 || !strings.Contains(r.message(t), "may not create-iam-role: the policy of the new role wide would allow more than role keymgr: services.sos allows every operation") {
		t.Errorf("role wide: %d %s", r.status, r.body)
	}
	e.must(e.call("POST", "/v2/iam-role", `{"name":"narrow"}`, mk, ms), 200)
	// The role-name parameter: ops- roles are out of bounds, even with a
	// policy that grants nothing.
	r = e.call("POST", "/v2/iam-role", `{"name":"ops-web"}`, mk, ms)
	if r.status != 403 || r.message(t) != "API key "+mk+" (role keymgr) may not create-iam-role: no rule of services.iam matches create-iam-role on role ops-web" {
		t.Errorf("role ops-web: %d %s", r.status, r.body)
	}
	r = e.call("PUT", "/v2/iam-role/"+ops+":policy", `{"default-service-strategy":"deny"}`, mk, ms)
	if r.status != 403 || !strings.Contains(r.message(t), "no rule of services.iam matches update-iam-role-policy on role ops-db") {
		t.Errorf("policy of ops-db: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/v2/api-key", `{"name":"x","role-id":"`+ops+`"}`, mk, ms)
	if r.status != 403 || !strings.Contains(r.message(t), "no rule of services.iam matches create-api-key on role ops-db") {
		t.Errorf("key for ops-db: %d %s", r.status, r.body)
	}
	// The root key may do everything.
	e.must(e.root("POST", "/v2/api-key", `{"name":"x","role-id":"`+admin+`"}`), 200)
}

// TestIAMRoutesAuthorize: every IAM route refuses a key whose role allows no
// IAM operation, naming the operation (the routes that authorize in their
// handler, once they know the target, included).
func TestIAMRoutesAuthorize(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	seed := e.createRole("seed", seedPolicy, true)
	sk, ss := e.createKey("seed", seed)
	for _, c := range []struct{ method, path, body, op string }{
		{"POST", "/v2/iam-role", `{"name":"x"}`, "create-iam-role"},
		{"GET", "/v2/iam-role", "", "list-iam-roles"},
		{"GET", "/v2/iam-role/" + seed, "", "get-iam-role"},
		{"PUT", "/v2/iam-role/" + seed, `{"description":"d"}`, "update-iam-role"},
		{"PUT", "/v2/iam-role/" + seed + ":policy", `{"default-service-strategy":"deny"}`, "update-iam-role-policy"},
		{"DELETE", "/v2/iam-role/" + seed, "", "delete-iam-role"},
		{"POST", "/v2/api-key", `{"name":"x","role-id":"` + seed + `"}`, "create-api-key"},
		{"GET", "/v2/api-key", "", "list-api-keys"},
		{"GET", "/v2/api-key/" + sk, "", "get-api-key"},
		{"DELETE", "/v2/api-key/" + sk, "", "delete-api-key"},
		{"GET", "/v2/sos-buckets-usage", "", "list-sos-buckets-usage"},
	} {
		r := e.call(c.method, c.path, c.body, sk, ss)
		if want := "API key " + sk + " (role seed) may not " + c.op + ": "; r.status != 403 || !strings.HasPrefix(r.message(t), want) {
			t.Errorf("%s %s: %d %s, want 403 %q...", c.method, c.path, r.status, r.body, want)
		}
	}
}

func TestIAMAuthorization(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	seedRole := e.createRole("seed", seedPolicy, true)
	iamReader := e.createRole("iam-reader", `{"default-service-strategy":"deny","services":{"iam":{"type":"rules","rules":[
		{"action":"allow","expression":"operation.startsWith('list-') || operation.startsWith('get-')"}]}}}`, true)
	iamAdmin := e.createRole("iam-admin", `{"default-service-strategy":"deny","services":{"iam":{"type":"allow"}}}`, true)
	sk, ss := e.createKey("seed", seedRole)
	rk, rs := e.createKey("reader", iamReader)
	ak, as := e.createKey("admin", iamAdmin)

	if r := e.call("GET", "/v2/iam-role", "", sk, ss); r.status != 403 || !strings.Contains(r.message(t), "may not list-iam-roles") {
		t.Errorf("seed key listing roles: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/v2/api-key", `{"name":"x","role-id":"`+iamAdmin+`"}`, sk, ss); r.status != 403 {
		t.Errorf("seed key creating a key: %d %s", r.status, r.body)
	}
	e.must(e.call("GET", "/v2/iam-role", "", rk, rs), 200)
	e.must(e.call("GET", "/v2/api-key", "", rk, rs), 200)
	if r := e.call("POST", "/v2/iam-role", `{"name":"by-reader"}`, rk, rs); r.status != 403 || !strings.Contains(r.message(t), "create-iam-role") {
		t.Errorf("reader creating a role: %d %s", r.status, r.body)
	}
	if r := e.call("PUT", "/v2/iam-role/"+seedRole+":policy", seedPolicy, rk, rs); r.status != 403 || !strings.Contains(r.message(t), "update-iam-role-policy") {
		t.Errorf("reader changing a policy: %d %s", r.status, r.body)
	}
	e.must(e.call("POST", "/v2/iam-role", `{"name":"by-admin"}`, ak, as), 200)
	// The usage listing is a sos operation: the seed's rules do not allow it.
	if r := e.call("GET", "/v2/sos-buckets-usage", "", sk, ss); r.status != 403 {
		t.Errorf("seed key listing usage: %d %s", r.status, r.body)
	}
	e.must(e.root("GET", "/v2/sos-buckets-usage", ""), 200)
}

// zoneCall sends an internal API request with a bearer token.
func (e *env) zoneCall(method, path, body, token string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.do(req)
}

func TestInternalAuth(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	for _, tok := range []string{"", "wrong"} {
		r := e.zoneCall("GET", "/internal/v1/snapshot", "", tok)
		if r.status != 403 || r.message(t) == "" {
			t.Errorf("token %q: %d %s", tok, r.status, r.body)
		}
	}
	// An EXO2-signed request is not a zone.
	if r := e.root("GET", "/internal/v1/snapshot", ""); r.status != 403 {
		t.Errorf("root key on internal API: %d", r.status)
	}
	dk, _ := e.plane.ZoneToken("ch-dk-2")
	// A zone cannot act for another.
	r := e.zoneCall("POST", "/internal/v1/buckets", `{"name":"abc","zone":"at-vie-1"}`, dk)
	if r.status != 403 || !strings.Contains(r.message(t), "cannot act for zone at-vie-1") {
		t.Errorf("cross-zone: %d %s", r.status, r.body)
	}
}

func TestSnapshotAndLongPoll(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	tok, _ := e.plane.ZoneToken("ch-dk-2")
	roleID := e.createRole("seed", seedPolicy, true)
	key, secret := e.createKey("k", roleID)

	snap := e.must(e.zoneCall("GET", "/internal/v1/snapshot", "", tok), 200)
	rev := int64(snap["revision"].(float64))
	if rev < 2 {
		t.Errorf("revision = %d", rev)
	}
	keys := snap["keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["secret"] != secret || keys[0].(map[string]any)["role-id"] != roleID {
		t.Errorf("keys = %v", keys)
	}
	roles := snap["roles"].([]any)
	if len(roles) != 1 || roles[0].(map[string]any)["policy"] == nil {
		t.Errorf("roles = %v", roles)
	}
	if snap["root-key"] != e.rootKey || snap["root-secret"] != e.rootSecret || snap["temp-key"] == "" {
		t.Errorf("root/temp = %v %v %v", snap["root-key"], snap["root-secret"], snap["temp-key"])
	}
	if z := snap["zones"].([]any); len(z) != 2 || z[1].(map[string]any)["sos-endpoint"] != "http://127.0.0.1:9002" {
		t.Errorf("zones = %v", z)
	}

	// Already past since: immediate.
	e.must(e.zoneCall("GET", "/internal/v1/snapshot?since=0&wait=30s", "", tok), 200)
	// Nothing changes: 304 once the (short) wait is over.
	r := e.zoneCall("GET", "/internal/v1/snapshot?since="+itoa(rev)+"&wait=20ms", "", tok)
	if r.status != 304 {
		t.Errorf("unchanged: %d %s", r.status, r.body)
	}
	if r := e.zoneCall("GET", "/internal/v1/snapshot?since=x", "", tok); r.status != 400 {
		t.Errorf("bad since: %d", r.status)
	}

	// A change wakes a waiting poll.
	done := make(chan resp, 1)
	go func() {
		req, _ := http.NewRequest("GET", e.srv.URL+"/internal/v1/snapshot?since="+itoa(rev)+"&wait=60s", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- resp{status: -1, body: []byte(err.Error())}
			return
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		done <- resp{status: res.StatusCode, body: raw}
	}()
	// Revoke the key while the poll waits (it may not have arrived yet: then it
	// answers at once since the revision has moved; both are right).
	e.must(e.root("DELETE", "/v2/api-key/"+key, ""), 200)
	select {
	case r := <-done:
		m := e.must(r, 200)
		if int64(m["revision"].(float64)) <= rev || len(m["keys"].([]any)) != 0 {
			t.Errorf("woken snapshot: revision %v keys %v", m["revision"], m["keys"])
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the long-poll did not wake up on a change")
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestBucketRegistryAndUsage(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	dk, _ := e.plane.ZoneToken("ch-dk-2")
	vie, _ := e.plane.ZoneToken("at-vie-1")

	m := e.must(e.zoneCall("POST", "/internal/v1/buckets", `{"name":"my-source","zone":"ch-dk-2"}`, dk), 200)
	if m["name"] != "my-source" || m["zone"] != "ch-dk-2" || m["created-at"] == "" {
		t.Errorf("registered = %v", m)
	}
	r := e.zoneCall("POST", "/internal/v1/buckets", `{"name":"my-source","zone":"ch-dk-2"}`, dk)
	if r.status != 409 || r.json(t)["code"] != "BucketAlreadyOwnedByYou" {
		t.Errorf("same zone: %d %s", r.status, r.body)
	}
	r = e.zoneCall("POST", "/internal/v1/buckets", `{"name":"my-source","zone":"at-vie-1"}`, vie)
	if j := r.json(t); r.status != 409 || j["code"] != "BucketAlreadyExists" || j["zone"] != "ch-dk-2" {
		t.Errorf("other zone: %d %s", r.status, r.body)
	}
	if r := e.zoneCall("POST", "/internal/v1/buckets", `{"name":"Bad_Name","zone":"at-vie-1"}`, vie); r.status != 400 {
		t.Errorf("bad name: %d %s", r.status, r.body)
	}
	e.must(e.zoneCall("POST", "/internal/v1/buckets", `{"name":"my-destination","zone":"at-vie-1"}`, vie), 200)

	// Usage.
	e.must(e.zoneCall("PUT", "/internal/v1/usage", `{"zone":"ch-dk-2","buckets":[{"name":"my-source","size":1234,"objects":3}]}`, dk), 204)
	list := e.must(e.root("GET", "/v2/sos-buckets-usage", ""), 200)["sos-buckets-usage"].([]any)
	if len(list) != 2 {
		t.Fatalf("usage = %v", list)
	}
	dst, src := list[0].(map[string]any), list[1].(map[string]any)
	if src["name"] != "my-source" || src["zone-name"] != "ch-dk-2" || src["size"] != 1234.0 {
		t.Errorf("source usage = %v", src)
	}
	if dst["name"] != "my-destination" || dst["zone-name"] != "at-vie-1" || dst["size"] != 0.0 {
		t.Errorf("destination usage = %v", dst)
	}
	if _, err := time.Parse(time.RFC3339, src["created-at"].(string)); err != nil {
		t.Errorf("created-at: %v", err)
	}

	// The snapshot lists the buckets.
	snap := e.must(e.zoneCall("GET", "/internal/v1/snapshot", "", vie), 200)
	if b := snap["buckets"].([]any); len(b) != 2 {
		t.Errorf("snapshot buckets = %v", b)
	}

	// Release: only by its zone.
	if r := e.zoneCall("DELETE", "/internal/v1/buckets/my-source?zone=at-vie-1", "", vie); r.status != 409 {
		t.Errorf("release by other zone: %d %s", r.status, r.body)
	}
	e.must(e.zoneCall("DELETE", "/internal/v1/buckets/my-source?zone=ch-dk-2", "", dk), 204)
	if r := e.zoneCall("DELETE", "/internal/v1/buckets/my-source?zone=ch-dk-2", "", dk); r.status != 404 {
		t.Errorf("release twice: %d %s", r.status, r.body)
	}
	// Free again: the other zone may take it.
	e.must(e.zoneCall("POST", "/internal/v1/buckets", `{"name":"my-source","zone":"at-vie-1"}`, vie), 200)
}

func TestRoleCredentials(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	tok, _ := e.plane.ZoneToken("ch-dk-2")
	roleID := e.createRole("seed", seedPolicy, true)
	m := e.must(e.zoneCall("POST", "/internal/v1/role-credentials", `{"role-id":"`+roleID+`","zone":"at-vie-1","ttl-seconds":900}`, tok), 200)
	for _, f := range []string{"access-key", "secret", "session-token", "expiration"} {
		if s, _ := m[f].(string); s == "" {
			t.Errorf("%s missing: %v", f, m)
		}
	}
	exp, err := time.Parse(time.RFC3339, m["expiration"].(string))
	if err != nil || exp.Before(time.Now().Add(10*time.Minute)) || exp.After(time.Now().Add(20*time.Minute)) {
		t.Errorf("expiration %v (%v)", m["expiration"], err)
	}
	if r := e.zoneCall("POST", "/internal/v1/role-credentials", `{"role-id":"`+roleID+`"}`, tok); r.status != 400 || !strings.Contains(string(r.body), "zone") {
		t.Errorf("no audience zone: %d %s", r.status, r.body)
	}
	if r := e.zoneCall("POST", "/internal/v1/role-credentials", `{"role-id":"`+roleID+`","zone":"nowhere"}`, tok); r.status != 400 || !strings.Contains(string(r.body), "not a configured zone") {
		t.Errorf("unconfigured audience zone: %d %s", r.status, r.body)
	}
	// The zone's snapshot carries its own derived key, never the master key.
	snap := e.must(e.zoneCall("GET", "/internal/v1/snapshot", "", tok), 200)
	master := base64.StdEncoding.EncodeToString(e.plane.Snapshot().TempKey)
	own := base64.StdEncoding.EncodeToString(iam.ZoneTempKey(e.plane.Snapshot().TempKey, "ch-dk-2"))
	if snap["temp-key"] != own || snap["temp-zone"] != "ch-dk-2" || strings.Contains(fmt.Sprint(snap), master) {
		t.Errorf("snapshot temp key %v (zone %v): want ch-dk-2's own key and no master key", snap["temp-key"], snap["temp-zone"])
	}
	if r := e.zoneCall("POST", "/internal/v1/role-credentials", `{"role-id":"nope","zone":"ch-dk-2"}`, tok); r.status != 404 {
		t.Errorf("unknown role: %d %s", r.status, r.body)
	}
	if r := e.zoneCall("POST", "/internal/v1/role-credentials", `{}`, tok); r.status != 400 {
		t.Errorf("no role: %d %s", r.status, r.body)
	}
}

// A captured write cannot be sent again: the second request with the same
// signature is refused with the code clients act on, and nothing is done
// twice; a read may be repeated.
func TestReplayedWritesAreRefused(t *testing.T) {
	e := newEnv(t, controlapi.Options{})
	expires := time.Now().Add(10 * time.Minute)
	send := func(method, path, body string) resp {
		req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := exo2.Sign(req, []byte(body), e.rootKey, e.rootSecret, expires); err != nil {
			t.Fatal(err)
		}
		return e.do(req)
	}
	create := `{"name":"once","policy":{"default-service-strategy":"allow","services":{}}}`
	e.must(send("POST", "/v2/iam-role", create), 200)
	r := send("POST", "/v2/iam-role", create)
	if r.status != 403 || r.json(t)["code"] != "SignatureReused" || !strings.Contains(r.message(t), "already used") {
		t.Fatalf("replayed POST: %d %s", r.status, r.body)
	}
	roles := e.must(e.root("GET", "/v2/iam-role", ""), 200)["iam-roles"].([]any)
	if len(roles) != 1 {
		t.Fatalf("%d roles after a replayed create, want 1", len(roles))
	}
	for i := 0; i < 2; i++ {
		e.must(send("GET", "/v2/iam-role", ""), 200)
	}
}
