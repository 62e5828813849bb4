package server_test

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sos/internal/localca"
	"sos/internal/s3client"
	"sos/internal/transport"
)

// wire is how the processes of a test talk: plain HTTP (a nil *wire) or
// HTTPS with a CA made for the test, every process serving one
// certificate for 127.0.0.1 and trusting that CA (--ca).
type wire struct {
	ca                        *localca.CA
	dir                       string
	caFile, certFile, keyFile string
	client                    *http.Client // trusts ca
}

// newWire makes a test CA and a server certificate in a temporary folder.
func newWire(t testing.TB) *wire {
	t.Helper()
	ca, err := localca.New("sos test CA")
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{ca: ca, dir: t.TempDir()}
	w.caFile = filepath.Join(w.dir, "ca.pem")
	w.certFile, w.keyFile = filepath.Join(w.dir, "server.pem"), filepath.Join(w.dir, "server-key.pem")
	if err := os.WriteFile(w.caFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	w.issue(t)
	trust, err := transport.Load(transport.Options{CAFile: w.caFile})
	if err != nil {
		t.Fatal(err)
	}
	w.client = trust.Client(transport.Tuning{})
	return w
}

// issue writes a new server certificate and key for 127.0.0.1 (the
// rotation of a certificate: the key file first, as the operator's tools
// would write it, then the certificate).
func (w *wire) issue(t testing.TB) {
	t.Helper()
	cert, key, err := w.ca.Issue("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{w.keyFile, key}, {w.certFile, cert}} {
		tmp := f.name + ".new"
		if err := os.WriteFile(tmp, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f.name); err != nil {
			t.Fatal(err)
		}
	}
}

// sibling is a wire with the same CA and certificate files of its own:
// the process given it can have its certificate rotated alone.
func (w *wire) sibling(t testing.TB) *wire {
	t.Helper()
	s := &wire{ca: w.ca, dir: t.TempDir(), caFile: w.caFile, client: w.client}
	s.certFile, s.keyFile = filepath.Join(s.dir, "server.pem"), filepath.Join(s.dir, "server-key.pem")
	s.issue(t)
	return s
}

// bothWires runs test over plain HTTP and over HTTPS.
func bothWires(t *testing.T, test func(t *testing.T, w *wire)) {
	t.Run("http", func(t *testing.T) { test(t, nil) })
	t.Run("https", func(t *testing.T) { test(t, newWire(t)) })
}

func (w *wire) scheme() string {
	if w == nil {
		return "http"
	}
	return "https"
}

// url is the base URL of a listener's host:port.
func (w *wire) url(addr string) string { return w.scheme() + "://" + addr }

// args are sosd's TLS flags.
func (w *wire) args() []string {
	if w == nil {
		return nil
	}
	return []string{"--tls-cert", w.certFile, "--tls-key", w.keyFile, "--ca", w.caFile}
}

// http is the HTTP client of the test's own requests.
func (w *wire) http() *http.Client {
	if w == nil {
		return http.DefaultClient
	}
	return w.client
}

// s3 is an S3 client of an endpoint over w (the SDK, explicit settings).
func (w *wire) s3(endpoint, region, key, secret, token string) *s3.Client {
	cfg := s3client.Config{Endpoint: endpoint, Region: region, AccessKey: key, Secret: secret, SessionToken: token,
		MaxAttempts: 1, SDKChecksums: true}
	if w != nil {
		cfg.HTTPClient = w.client
	}
	return s3client.New(cfg)
}

// probe is the client of waitHTTP, which waits for a listener to answer
// at all, over HTTP or HTTPS: it does not verify certificates (the tests
// do, with their own clients). A listener that accepts and does not answer
// (a zone still starting) is asked again after 5 s.
var probe = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
