package tlsfiles_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sos/internal/localca"
	"sos/internal/tlsfiles"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// pair writes a certificate (chain) and key to dir as cert.pem and
// key.pem and returns the file names.
func pair(t *testing.T, dir string, cert, key []byte) (string, string) {
	t.Helper()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if cert != nil {
		if err := os.WriteFile(cf, cert, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if key != nil {
		if err := os.WriteFile(kf, key, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cf, kf
}

// serve runs a TLS listener with cfg that completes handshakes and closes.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// served dials addr trusting root and returns the chain the server sent.
func served(t *testing.T, addr string, root *localca.CA) []*x509.Certificate {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates
}

func issue(t *testing.T, ca *localca.CA, hosts ...string) (cert, key []byte) {
	t.Helper()
	cert, key, err := ca.Issue(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// A chain (leaf, then the intermediate) is served whole, so that a client
// that trusts only the root verifies it.
func TestServesAChain(t *testing.T) {
	root, err := localca.New("root")
	if err != nil {
		t.Fatal(err)
	}
	mid, err := root.Intermediate("intermediate")
	if err != nil {
		t.Fatal(err)
	}
	leaf, key := issue(t, mid, "127.0.0.1")
	cf, kf := pair(t, t.TempDir(), append(leaf, mid.CertPEM...), key)
	c, err := tlsfiles.Load(cf, kf, tlsfiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	chain := served(t, serve(t, c.ServerConfig()), root)
	if len(chain) != 2 || chain[1].Subject.CommonName != "intermediate" {
		t.Fatalf("served %d certificates, want the leaf and the intermediate", len(chain))
	}
}

// Rewritten files are served after the check interval, not before; a
// half-done rotation (new certificate, old key) keeps the old pair and is
// picked up once the key follows.
func TestReloadsChangedFilesOnHandshake(t *testing.T) {
	ca, err := localca.New("ca")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert1, key1 := issue(t, ca, "127.0.0.1")
	cf, kf := pair(t, dir, cert1, key1)
	clock := &fakeClock{t: time.Now()}
	var logs bytes.Buffer
	c, err := tlsfiles.Load(cf, kf, tlsfiles.Options{CheckInterval: 5 * time.Second, Now: clock.Now,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, c.ServerConfig())
	serial := func() string { return served(t, addr, ca)[0].SerialNumber.String() }
	first := serial()

	cert2, key2 := issue(t, ca, "127.0.0.1")
	// The certificate first, its key a moment later, as a copy would.
	pair(t, dir, cert2, nil)
	if got := serial(); got != first {
		t.Fatal("a new certificate is served before the check interval passed")
	}
	clock.Add(5 * time.Second)
	if got := serial(); got != first {
		t.Fatal("the old certificate is gone although the new one does not match the key")
	}
	if !strings.Contains(logs.String(), "cannot reload the TLS certificate") {
		t.Errorf("the failed reload is not logged:\n%s", logs.String())
	}
	pair(t, dir, nil, key2)
	clock.Add(5 * time.Second)
	second := serial()
	if second == first {
		t.Fatal("the rotated certificate is not served after the key followed")
	}
	if c.Leaf().SerialNumber.String() != second {
		t.Errorf("Leaf is %s, the server serves %s", c.Leaf().SerialNumber, second)
	}
}

// Reload re-reads the files at once (SIGHUP), and says why it cannot.
func TestReloadNow(t *testing.T) {
	ca, err := localca.New("ca")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert1, key1 := issue(t, ca, "127.0.0.1")
	cf, kf := pair(t, dir, cert1, key1)
	clock := &fakeClock{t: time.Now()}
	c, err := tlsfiles.Load(cf, kf, tlsfiles.Options{CheckInterval: time.Hour, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, c.ServerConfig())
	first := served(t, addr, ca)[0].SerialNumber.String()
	cert2, key2 := issue(t, ca, "127.0.0.1")
	pair(t, dir, cert2, key2)
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if served(t, addr, ca)[0].SerialNumber.String() == first {
		t.Fatal("Reload did not serve the new certificate")
	}
	now := served(t, addr, ca)[0].SerialNumber.String()
	if err := os.WriteFile(kf, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(); err == nil || !strings.Contains(err.Error(), kf) {
		t.Fatalf("Reload of a broken key: %v, want an error naming %s", err, kf)
	}
	if served(t, addr, ca)[0].SerialNumber.String() != now {
		t.Fatal("a failed Reload changed the certificate served")
	}
}

func TestLoadRefusesWhatCannotServe(t *testing.T) {
	ca, err := localca.New("ca")
	if err != nil {
		t.Fatal(err)
	}
	other, err := localca.New("other")
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := issue(t, ca, "127.0.0.1")
	_, wrongKey := issue(t, other, "127.0.0.1")
	dir := t.TempDir()
	for _, tc := range []struct {
		name      string
		cert, key []byte
		files     func(cf, kf string) (string, string)
		want      string
	}{
		{name: "no key file", cert: cert, files: func(cf, kf string) (string, string) { return cf, "" }, want: "--tls-key"},
		{name: "missing files", files: func(cf, kf string) (string, string) { return cf + ".nope", kf }, want: "no such file"},
		{name: "mismatched key", cert: cert, key: wrongKey, want: "private key does not match"},
		{name: "not PEM", cert: []byte("hello"), key: wrongKey, want: "failed to find any PEM data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			os.Mkdir(d, 0o700)
			cf, kf := pair(t, d, tc.cert, tc.key)
			if tc.files != nil {
				cf, kf = tc.files(cf, kf)
			}
			_, err := tlsfiles.Load(cf, kf, tlsfiles.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want an error with %q", err, tc.want)
			}
		})
	}
}
