package console_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"sos/internal/console"
	"sos/internal/control"
	"sos/internal/iam"
)

// openPlane opens a control plane with two zones (nothing listens on their
// endpoints: these tests never get as far as S3).
func openPlane(t *testing.T) *control.Plane {
	t.Helper()
	p, err := control.Open(context.Background(), control.Options{
		DataDir: t.TempDir(),
		Zones: []control.Zone{
			{Name: "ch-dk-2", S3Endpoint: "http://127.0.0.1:1"},
			{Name: "at-vie-1", S3Endpoint: "http://127.0.0.1:1"},
		},
		RootKey: "EXOROOTKEYFORCONSOLETESTS", RootSecret: "root-secret-for-console-tests",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func noRedirectClient(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Every page and form of the console, with a bucket, role and key that
// need not exist: without a session nothing is looked up.
var (
	getPages = []string{
		"/", "/storage", "/storage/add", "/storage/b/my-source", "/storage/b/my-source/replication",
		"/storage/b/my-source/objects?prefix=a/", "/storage/b/my-source/versions?key=a.txt",
		"/storage/b/my-source/download?key=a.txt", "/iam/roles", "/iam/roles/add",
		"/iam/roles/6f00a21e-a535-4286-86c5-e81eeab3b4ff", "/iam/keys", "/no/such/page",
	}
	postForms = []string{
		"/signout", "/iam/roles/add", "/iam/roles/6f00a21e-a535-4286-86c5-e81eeab3b4ff/policy",
		"/iam/roles/6f00a21e-a535-4286-86c5-e81eeab3b4ff/delete", "/iam/keys", "/iam/keys/EXOabc/delete",
		"/storage/add", "/storage/b/my-source/versioning", "/storage/b/my-source/delete",
		"/storage/b/my-source/replication", "/storage/b/my-source/replication/delete",
		"/storage/b/my-source/replication/retry", "/storage/b/my-source/upload",
		"/storage/b/my-source/objects/delete", "/elsewhere",
	}
)

func TestEverythingNeedsASession(t *testing.T) {
	plane := openPlane(t)
	srv := httptest.NewServer(console.New(console.Options{Plane: plane}))
	defer srv.Close()

	for _, cookie := range []string{"", "sos_console=not-a-session"} {
		cl := noRedirectClient(nil)
		for _, page := range getPages {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+page, nil)
			if cookie != "" {
				req.Header.Set("Cookie", cookie)
			}
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin") {
				t.Errorf("GET %s (cookie %q): %d Location %q, want 303 to /signin", page, cookie, resp.StatusCode, loc)
			}
		}
		for _, form := range postForms {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+form, strings.NewReader("csrf=x&name=evil&zone=ch-dk-2"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if cookie != "" {
				req.Header.Set("Cookie", cookie)
			}
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s (cookie %q): %d, want 403", form, cookie, resp.StatusCode)
			}
			if !bytes.Contains(body, []byte("not signed in")) {
				t.Errorf("POST %s: the refusal does not say why:\n%s", form, body)
			}
		}
	}
	// The sign-in page and the static files are public.
	for _, page := range []string{"/signin", "/static/console.css", "/static/console.js"} {
		resp, err := http.Get(srv.URL + page)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", page, resp.StatusCode)
		}
	}
	roles, _ := plane.Roles(context.Background())
	if len(roles) != 0 {
		t.Errorf("a POST without a session created roles: %+v", roles)
	}
}

// postSignin posts the sign-in form as a browser does: it loads the form
// first, for the sign-in CSRF cookie and the token in the form.
func postSignin(t *testing.T, cl *http.Client, base string, form url.Values) (*http.Response, error) {
	t.Helper()
	body := get(t, cl, base+"/signin", http.StatusOK)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token in the sign-in form")
	}
	form.Set("csrf", m[1])
	return cl.PostForm(base+"/signin", form)
}

// signIn signs in and returns a client holding the session cookie and the
// CSRF token of the session.
func signIn(t *testing.T, base, key, secret string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := noRedirectClient(jar)
	resp, err := postSignin(t, cl, base, url.Values{"key": {key}, "secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d", resp.StatusCode)
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "sos_console" {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || len(ck.Value) < 43 {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/, 256 random bits", ck)
	}
	body := get(t, cl, base+"/iam/keys", http.StatusOK)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token in the page")
	}
	return cl, m[1]
}

func get(t *testing.T, cl *http.Client, u string, want int) string {
	t.Helper()
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d\n%s", u, resp.StatusCode, want, b)
	}
	return string(b)
}

