package localca_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"sos/internal/localca"
)

func verify(t *testing.T, f localca.Files, host string) error {
	t.Helper()
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("%s holds no certificate", f.CA)
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatalf("the server certificate and key do not pair: %v", err)
	}
	_, err = pair.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Ensure makes a CA and a server certificate for 127.0.0.1 and localhost,
// reuses both on the next call, and issues the server certificate again
// from the same CA when a host is added.
func TestEnsureMakesReusesAndReissues(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	f, err := localca.Ensure(dir, "127.0.0.1", "localhost", "::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"127.0.0.1", "localhost", "::1"} {
		if err := verify(t, f, h); err != nil {
			t.Errorf("the server certificate does not verify for %s: %v", h, err)
		}
	}
	if err := verify(t, f, "example.com"); err == nil {
		t.Error("the server certificate verifies for example.com, which it does not name")
	}
	for _, name := range []string{f.Key, filepath.Join(dir, "ca-key.pem")} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	ca, cert := read(t, f.CA), read(t, f.Cert)

	f2, err := localca.Ensure(dir, "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	if f2 != f || !bytes.Equal(read(t, f.CA), ca) || !bytes.Equal(read(t, f.Cert), cert) {
		t.Error("a second Ensure with the same hosts made new files instead of reusing them")
	}

	if _, err := localca.Ensure(dir, "127.0.0.1", "sos.test"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, f.CA), ca) {
		t.Error("adding a host replaced the CA: clients would have to trust a new one")
	}
	if bytes.Equal(read(t, f.Cert), cert) {
		t.Error("adding a host kept the old server certificate")
	}
	if err := verify(t, f, "sos.test"); err != nil {
		t.Errorf("the new server certificate does not verify for sos.test: %v", err)
	}
}

// A damaged CA key makes a new CA rather than failing or signing with
// something else.
func TestEnsureReplacesADamagedCA(t *testing.T) {
	dir := t.TempDir()
	f, err := localca.Ensure(dir, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	old := read(t, f.CA)
	if err := os.WriteFile(filepath.Join(dir, "ca-key.pem"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := localca.Ensure(dir, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(read(t, f.CA), old) {
		t.Fatal("the CA was kept although its key is unreadable")
	}
	if err := verify(t, f, "127.0.0.1"); err != nil {
		t.Fatalf("the server certificate does not verify under the new CA: %v", err)
	}
}

func TestParseRefusesAForeignKey(t *testing.T) {
	a, err := localca.New("a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := localca.New("b")
	if err != nil {
		t.Fatal(err)
	}
	bk, _ := b.KeyPEM()
	if _, err := localca.Parse(a.CertPEM, bk); err == nil {
		t.Fatal("Parse paired CA a's certificate with CA b's key")
	}
	ak, _ := a.KeyPEM()
	if _, err := localca.Parse(a.CertPEM, ak); err != nil {
		t.Fatalf("Parse of a CA's own pair: %v", err)
	}
}
