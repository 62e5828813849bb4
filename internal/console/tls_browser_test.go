package console_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"sos/internal/console"
	"sos/internal/localca"
	"sos/internal/server"
	"sos/internal/transport"
)

// The console of `sosd dev --tls` in chromium: refused while the local CA
// is not trusted; trusted by the public key of the certificate served
// (chromium's SPKI list, which trusts that key alone, not "any
// certificate"), a person signs in, creates a bucket in a zone and uploads
// to it (the console's calls to the zones go over HTTPS too); the cookies
// are Secure, the answers carry HSTS.
func TestConsoleOverTLS(t *testing.T) {
	untrusting := browser(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := server.StartDev(ctx, server.DevOptions{
		DataDir: t.TempDir(), APIAddr: "127.0.0.1:0", GenerateTLS: true,
		Zones:  []server.ZoneAddr{{Name: "ch-dk-2", Addr: "127.0.0.1:0"}, {Name: "at-vie-1", Addr: "127.0.0.1:0"}},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	base := d.Control.URL
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("sosd dev --tls serves the console at %s", base)
	}

	// The leaf served, verified against the dev's CA, and its key's pin.
	caPEM, err := os.ReadFile(d.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("%s holds no certificate", d.CAFile)
	}
	conn, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("the console's certificate does not verify against the dev's CA: %v", err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	pin := base64.StdEncoding.EncodeToString(sum[:])

	// Not trusted: chromium refuses the page.
	nctx, ncancel := context.WithTimeout(untrusting, 30*time.Second)
	err = chromedp.Do(nctx, chromedp.Navigate(base+"/signin"))
	ncancel()
	if err == nil || !strings.Contains(err.Error(), "ERR_CERT_AUTHORITY_INVALID") {
		t.Fatalf("chromium without the pin opened the console: %v", err)
	}

	ctx = browser(t, chromedp.Flag("ignore-certificate-errors-spki-list", pin))
	do(t, ctx, "open the console", chromedp.Navigate(base+"/storage"))
	waitFor(t, ctx, "the sign-in page", `location.protocol == "https:" && location.pathname == "/signin" && document.querySelector("#signin-form")`)
	do(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.ID("key"), d.RootKey),
		chromedp.SendKeys(chromedp.ID("secret"), d.RootSecret),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
	)
	waitFor(t, ctx, "the bucket list", `location.pathname == "/storage" && document.querySelector("h1") && document.querySelector("h1").textContent == "Buckets"`)

	do(t, ctx, "open Add bucket", chromedp.Navigate(base+"/storage/add"))
	waitFor(t, ctx, "the add bucket form", `document.querySelector("#bucket-form")`)
	do(t, ctx, "create bucket tls-bucket in at-vie-1",
		chromedp.SetValue(chromedp.ID("bucket-name"), "tls-bucket"),
		chromedp.SetValue(chromedp.ID("bucket-zone"), "at-vie-1"),
		chromedp.Click(chromedp.ID("bucket-submit")),
	)
	waitFor(t, ctx, "the bucket page", `location.pathname == "/storage/b/tls-bucket" && document.querySelector("#versioning-status")`)
	file := filepath.Join(t.TempDir(), "over-tls.txt")
	if err := os.WriteFile(file, []byte("uploaded from a browser over https\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "open the objects of tls-bucket", chromedp.Navigate(base+"/storage/b/tls-bucket/objects"))
	do(t, ctx, "upload over-tls.txt",
		chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{file}),
		chromedp.Click(chromedp.ID("upload-submit")),
	)
	waitFor(t, ctx, "over-tls.txt listed", `document.querySelector('tr[data-key="over-tls.txt"]')`)

	cookies, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/", base + "/signin"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range cookies.Cookies {
		seen[c.Name] = true
		if !c.Secure || !c.HTTPOnly {
			t.Errorf("cookie %s over https: Secure %v, HttpOnly %v; want both", c.Name, c.Secure, c.HTTPOnly)
		}
	}
	for _, name := range []string{"sos_console", "sos_signin"} {
		if !seen[name] {
			t.Errorf("the browser holds no %s cookie (cookies: %v)", name, seen)
		}
	}
	for _, path := range []string{"/signin", "/storage"} {
		hsts := eval[string](t, ctx, `fetch("`+path+`").then(r => r.headers.get("strict-transport-security") || "")`, chromedp.EvalAwaitPromise)
		if hsts != "max-age=31536000" {
			t.Errorf("GET %s in the browser: Strict-Transport-Security %q, want max-age=31536000", path, hsts)
		}
	}

	// A console whose --ca is another CA's refuses the zones'
	// certificate, and says so on the page, not as a failure of its own
	// (500).
	other, err := localca.New("another CA")
	if err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(wrong, other.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	trust, err := transport.Load(transport.Options{CAFile: wrong})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(console.New(console.Options{Plane: d.Control.Plane, HTTPClient: trust.Client(transport.Tuning{})}))
	defer srv.Close()
	cl, _ := signIn(t, srv.URL, d.RootKey, d.RootSecret)
	resp, err := cl.Get(srv.URL + "/storage/b/tls-bucket/objects")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := html.UnescapeString(string(body))
	if resp.StatusCode == http.StatusInternalServerError {
		t.Errorf("the objects page through a console trusting another CA: 500")
	}
	for _, want := range []string{"Zone at-vie-1 could not be reached", "certificate signed by unknown authority", "is not signed by a CA of " + wrong} {
		if !strings.Contains(page, want) {
			t.Errorf("the objects page through a console trusting another CA lacks %q:\n%s", want, page)
		}
	}
}