func post(t *testing.T, cl *http.Client, u string, form url.Values, want int) string {
	t.Helper()
	resp, err := cl.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d, want %d\n%s", u, resp.StatusCode, want, b)
	}
	return string(b)
}

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

func TestCSRF(t *testing.T) {
	plane := openPlane(t)
	srv := httptest.NewServer(console.New(console.Options{Plane: plane}))
	defer srv.Close()
	root, secret := plane.RootCredentials()
	cl, token := signIn(t, srv.URL, root, secret)

	role := url.Values{"name": {"r1"}, "description": {"d"}, "editable": {"true"}, "policy": {seedPolicy}}
	for _, forged := range []string{"", "forged", token[:len(token)-1] + "x"} {
		f := url.Values{}
		for k, v := range role {
			f[k] = v
		}
		if forged != "" {
			f.Set("csrf", forged)
		}
		body := post(t, cl, srv.URL+"/iam/roles/add", f, http.StatusForbidden)
		if !strings.Contains(body, "security token is not valid") {
			t.Errorf("forged CSRF %q: refusal does not say why:\n%s", forged, body)
		}
	}
	// Multipart upload with a forged token is refused before anything is read.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", "forged")
	fw, _ := mw.CreateFormFile("file", "a.txt")
	fw.Write([]byte("hello"))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/storage/b/my-source/upload", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("upload with forged CSRF: %d, want 403", resp.StatusCode)
	}
	if roles, _ := plane.Roles(context.Background()); len(roles) != 0 {
		t.Fatalf("forged forms created roles: %+v", roles)
	}

	// The real token works.
	role.Set("csrf", token)
	post(t, cl, srv.URL+"/iam/roles/add", role, http.StatusSeeOther)
	roles, _ := plane.Roles(context.Background())
	if len(roles) != 1 || roles[0].Name != "r1" {
		t.Fatalf("roles after a valid form: %+v", roles)
	}

	// Sign out ends the session: the same cookie gets the sign-in page.
	post(t, cl, srv.URL+"/signout", url.Values{"csrf": {token}}, http.StatusSeeOther)
	resp, err = cl.Get(srv.URL + "/iam/roles")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d, want 303 to sign-in", resp.StatusCode)
	}
}

