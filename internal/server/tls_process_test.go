package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sos/internal/localca"
	"sos/internal/server/repltest"
)

// servedSerial is the serial of the leaf certificate addr serves now (a
// new connection, verified against roots).
func servedSerial(t testing.TB, addr string, roots *x509.CertPool) (*big.Int, error) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

// fileSerial is the serial of the first certificate of a PEM file.
func fileSerial(t testing.TB, name string) *big.Int {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s holds no PEM", name)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber
}

// replaceFile writes data over name as an operator's tools would: a new
// file renamed over the old one.
func replaceFile(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name+".new", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(name+".new", name); err != nil {
		t.Fatal(err)
	}
}

// TestCertificateRotationDuringReplication: while objects are written to
// the source and replicated, the destination zone's certificate is
// replaced four times: new files noticed by themselves (the key written a
// while before its certificate: the old pair is served meanwhile), new
// files of the same size and times picked up only on SIGHUP, a certificate
// from another CA (the source refuses it: replication waits, reason
// "tls"), and a good one again. Each time the new leaf is served; the
// replicator's connections are cut after each, so it handshakes again.
// Afterwards every acknowledged version is on the destination.
func TestCertificateRotationDuringReplication(t *testing.T) {
	if testing.Short() {
		t.Skip("rotates certificates for about 20 s: skipped with -short")
	}
	w := newWire(t)
	dw := w.sibling(t)
	c := startCluster(t, clusterOptions{Wire: w, ZoneWires: map[string]*wire{"at-vie-1": dw}, Proxied: true}, "ch-dk-2", "at-vie-1")
	src, dst := c.zones["ch-dk-2"], c.zones["at-vie-1"]
	role := c.createRole("replication-my-source-my-destination", seedPolicy("my-source", "my-destination"))
	createVersionedBucket(t, src, "my-source")
	createVersionedBucket(t, dst, "my-destination")
	setReplication(t, src, "my-source", seedConfig(role, "vie1-follower", "my-destination"))

	roots := x509.NewCertPool()
	roots.AddCert(w.ca.Cert)
	served := func() *big.Int {
		t.Helper()
		s, err := servedSerial(t, dst.listen, roots)
		if err != nil {
			t.Fatalf("handshake with the destination: %v", err)
		}
		return s
	}
	waitServed := func(what string, want *big.Int, roots *x509.CertPool) {
		t.Helper()
		repltest.Eventually(t, 30*time.Second, func() (bool, string) {
			s, err := servedSerial(t, dst.listen, roots)
			if err != nil {
				return false, fmt.Sprintf("%s: handshake: %v", what, err)
			}
			return s.Cmp(want) == 0, fmt.Sprintf("%s: the destination serves serial %x, want %x", what, s, want)
		})
	}
	// cut ends the replicator's connections to the destination (through
	// the proxy registered as its endpoint): its next requests handshake
	// with the certificate served now.
	cut := func() { dst.proxy.SetMode(repltest.Refuse); dst.proxy.SetMode(repltest.Pass) }

	// The writer: PUTs to the source until stopped, each acknowledged
	// version kept.
	type written struct{ key, version string }
	var (
		mu      sync.Mutex
		acked   []written
		putErrs []error
	)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl := src.s3()
		for i := 0; ctx.Err() == nil; i++ {
			key := fmt.Sprintf("obj-%05d", i)
			v, err := put(ctx, cl, "my-source", key, []byte(strings.Repeat(key, 1+i%200)))
			mu.Lock()
			switch {
			case err == nil:
				acked = append(acked, written{key, v})
			case ctx.Err() == nil:
				putErrs = append(putErrs, fmt.Errorf("PUT %s: %w", key, err))
			}
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { stop(); <-done })
	replicated := func(what string, atLeast int) {
		t.Helper()
		repltest.Eventually(t, 60*time.Second, func() (bool, string) {
			n := len(versions(t, dst, "my-destination"))
			return n >= atLeast, fmt.Sprintf("%s: %d versions on the destination, want at least %d", what, n, atLeast)
		})
	}
	replicated("before any rotation", 20)

	// 1. New files, noticed by themselves: the key first, and for a while
	// (past the files' check interval, with handshakes) the certificate
	// still the old one: the old pair goes on being served.
	old := served()
	if old.Cmp(fileSerial(t, dw.certFile)) != 0 {
		t.Fatalf("the destination serves %x, not the serial %x of its certificate file", old, fileSerial(t, dw.certFile))
	}
	cert1, key1, err := w.ca.Issue("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, dw.keyFile, key1)
	for range 30 { // 3 s of handshakes, more than tlsfiles' 2 s check interval
		if s := served(); s.Cmp(old) != 0 {
			t.Fatalf("with a new key beside the old certificate, the destination serves %x, want the old %x", s, old)
		}
		time.Sleep(100 * time.Millisecond)
	}
	replaceFile(t, dw.certFile, cert1)
	new1 := fileSerial(t, dw.certFile)
	waitServed("the files replaced", new1, roots)
	cut()
	replicated("after the first rotation", count()+5)

	// 2. New files of the very same sizes and times: only SIGHUP tells.
	oldCert, _ := os.ReadFile(dw.certFile)
	oldKey, _ := os.ReadFile(dw.keyFile)
	certInfo, _ := os.Stat(dw.certFile)
	keyInfo, _ := os.Stat(dw.keyFile)
	var cert2, key2 []byte
	for range 200 {
		if cert2, key2, err = w.ca.Issue("127.0.0.1", "localhost"); err != nil {
			t.Fatal(err)
		}
		if len(cert2) == len(oldCert) && len(key2) == len(oldKey) {
			break
		}
	}
	if len(cert2) != len(oldCert) || len(key2) != len(oldKey) {
		t.Fatalf("no certificate of %d bytes with a key of %d bytes in 200 tries", len(oldCert), len(oldKey))
	}
	replaceFile(t, dw.keyFile, key2)
	replaceFile(t, dw.certFile, cert2)
	for _, f := range []struct {
		name string
		fi   os.FileInfo
	}{{dw.certFile, certInfo}, {dw.keyFile, keyInfo}} {
		if err := os.Chtimes(f.name, f.fi.ModTime(), f.fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	dst.cmd.Process.Signal(syscall.SIGHUP)
	waitServed("SIGHUP", fileSerial(t, dw.certFile), roots)
	cut()
	replicated("after SIGHUP", count()+5)

	// 3. A certificate from another CA: the source does not trust it, and
	// what it writes meanwhile waits, with reason "tls".
	other, err := localca.New("a CA the zones do not trust")
	if err != nil {
		t.Fatal(err)
	}
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(other.Cert)
	wrongCert, wrongKey, err := other.Issue("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	tlsFailures := metric(t, src, "sos_replication_failures_total", `reason="tls"`)
	replaceFile(t, dw.keyFile, wrongKey)
	replaceFile(t, dw.certFile, wrongCert)
	waitServed("a certificate of another CA", fileSerial(t, dw.certFile), otherRoots)
	cut()
	repltest.Eventually(t, 30*time.Second, func() (bool, string) {
		n := metric(t, src, "sos_replication_failures_total", `reason="tls"`)
		return n > tlsFailures, fmt.Sprintf("sos_replication_failures_total{reason=tls} stays %v with a certificate of another CA", n)
	})

	// 4. A good certificate again.
	cert4, key4, err := w.ca.Issue("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, dw.keyFile, key4)
	replaceFile(t, dw.certFile, cert4)
	waitServed("a good certificate again", fileSerial(t, dw.certFile), roots)
	replicated("after the good certificate is back", count()+5)

	stop()
	<-done
	if len(putErrs) > 0 {
		t.Fatalf("%d PUTs to the source failed, first: %v", len(putErrs), putErrs[0])
	}
	eventuallyConverged(t, 60*time.Second, src, "my-source", dst, "my-destination")
	on := map[string]bool{}
	for _, v := range versions(t, dst, "my-destination") {
		on[v.Key+" "+v.VersionID] = true
	}
	for _, a := range acked {
		if !on[a.key+" "+a.version] {
			t.Errorf("%s version %s was acknowledged and is not on the destination", a.key, a.version)
		}
	}
	if n := metric(t, src, "sos_replication_replicated_operations_total", `bucket="my-source"`); n < float64(len(acked)) {
		t.Errorf("sos_replication_replicated_operations_total = %v, want at least the %d versions written", n, len(acked))
	}
	t.Logf("%d versions written and replicated across four certificate changes of the destination", len(acked))
	if !strings.Contains(dst.output(), "cannot reload the TLS certificate") {
		t.Errorf("the destination did not say it kept its certificate while the new key had none:\n%s", dst.output())
	}
}

// sosd refuses, at start, to send or serve secrets over plain HTTP to or
// on an address other than loopback, in words, and does with
// --insecure-http, warning.
func TestSosdRefusesCleartextToOtherHosts(t *testing.T) {
	dir := t.TempDir()
	exits := func(what string, env []string, wants []string, args ...string) {
		t.Helper()
		p := startProc(t, env, args...)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: still running after 30 s:\n%s", what, p.output())
		}
		for _, want := range wants {
			if p.cmd.ProcessState.ExitCode() == 0 || !strings.Contains(p.output(), want) {
				t.Errorf("%s: exit %d, output %q; want a failure saying %q", what, p.cmd.ProcessState.ExitCode(), p.output(), want)
			}
		}
	}
	root := []string{"SOS_ROOT_API_KEY=" + rootKey, "SOS_ROOT_API_SECRET=" + rootSecret}
	exits("a zone whose control plane is http:// elsewhere", nil,
		[]string{"--control http://192.0.2.1:9000: the zone's token would go with every request: refusing to send credentials in clear over plain HTTP to 192.0.2.1:9000, which is not a loopback address: use https://, or allow it with --insecure-http"},
		"zone", "--name", "ch-dk-2", "--listen", freeAddr(t), "--data", dir+"/zone", "--control", "http://192.0.2.1:9000", "--token", "t")
	exits("a control plane with a zone at http:// elsewhere", root,
		[]string{"--zone ch-dk-2=http://192.0.2.1:9001: the console could not reach it: refusing to send credentials in clear over plain HTTP to 192.0.2.1:9001"},
		"control", "--data", dir+"/control", "--listen", freeAddr(t), "--zone", "ch-dk-2=192.0.2.1:9001")
	port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	exits("a control plane listening in clear on every address", root,
		// (Go listens on [::] for 0.0.0.0, and says so.)
		[]string{"sosd control would serve API keys and secrets in clear over plain HTTP on ", ":" + port + ", which is not a loopback address: give --tls-cert and --tls-key, or allow it with --insecure-http"},
		"control", "--data", dir+"/control", "--listen", "0.0.0.0:"+port, "--zone", "ch-dk-2=127.0.0.1:9001")

	// With --insecure-http it serves, and says what it allows.
	p := startProc(t, root, "control", "--data", dir+"/control", "--listen", "0.0.0.0:"+port, "--zone", "ch-dk-2=192.0.2.1:9001", "--insecure-http")
	waitHTTP(t, "http://127.0.0.1:"+port+"/v2/zone", p)
	if !strings.Contains(p.output(), "--insecure-http: API keys, zone tokens and temporary credentials may cross the network in clear") {
		t.Errorf("sosd control --insecure-http does not warn:\n%s", p.output())
	}
}

// A zone whose --ca is another CA than the control plane's refuses the
// control plane's certificate and says why in its log.
func TestZoneRefusesTheControlPlaneOfAnotherCA(t *testing.T) {
	w := newWire(t)
	c := startCluster(t, clusterOptions{Wire: w}, "ch-dk-2")
	z := c.zones["ch-dk-2"]
	z.kill(syscall.SIGTERM)

	other, err := localca.New("another CA")
	if err != nil {
		t.Fatal(err)
	}
	wrong := t.TempDir() + "/other-ca.pem"
	if err := os.WriteFile(wrong, other.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, []string{"SOS_METRICS_TOKEN=" + testMetricsToken}, "zone", "--name", "ch-dk-2", "--listen", freeAddr(t), "--data", t.TempDir(),
		"--control", c.api, "--token", z.token, "--tls-cert", w.certFile, "--tls-key", w.keyFile, "--ca", wrong)
	want := "certificate signed by unknown authority (the certificate of " + strings.TrimPrefix(c.api, "https://") + " is not signed by a CA of " + wrong + ")"
	pollUntil(t, 30*time.Second, func() string {
		if strings.Contains(p.output(), want) {
			return ""
		}
		return "the zone's log does not say " + want + ":\n" + p.output()
	})
}
