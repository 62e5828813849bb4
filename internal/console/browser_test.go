package console_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"sos/internal/console"
	"sos/internal/server"
)

const chromiumPath = "/usr/bin/chromium"

// stack is the real thing in-process: the control plane and two zones
// (internal/server's dev composition on loopback ports), with the console
// served over the control plane.
type stack struct {
	dev     *server.Dev
	console *httptest.Server
}

func startStack(t *testing.T) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := server.StartDev(ctx, server.DevOptions{
		DataDir: t.TempDir(),
		APIAddr: "127.0.0.1:0",
		Zones:   []server.ZoneAddr{{Name: "ch-dk-2", Addr: "127.0.0.1:0"}, {Name: "at-vie-1", Addr: "127.0.0.1:0"}},
		Logger:  log,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	srv := httptest.NewServer(console.New(console.Options{Plane: d.Control.Plane, Logger: log}))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		d.Close()
	})
	return &stack{dev: d, console: srv}
}

// browser starts headless chromium, or skips (fails under SOS_REQUIRE_ALL=1)
// when it is not installed; extra are further options (flags).
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("SOS_REQUIRE_ALL") == "1" {
			t.Fatalf("chromium is required (SOS_REQUIRE_ALL=1) but %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("skipping the browser test: %s is not installed (apt-get install chromium)", chromiumPath)
	}
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser now, with no deadline on this first run.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// shots saves screenshots under SOS_SCREENSHOTS or a test folder.
type shots struct {
	t   *testing.T
	dir string
	n   int
}

func newShots(t *testing.T) *shots {
	dir := os.Getenv("SOS_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return &shots{t: t, dir: dir}
}

func (s *shots) take(ctx context.Context, name string) {
	s.t.Helper()
	// Right after a navigation the page may not be laid out yet (chromium
	// then refuses a screenshot "with 0 width"): wait for layout and retry.
	var (
		buf []byte
		err error
	)
	for range 20 {
		if buf, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	s.n++
	if err := os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name)), buf, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// do runs steps, failing the test with what it was doing.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
		t.Fatalf("%s: %v\npage text:\n%s", what, err, html)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor waits until the JavaScript expression is true in the current
// page, across navigations, and fails with the page's text if it never is.
func waitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(sctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
			t.Fatalf("waiting for %s (%s): never true (last error %v); page text:\n%s", what, expr, err, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// The seed's "Using the portal" path, in a browser, plus its error paths.
func TestPortalPath(t *testing.T) {
	ctx := browser(t)
	st := startStack(t)
	base := st.console.URL
	sh := newShots(t)

	// Sign in as root.
	do(t, ctx, "open the console", chromedp.Navigate(base+"/storage"))
	waitFor(t, ctx, "the sign-in page", `location.pathname == "/signin" && document.querySelector("#signin-form")`)
	sh.take(ctx, "signin")
	do(t, ctx, "wrong secret",
		chromedp.SendKeys(chromedp.ID("key"), st.dev.RootKey),
		chromedp.SendKeys(chromedp.ID("secret"), "wrong"),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
	)
	waitFor(t, ctx, "the sign-in error", `document.querySelector("#signin-error")`)
	sh.take(ctx, "signin-refused")
	do(t, ctx, "sign in",
		chromedp.SetValue(chromedp.ID("secret"), st.dev.RootSecret),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
	)
	waitFor(t, ctx, "the bucket list", `location.pathname == "/storage" && document.querySelector("h1") && document.querySelector("h1").textContent == "Buckets"`)
	sh.take(ctx, "buckets-empty")

	// IAM → Roles → Add: first an invalid CEL expression, then the seed's policy.
	do(t, ctx, "open roles", chromedp.Navigate(base+"/iam/roles"))
	do(t, ctx, "click Add", chromedp.Click(chromedp.ID("add-role")))
	waitFor(t, ctx, "the add role form", `document.querySelector("#role-form")`)
	badPolicy := strings.Replace(seedPolicy, "operation == 'get-object'", "operation == 'get-object' &&", 1)
	do(t, ctx, "submit an invalid CEL expression",
		chromedp.SetValue(chromedp.ID("role-name"), "replication-my-source-my-destination"),
		chromedp.SetValue(chromedp.ID("role-description"), "sos bucket replication between my-source and my-destination"),
		chromedp.SetValue(chromedp.ID("role-policy"), badPolicy),
		chromedp.Click(chromedp.ID("role-submit")),
	)
	waitFor(t, ctx, "the policy error", `document.querySelector("#policy-error")`)
	msg := eval[string](t, ctx, `document.querySelector("#policy-error").textContent`)
	if !strings.Contains(msg, "services.sos.rules[0].expression: 1:") {
		t.Errorf("the CEL error does not name the rule and position: %q", msg)
	}
	if v := eval[string](t, ctx, `document.querySelector("#role-name").value`); v != "replication-my-source-my-destination" {
		t.Errorf("the form lost the name: %q", v)
	}
	sh.take(ctx, "role-add-invalid-cel")
	do(t, ctx, "submit the seed's policy",
		chromedp.SetValue(chromedp.ID("role-policy"), seedPolicy),
		chromedp.Click(chromedp.ID("role-submit")),
	)
	waitFor(t, ctx, "the role page", `document.querySelector("#role-id")`)
	roleID := eval[string](t, ctx, `document.querySelector("#role-id").value`)
	if len(roleID) != 36 {
		t.Fatalf("role ID %q is not a UUID", roleID)
	}
	do(t, ctx, "copy the role ID", chromedp.Click(chromedp.ID("copy-role-id")))
	sh.take(ctx, "role-detail")
	do(t, ctx, "open roles", chromedp.Navigate(base+"/iam/roles"))
	sh.take(ctx, "roles")

	// IAM → API keys: create one for the role; the secret is shown once.
	do(t, ctx, "open API keys", chromedp.Navigate(base+"/iam/keys"))
	do(t, ctx, "create an API key",
		chromedp.SetValue(chromedp.ID("key-name"), "replication-key"),
		chromedp.SetValue(chromedp.ID("key-role"), roleID),
		chromedp.Click(chromedp.CSS(`#key-form button[type=submit]`)),
	)
	waitFor(t, ctx, "the new secret", `document.querySelector("#new-secret-value")`)
	if s := eval[string](t, ctx, `document.querySelector("#new-secret-value").value`); len(s) < 40 {
		t.Errorf("secret %q looks wrong", s)
	}
	sh.take(ctx, "api-key-created")
	do(t, ctx, "reload API keys", chromedp.Navigate(base+"/iam/keys"))
	if eval[bool](t, ctx, `!!document.querySelector("#new-secret-value")`) {
		t.Error("the secret is shown a second time")
	}

	// Storage → Add: the two buckets in their zones.
	addBucket := func(name, zone string) {
		do(t, ctx, "open Add bucket", chromedp.Navigate(base+"/storage"), chromedp.Click(chromedp.ID("add-bucket")))
		waitFor(t, ctx, "the add bucket form", `document.querySelector("#bucket-form")`)
		do(t, ctx, "create bucket "+name,
			chromedp.SetValue(chromedp.ID("bucket-name"), name),
			chromedp.SetValue(chromedp.ID("bucket-zone"), zone),
			chromedp.Click(chromedp.ID("bucket-submit")),
		)
		waitFor(t, ctx, "the bucket page of "+name, `location.pathname == "/storage/b/`+name+`" && document.querySelector("#versioning-status")`)
	}
	addBucket("my-source", "ch-dk-2")
	addBucket("my-destination", "at-vie-1")
	// A bad bucket name is refused next to the field.
	do(t, ctx, "open Add bucket", chromedp.Navigate(base+"/storage/add"))
	do(t, ctx, "an invalid bucket name",
		chromedp.SetValue(chromedp.ID("bucket-name"), "My_Bucket"),
		chromedp.Click(chromedp.ID("bucket-submit")),
	)
	waitFor(t, ctx, "the bucket name error", `document.querySelector("#bucket-name-error")`)
	sh.take(ctx, "bucket-add-invalid")

	do(t, ctx, "open the bucket list", chromedp.Navigate(base+"/storage"))
	waitFor(t, ctx, "both buckets", `document.querySelector("#bucket-my-source") && document.querySelector("#bucket-my-destination")`)
	if z := eval[string](t, ctx, `document.querySelector("#bucket-my-destination td:nth-child(2)").textContent`); z != "at-vie-1" {
		t.Errorf("my-destination is listed in zone %q", z)
	}

	// Replication on an unversioned bucket is refused, in words.
	seedConfig := fmt.Sprintf(`{
"Role": "%s",
"Rules": [{
"ID": "vie1-follower",
"Priority": 1,
"Filter": {
"Prefix": ""
},
"Status": "Enabled",
"DeleteMarkerReplication": {
"Status": "Enabled"
},
"Destination": {
"Bucket": "my-destination"
}
}]
}`, roleID)
	saveReplication := func(config string) {
		do(t, ctx, "open the Replication tab", chromedp.Navigate(base+"/storage/b/my-source/replication"))
		do(t, ctx, "save the replication configuration",
			chromedp.SetValue(chromedp.ID("replication-config"), config),
			chromedp.Click(chromedp.ID("replication-save")),
		)
	}
	saveReplication(seedConfig)
	waitFor(t, ctx, "the replication error", `document.querySelector("#replication-error")`)
	if msg := eval[string](t, ctx, `document.querySelector("#replication-error").textContent`); !strings.Contains(strings.ToLower(msg), "versioning") {
		t.Errorf("replication on an unversioned bucket: error %q does not mention versioning", msg)
	}
	sh.take(ctx, "replication-unversioned")

	// The "…" menu opens the details page; enable versioning on both buckets.
	for _, b := range []string{"my-source", "my-destination"} {
		do(t, ctx, "open the bucket list", chromedp.Navigate(base+"/storage"))
		do(t, ctx, "open the … menu of "+b, chromedp.Click(chromedp.CSS(`#bucket-`+b+` details.menu summary`)))
		if b == "my-source" {
			sh.take(ctx, "buckets-menu")
		}
		do(t, ctx, "open the details of "+b, chromedp.Click(chromedp.CSS(`#bucket-`+b+` details.menu a[href="/storage/b/`+b+`"]`)))
		waitFor(t, ctx, "the details page", `location.pathname == "/storage/b/`+b+`" && document.querySelector("#versioning-enable")`)
		do(t, ctx, "enable versioning on "+b, chromedp.Click(chromedp.ID("versioning-enable")))
		waitFor(t, ctx, "versioning Enabled on "+b, `document.querySelector("#versioning-status") && document.querySelector("#versioning-status").textContent == "Enabled"`)
	}
	sh.take(ctx, "bucket-details-versioned")

	// Error paths of the Replication tab: bad JSON, an unknown role.
	saveReplication(strings.Replace(seedConfig, `"Priority": 1,`, `"Priority": 1,,`, 1))
	waitFor(t, ctx, "the JSON error", `document.querySelector("#replication-error")`)
	if msg := eval[string](t, ctx, `document.querySelector("#replication-error").textContent`); !strings.Contains(msg, "not valid JSON") || !strings.Contains(msg, "line 5") {
		t.Errorf("bad JSON: error %q does not say where", msg)
	}
	sh.take(ctx, "replication-bad-json")
	saveReplication(strings.Replace(seedConfig, roleID, "6f00a21e-a535-4286-86c5-e81eeab3b4ff", 1))
	waitFor(t, ctx, "the unknown role error", `document.querySelector("#replication-error")`)
	if msg := eval[string](t, ctx, `document.querySelector("#replication-error").textContent`); !strings.Contains(msg, "6f00a21e-a535-4286-86c5-e81eeab3b4ff") {
		t.Errorf("unknown role: error %q does not name the role", msg)
	}
	sh.take(ctx, "replication-unknown-role")

	// The seed's configuration, pasted as is with the new role's ID.
	saveReplication(seedConfig)
	waitFor(t, ctx, "the saved configuration", `document.querySelector("#replication-status") && !document.querySelector("#replication-error")`)
	if got := eval[string](t, ctx, `document.querySelector("#replication-config").value`); !strings.Contains(got, roleID) || !strings.Contains(got, "vie1-follower") {
		t.Errorf("the Replication tab shows %q", got)
	}

	// Upload a file in my-source, with the progress bar.
	file := filepath.Join(t.TempDir(), "hello.txt")
	content := strings.Repeat("hello from the sos console\n", 1000)
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "open the objects of my-source", chromedp.Navigate(base+"/storage/b/my-source/objects"))
	sh.take(ctx, "objects-empty")
	do(t, ctx, "upload hello.txt",
		chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{file}),
		chromedp.Click(chromedp.ID("upload-submit")),
	)
	waitFor(t, ctx, "hello.txt listed", `document.querySelector('tr[data-key="hello.txt"]')`)

	// COMPLETED in the source once replicated.
	waitReplication := func(bucket, want string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			do(t, ctx, "open the objects of "+bucket, chromedp.Navigate(base+"/storage/b/"+bucket+"/objects"))
			got := eval[string](t, ctx, `(document.querySelector('tr[data-key="hello.txt"] .repl-status') || {textContent: ""}).textContent`)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s/hello.txt: Replication Status %q, want %s", bucket, got, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitReplication("my-source", "COMPLETED")
	sh.take(ctx, "objects-source-completed")
	waitReplication("my-destination", "REPLICA")
	sh.take(ctx, "objects-destination-replica")

	do(t, ctx, "open the versions of hello.txt", chromedp.Click(chromedp.CSS(`tr[data-key="hello.txt"] a[href*="/versions"]`)))
	waitFor(t, ctx, "the versions table", `document.querySelector("#versions .repl-status")`)
	if got := eval[string](t, ctx, `document.querySelector("#versions .repl-status").textContent`); got != "REPLICA" {
		t.Errorf("versions of the replica: status %q", got)
	}
	sh.take(ctx, "versions-destination")

	do(t, ctx, "open the Replication tab", chromedp.Navigate(base+"/storage/b/my-source/replication"))
	waitFor(t, ctx, "a completed rule", `document.querySelector("#replication-status tbody td:nth-child(5)") && document.querySelector("#replication-status tbody td:nth-child(5)").textContent.trim() == "1"`)
	do(t, ctx, "retry failed", chromedp.Click(chromedp.ID("retry-failed")))
	waitFor(t, ctx, "the retry answer", `document.body.innerText.includes("nothing to retry")`)
	sh.take(ctx, "replication-status")

	do(t, ctx, "open the bucket list", chromedp.Navigate(base+"/storage"))
	if got := eval[string](t, ctx, `document.querySelector("#bucket-my-source td:nth-child(6)").textContent`); !strings.Contains(got, "my-destination") {
		t.Errorf("bucket list: my-source replication %q", got)
	}
	sh.take(ctx, "buckets")
	do(t, ctx, "phone width", chromedp.EmulateViewport(390, 844))
	sh.take(ctx, "buckets-phone")
	do(t, ctx, "open the Replication tab", chromedp.Navigate(base+"/storage/b/my-source/replication"))
	sh.take(ctx, "replication-phone")
	do(t, ctx, "laptop width", chromedp.EmulateViewport(1280, 900))

	// Download streams the object back, with the browser's session cookie.
	cookies, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/storage/b/my-destination/download?key=hello.txt", nil)
	for _, c := range cookies.Cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(got) != content || !strings.Contains(resp.Header.Get("Content-Disposition"), "hello.txt") {
		t.Fatalf("download: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Disposition"), len(got))
	}
}