func TestSignInRefusedAndPolicyErrors(t *testing.T) {
	plane := openPlane(t)
	srv := httptest.NewServer(console.New(console.Options{Plane: plane}))
	defer srv.Close()
	root, secret := plane.RootCredentials()

	jar, _ := cookiejar.New(nil)
	resp, err := postSignin(t, noRedirectClient(jar), srv.URL, url.Values{"key": {root}, "secret": {secret + "x"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "do not match") || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong secret: %d %v\n%s", resp.StatusCode, resp.Cookies(), b)
	}

	cl, token := signIn(t, srv.URL, root, secret)
	bad := strings.Replace(seedPolicy, "operation == 'get-object'", "operation == 'get-object' &&", 1)
	body := post(t, cl, srv.URL+"/iam/roles/add", url.Values{"csrf": {token}, "name": {"r"}, "policy": {bad}}, http.StatusBadRequest)
	if !regexp.MustCompile(`services\.sos\.rules\[0\]\.expression: 1:\d+: `).MatchString(body) {
		t.Errorf("invalid CEL: the page does not name the rule and position:\n%s", body)
	}
	body = post(t, cl, srv.URL+"/iam/roles/add", url.Values{"csrf": {token}, "name": {"r"}, "policy": {`{"default-service-strategy": }`}}, http.StatusBadRequest)
	if !strings.Contains(body, "Invalid policy") {
		t.Errorf("bad JSON policy: no error shown:\n%s", body)
	}

	// A key whose role does not allow IAM sees why, and may not revoke keys.
	r, _, err := plane.CreateRole(context.Background(), control.RoleSpec{Name: "reader", Editable: true, Policy: mustPolicy(t, seedPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	k, err := plane.CreateAPIKey(context.Background(), "reader-key", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	kc, ktoken := signInNoIAM(t, srv.URL, k.Key, k.Secret)
	body = get(t, kc, srv.URL+"/iam/roles", http.StatusForbidden)
	if !strings.Contains(body, "may not list-iam-roles") {
		t.Errorf("denied IAM page does not say why:\n%s", body)
	}
	post(t, kc, srv.URL+"/iam/keys/"+k.Key+"/delete", url.Values{"csrf": {ktoken}}, http.StatusForbidden)

	// Revoking a key ends its sessions.
	post(t, cl, srv.URL+"/iam/keys/"+k.Key+"/delete", url.Values{"csrf": {token}}, http.StatusSeeOther)
	resp, err = kc.Get(srv.URL + "/storage")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Fatalf("session of a revoked key: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// signInNoIAM signs in a key that may not read IAM and finds its CSRF
// token on the (denied) IAM page, which still carries the layout.
func signInNoIAM(t *testing.T, base, key, secret string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := noRedirectClient(jar)
	resp, err := postSignin(t, cl, base, url.Values{"key": {key}, "secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	body := get(t, cl, base+"/iam/keys", http.StatusForbidden)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token in the page")
	}
	return cl, m[1]
}

func mustPolicy(t *testing.T, doc string) *iam.Policy {
	t.Helper()
	p, err := iam.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Login CSRF: a sign-in posted without the form's token, or with a token
// that is not the browser's own (a page of another site posting the
// attacker's key), is refused and starts no session.
func TestSignInNeedsTheFormsToken(t *testing.T) {
	plane := openPlane(t)
	srv := httptest.NewServer(console.New(console.Options{Plane: plane}))
	defer srv.Close()
	root, secret := plane.RootCredentials()
	creds := func() url.Values { return url.Values{"key": {root}, "secret": {secret}} }

	refused := func(what string, cl *http.Client, form url.Values) {
		t.Helper()
		resp, err := cl.PostForm(srv.URL+"/signin", form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "another site") {
			t.Errorf("%s: %d, want 403 saying why\n%s", what, resp.StatusCode, b)
		}
		for _, c := range resp.Cookies() {
			if c.Name == "sos_console" && c.Value != "" {
				t.Errorf("%s: a session cookie was set", what)
			}
		}
	}
	refused("no token, no cookie", noRedirectClient(nil), creds())

	// The attacker's own token (from loading the form in their browser)
	// is not the victim's cookie.
	attackerJar, _ := cookiejar.New(nil)
	body := get(t, noRedirectClient(attackerJar), srv.URL+"/signin", http.StatusOK)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token in the sign-in form")
	}
	victimJar, _ := cookiejar.New(nil)
	victim := noRedirectClient(victimJar)
	get(t, victim, srv.URL+"/signin", http.StatusOK) // the victim has a cookie of their own
	forged := creds()
	forged.Set("csrf", m[1])
	refused("another browser's token", victim, forged)

	// The form as served works.
	resp, err := postSignin(t, victim, srv.URL, creds())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in with the form's token: %d", resp.StatusCode)
	}
}

// TestIAMEscalationRefused: the console applies the same rule as API v2 (the
// plane's Authorize): a key that may create keys and set policies may not
// hand out more than its own role allows, and the page says why.
// TestFormErrorsBesideTheirField: the console puts a control-plane error
// beside the field the error names (control.Error's Field), whatever words
// the message uses: a role named "description" that is taken is a name
// error, not a description error.
func TestFormErrorsBesideTheirField(t *testing.T) {
	plane := openPlane(t)
	srv := httptest.NewServer(console.New(console.Options{Plane: plane}))
	defer srv.Close()
	if _, _, err := plane.CreateRole(context.Background(), control.RoleSpec{Name: "description", Editable: true, Policy: mustPolicy(t, seedPolicy)}); err != nil {
		t.Fatal(err)
	}
	root, secret := plane.RootCredentials()
	cl, token := signIn(t, srv.URL, root, secret)

	body := post(t, cl, srv.URL+"/iam/roles/add", url.Values{"csrf": {token}, "name": {"description"}, "policy": {seedPolicy}}, http.StatusBadRequest)
	if !regexp.MustCompile(`id="name-error">a role named &#34;description&#34; already exists`).MatchString(body) {
		t.Errorf("taken name: not shown beside the name field:\n%s", body)
	}
	body = post(t, cl, srv.URL+"/iam/roles/add", url.Values{"csrf": {token}, "name": {"d"}, "description": {strings.Repeat("x", 1025)}, "policy": {seedPolicy}}, http.StatusBadRequest)
	if !regexp.MustCompile(`maxlength="1024">\s*<p class="field-error" role="alert">description is longer than 1024 bytes`).MatchString(body) {
		t.Errorf("long description: not shown beside the description field:\n%s", body)
	}
	body = post(t, cl, srv.URL+"/iam/keys", url.Values{"csrf": {token}, "name": {"k"}, "role": {"no-such-role"}}, http.StatusBadRequest)
	if !regexp.MustCompile(`</select>\s*<p class="field-error" role="alert">role &#34;no-such-role&#34; not found`).MatchString(body) {
		t.Errorf("unknown role: not shown beside the role field:\n%s", body)
	}
}

func TestIAMEscalationRefused(t *testing.T) {
	plane := openPlane(t)
	srv := httptest.NewServer(console.New(console.Options{Plane: plane}))
	defer srv.Close()
	ctx := context.Background()
	admin, _, err := plane.CreateRole(ctx, control.RoleSpec{Name: "admin", Editable: true, Policy: mustPolicy(t, `{"default-service-strategy":"allow"}`)})
	if err != nil {
		t.Fatal(err)
	}
	mgr, _, err := plane.CreateRole(ctx, control.RoleSpec{Name: "keymgr", Editable: true, Policy: mustPolicy(t, `{"default-service-strategy":"deny","services":{"iam":{"type":"rules","rules":[
		{"action":"allow","expression":"operation in ['list-api-keys', 'create-api-key', 'get-iam-role', 'update-iam-role-policy', 'create-iam-role']"}]}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	k, err := plane.CreateAPIKey(ctx, "mgr", mgr.ID)
	if err != nil {
		t.Fatal(err)
	}
	cl, token := signIn(t, srv.URL, k.Key, k.Secret)

	body := post(t, cl, srv.URL+"/iam/keys", url.Values{"csrf": {token}, "name": {"escalated"}, "role": {admin.ID}}, http.StatusForbidden)
	if !strings.Contains(body, "Your API key "+k.Key+" (role keymgr) may not create-api-key: role admin allows more than role keymgr: default-service-strategy allow lets every iam operation through") {
		t.Errorf("key for admin: the page does not say why:\n%s", body)
	}
	post(t, cl, srv.URL+"/iam/keys", url.Values{"csrf": {token}, "name": {"second"}, "role": {mgr.ID}}, http.StatusSeeOther)

	body = post(t, cl, srv.URL+"/iam/roles/"+mgr.ID+"/policy", url.Values{"csrf": {token}, "policy": {`{"default-service-strategy":"allow"}`}}, http.StatusForbidden)
	if !strings.Contains(body, "may not update-iam-role-policy: the new policy of role keymgr would allow more than role keymgr") {
		t.Errorf("all-allowing policy: the page does not say why:\n%s", body)
	}
	body = post(t, cl, srv.URL+"/iam/roles/add", url.Values{"csrf": {token}, "name": {"wide"}, "policy": {`{"default-service-strategy":"deny","services":{"sos":{"type":"allow"}}}`}}, http.StatusForbidden)
	if !strings.Contains(body, "may not create-iam-role: the policy of the new role wide would allow more than role keymgr: services.sos allows every operation") {
		t.Errorf("wide role: the page does not say why:\n%s", body)
	}
	post(t, cl, srv.URL+"/iam/roles/add", url.Values{"csrf": {token}, "name": {"narrow"}, "policy": {`{"default-service-strategy":"deny"}`}}, http.StatusSeeOther)

	keys, err := plane.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		if key.RoleID == admin.ID {
			t.Errorf("a key of role admin was created: %+v", key)
		}
	}
	if r, err := plane.Role(ctx, mgr.ID); err != nil || !r.Policy.Equal(mgr.Policy) {
		t.Errorf("role keymgr's policy changed (%v)", err)
	}
}
