package cli

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sos/internal/localca"
	"sos/internal/server"
)

// startDevTLS runs a `sosd dev --tls` in the test and returns the CLI
// environment pointing at it, without a CA bundle, and the CA file of its
// local CA.
func startDevTLS(t *testing.T) (map[string]string, string) {
	t.Helper()
	d, err := server.StartDev(t.Context(), server.DevOptions{
		DataDir: t.TempDir(), APIAddr: "127.0.0.1:0", GenerateTLS: true,
		Zones:   []server.ZoneAddr{{Name: "ch-dk-2", Addr: "127.0.0.1:0"}, {Name: "at-vie-1", Addr: "127.0.0.1:0"}},
		RootKey: "EXOclitlsroot", RootSecret: "cli-tls-root-secret",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if !strings.HasPrefix(d.Control.URL, "https://") || d.CAFile == "" {
		t.Fatalf("sosd dev --tls: API at %s, CA %q", d.Control.URL, d.CAFile)
	}
	return map[string]string{"SOS_API_ENDPOINT": d.Control.URL, "SOS_API_KEY": d.RootKey, "SOS_API_SECRET": d.RootSecret,
		"SOS_CONFIG": filepath.Join(t.TempDir(), "c.toml")}, d.CAFile
}

func with(e map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// The seed's first example with the CLI over HTTPS: the control plane and
// both zones verified against the CA of SOS_CA_BUNDLE, --ca or the
// account's ca; another CA, the system roots and a bundle that is not one
// are refused in words.
func TestCLIOverTLS(t *testing.T) {
	bare, ca := startDevTLS(t)
	e := with(bare, "SOS_CA_BUNDLE", ca)

	r := must(t, runCLI(t, e, "", "zone", "list"), "zone list")
	if n := strings.Count(r.stdout, "https://127.0.0.1:"); n < 2 {
		t.Errorf("zone list shows %d https endpoints:\n%s", n, r.stdout)
	}
	policy := `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[` +
		`{"action":"allow","expression":"parameters.bucket == 'my-source' && operation == 'get-object'"},` +
		`{"action":"allow","expression":"parameters.bucket == 'my-destination' && operation.startsWith('put-object')"}]}}}`
	r = must(t, runCLI(t, e, policy, "-O", "json", "iam", "role", "create", "--policy", "-", "replication-my-source-my-destination"), "role create")
	role := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`).FindString(r.stdout)
	if role == "" {
		t.Fatalf("role create printed no ID:\n%s", r.stdout)
	}
	must(t, runCLI(t, e, "", "storage", "create", "--zone", "ch-dk-2", "my-source"), "create my-source")
	must(t, runCLI(t, e, "", "storage", "create", "--zone", "at-vie-1", "my-destination"), "create my-destination")
	must(t, runCLI(t, e, "", "storage", "bucket", "versioning", "enable", "--zone", "ch-dk-2", "my-source"), "versioning my-source")
	must(t, runCLI(t, e, "", "storage", "bucket", "versioning", "enable", "--zone", "at-vie-1", "my-destination"), "versioning my-destination")

	dir := t.TempDir()
	config := filepath.Join(dir, "config.json")
	os.WriteFile(config, fmt.Appendf(nil, `{"Role":%q,"Rules":[{"ID":"vie1-follower","Priority":1,"Filter":{"Prefix":""},`+
		`"Status":"Enabled","DeleteMarkerReplication":{"Status":"Enabled"},"Destination":{"Bucket":"my-destination"}}]}`, role), 0o644)
	must(t, runCLI(t, e, "", "storage", "bucket", "replication", "set", "--zone", "ch-dk-2", "sos://my-source", config), "replication set")
	if r := must(t, runCLI(t, e, "", "storage", "bucket", "replication", "show", "sos://my-source"), "replication show"); !strings.Contains(r.stdout, "vie1-follower") {
		t.Errorf("replication show lacks the rule:\n%s", r.stdout)
	}
	must(t, runCLI(t, e, "", "storage", "upload", config, "sos://my-source/"), "upload")
	if r := must(t, runCLI(t, e, "", "storage", "list", "sos://my-source/"), "list"); !strings.Contains(r.stdout, "config.json") {
		t.Errorf("storage list lacks config.json:\n%s", r.stdout)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = runCLI(t, e, "", "storage", "show", "sos://my-destination/config.json")
		if r.code == 0 && regexp.MustCompile(`Replication Status.*REPLICA`).MatchString(r.stdout) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("config.json never replicated over TLS: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	must(t, runCLI(t, e, "", "storage", "bucket", "replication", "diff", "sos://my-source", "sos://my-destination"), "replication diff")
	if r := must(t, runCLI(t, e, "", "storage", "bucket", "replication", "status", "sos://my-source"), "replication status"); !strings.Contains(r.stdout, "vie1-follower") {
		t.Errorf("replication status lacks the rule:\n%s", r.stdout)
	}
	must(t, runCLI(t, e, "", "storage", "download", "sos://my-destination/config.json", filepath.Join(dir, "back.json")), "download")
	if a, b := readFile(t, config), readFile(t, filepath.Join(dir, "back.json")); a != b {
		t.Errorf("the replica downloaded over TLS differs")
	}

	// --ca, and an account's ca, instead of SOS_CA_BUNDLE.
	must(t, runCLI(t, bare, "", "--ca", ca, "storage", "list", "sos://my-destination/"), "storage list with --ca")
	must(t, runCLI(t, bare, "", "--ca", ca, "config", "add", "tls"), "config add with --ca")
	acct := map[string]string{"SOS_CONFIG": bare["SOS_CONFIG"]}
	must(t, runCLI(t, acct, "", "storage", "list", "sos://my-destination/"), "storage list with the account's ca")

	// Refused: another CA, the system roots, a bundle holding no
	// certificate. Each says what is wrong and what to set. (A config
	// file without the account above.)
	bare = with(bare, "SOS_CONFIG", filepath.Join(t.TempDir(), "none.toml"))
	other, err := localca.New("another CA")
	if err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "other-ca.pem")
	os.WriteFile(wrong, other.CertPEM, 0o644)
	notPEM := filepath.Join(dir, "not-a-bundle.pem")
	os.WriteFile(notPEM, []byte("hello\n"), 0o644)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"another CA", with(bare, "SOS_CA_BUNDLE", wrong), []string{"certificate signed by unknown authority", "is not signed by a CA of " + wrong}},
		{"the system roots", bare, []string{"certificate signed by unknown authority", "is not signed by a CA of the system roots: give the CA bundle that signed it with --ca or SOS_CA_BUNDLE"}},
		{"not a bundle", with(bare, "SOS_CA_BUNDLE", notPEM), []string{"CA bundle " + notPEM + " (--ca or SOS_CA_BUNDLE) holds no PEM certificate"}},
		{"no such file", with(bare, "SOS_CA_BUNDLE", filepath.Join(dir, "nope.pem")), []string{"CA bundle (--ca or SOS_CA_BUNDLE)", "no such file"}},
	} {
		r := runCLI(t, tc.env, "", "storage", "list", "sos://my-destination/")
		t.Logf("%s: %s", tc.name, strings.TrimSpace(r.stderr))
		if r.code != ExitFailure {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, r.code, ExitFailure, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr %q lacks %q", tc.name, r.stderr, w)
			}
		}
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nonLoopbackIP is an IPv4 address of this machine other than loopback.
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("this machine has no IPv4 address other than loopback: cannot listen on one")
	return ""
}

// Plain HTTP to an address other than loopback: the CLI refuses before
// connecting, in words, and goes with --insecure-http or
// SOS_INSECURE_HTTP=1, warning once.
func TestCLIRefusesCleartextToOtherHosts(t *testing.T) {
	ip := nonLoopbackIP(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := server.DevOptions{
		DataDir: t.TempDir(), APIAddr: ip + ":0",
		Zones:   []server.ZoneAddr{{Name: "ch-dk-2", Addr: ip + ":0"}, {Name: "at-vie-1", Addr: ip + ":0"}},
		RootKey: "EXOclicleartextroot", RootSecret: "cli-cleartext-root-secret", Logger: log,
	}
	// sosd dev itself refuses to serve secrets in clear there.
	if _, err := server.StartDev(t.Context(), opts); err == nil || !strings.Contains(err.Error(), "in clear over plain HTTP on "+ip) || !strings.Contains(err.Error(), "--insecure-http") {
		t.Fatalf("sosd dev on %s without TLS: %v", ip, err)
	}
	opts.TLS.InsecureHTTP = true
	d, err := server.StartDev(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })

	// A listener that counts connections, at the same kind of address.
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	e := map[string]string{"SOS_API_KEY": d.RootKey, "SOS_API_SECRET": d.RootSecret, "SOS_CONFIG": filepath.Join(t.TempDir(), "c.toml")}
	for _, endpoint := range []string{"http://" + ln.Addr().String(), d.Control.URL} {
		r := runCLI(t, with(e, "SOS_API_ENDPOINT", endpoint), "", "storage", "list")
		host := strings.TrimPrefix(endpoint, "http://")
		want := "refusing to send credentials in clear over plain HTTP to " + host + ", which is not a loopback address: use https://, or allow it with --insecure-http (or SOS_INSECURE_HTTP=1)"
		if r.code != ExitFailure || !strings.Contains(r.stderr, want) {
			t.Errorf("sos storage list at %s: exit %d, stderr %q; want %q", endpoint, r.code, r.stderr, want)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the refused CLI opened %d connections", n)
	}

	warning := "sos: warning: --insecure-http: sending keys and signatures in clear over plain HTTP to "
	for name, r := range map[string]result{
		"--insecure-http":     runCLI(t, with(e, "SOS_API_ENDPOINT", d.Control.URL), "", "--insecure-http", "storage", "create", "--zone", "ch-dk-2", "in-clear"),
		"SOS_INSECURE_HTTP=1": runCLI(t, with(e, "SOS_API_ENDPOINT", d.Control.URL, "SOS_INSECURE_HTTP", "1"), "", "storage", "list"),
	} {
		if r.code != 0 || strings.Count(r.stderr, warning) != 1 {
			t.Errorf("%s: exit %d, stderr %q; want success and one warning", name, r.code, r.stderr)
		}
	}
	if r := runCLI(t, with(e, "SOS_API_ENDPOINT", d.Control.URL, "SOS_INSECURE_HTTP", "yes"), "", "storage", "list"); r.code != ExitUsage || !strings.Contains(r.stderr, `SOS_INSECURE_HTTP="yes": use 1 or 0`) {
		t.Errorf("SOS_INSECURE_HTTP=yes: exit %d %q", r.code, r.stderr)
	}
}
