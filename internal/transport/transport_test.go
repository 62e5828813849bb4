package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sos/internal/localca"
	"sos/internal/transport"
)

func TestCleartextDecision(t *testing.T) {
	for _, tc := range []struct {
		url      string
		insecure bool
		refused  bool
	}{
		{"https://10.0.0.1:8080/v2/zone", false, false},
		{"https://sos.example.com/", false, false},
		{"http://127.0.0.1:8080/", false, false},
		{"http://127.1.2.3:9001/", false, false},
		{"http://[::1]:9001/", false, false},
		{"http://localhost:9001/", false, false},
		{"http://LOCALHOST:9001/", false, false},
		{"http://10.0.0.1:8080/internal/v1/snapshot", false, true},
		{"http://192.0.2.7/", false, true},
		{"http://[2001:db8::1]:9000/", false, true},
		{"http://sos.example.com:9000/", false, true},
		// A name is not resolved: one that points at 127.0.0.1 is still
		// refused (it could point elsewhere tomorrow).
		{"http://localhost.example.com/", false, true},
		{"http://0.0.0.0:8080/", false, true},
		{"HTTP://10.0.0.1/", false, true},
		{"http://10.0.0.1:8080/", true, false},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		err = transport.Cleartext(u, tc.insecure, "--insecure-http")
		if (err != nil) != tc.refused {
			t.Errorf("%s (insecure %v): %v, want refused %v", tc.url, tc.insecure, err, tc.refused)
			continue
		}
		if err != nil {
			want := "refusing to send credentials in clear over plain HTTP to " + u.Host + ", which is not a loopback address: use https://, or allow it with --insecure-http"
			if err.Error() != want {
				t.Errorf("%s: %q\nwant %q", tc.url, err, want)
			}
		}
	}
	if err := transport.CleartextURL("10.0.0.1:9000", false, "--x"); err == nil || !strings.Contains(err.Error(), "--x") {
		t.Errorf("a bare host:port is plain HTTP: %v", err)
	}
}

// The refusal happens before any connection: a request to an address that
// does not exist fails with the refusal, not a network error.
func TestRoundTripRefusesCleartextBeforeDialing(t *testing.T) {
	tr, err := transport.Load(transport.Options{CAFlag: "--ca", InsecureFlag: "--insecure-http or SOS_INSECURE_HTTP=1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Client(transport.Tuning{}).Get("http://192.0.2.1:9/v2/zone")
	var ce *transport.CleartextError
	if !errors.As(err, &ce) || ce.Addr != "192.0.2.1:9" ||
		!strings.Contains(err.Error(), "--insecure-http or SOS_INSECURE_HTTP=1") {
		t.Fatalf("GET in clear to 192.0.2.1: %v", err)
	}
}

func writeCA(t *testing.T, ca *localca.CA) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// tlsServer serves "ok" over TLS with a certificate of ca for 127.0.0.1.
func tlsServer(t *testing.T, ca *localca.CA, h http.Handler) *httptest.Server {
	t.Helper()
	cp, kp, err := ca.Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(cp, kp)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestVerifiesAgainstTheBundle(t *testing.T) {
	ca, err := localca.New("test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := localca.New("another CA")
	if err != nil {
		t.Fatal(err)
	}
	srv := tlsServer(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))

	good, err := transport.Load(transport.Options{CAFile: writeCA(t, ca)})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := good.Client(transport.Tuning{}).Get(srv.URL)
	if err != nil {
		t.Fatalf("with the right CA: %v", err)
	}
	resp.Body.Close()

	wrongFile := writeCA(t, other)
	wrong, err := transport.Load(transport.Options{CAFile: wrongFile})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.Client(transport.Tuning{}).Get(srv.URL)
	if err == nil || !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") ||
		!strings.Contains(err.Error(), "is not signed by a CA of "+wrongFile) {
		t.Fatalf("with another CA: %v", err)
	}

	system, err := transport.Load(transport.Options{CAFlag: "--ca or SOS_CA_BUNDLE"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = system.Client(transport.Tuning{}).Get(srv.URL)
	if err == nil || !strings.Contains(err.Error(), "give the CA bundle that signed it with --ca or SOS_CA_BUNDLE") {
		t.Fatalf("with the system roots: %v", err)
	}
}

// A redirect from a trusted https server to plain HTTP elsewhere is
// refused like a first request.
func TestRedirectToCleartextRefused(t *testing.T) {
	ca, err := localca.New("test CA")
	if err != nil {
		t.Fatal(err)
	}
	srv := tlsServer(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.1:9/elsewhere", http.StatusTemporaryRedirect)
	}))
	tr, err := transport.Load(transport.Options{CAFile: writeCA(t, ca)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Client(transport.Tuning{}).Get(srv.URL)
	var ce *transport.CleartextError
	if !errors.As(err, &ce) {
		t.Fatalf("redirect to plain HTTP: %v", err)
	}
}

// With InsecureHTTP the request goes, and OnInsecure hears of it once.
func TestInsecureHTTPAllowsAndTellsOnce(t *testing.T) {
	var told []string
	tr, err := transport.Load(transport.Options{InsecureHTTP: true, OnInsecure: func(a string) { told = append(told, a) }})
	if err != nil {
		t.Fatal(err)
	}
	rt := tr.RoundTripper(transport.Tuning{})
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, "http://192.0.2.1:9/", nil)
		if err := tr.Check(req.URL); err != nil {
			t.Fatal(err)
		}
		// Not sent: the address does not exist; what matters is that the
		// guard lets it through and reports it.
		ctx, cancel := contextCanceled()
		rt.RoundTrip(req.WithContext(ctx))
		cancel()
	}
	if len(told) != 1 || told[0] != "192.0.2.1:9" {
		t.Fatalf("OnInsecure calls: %v, want one for 192.0.2.1:9", told)
	}
}

func TestLoadRefusesABundleWithoutCertificates(t *testing.T) {
	f := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(f, []byte("not PEM"), 0o644)
	if _, err := transport.Load(transport.Options{CAFile: f}); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Fatalf("Load of a bundle without certificates: %v", err)
	}
	if _, err := transport.Load(transport.Options{CAFile: f + ".missing"}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("Load of a missing bundle: %v", err)
	}
}

func contextCanceled() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx, cancel
}
