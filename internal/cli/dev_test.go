package cli

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sos/internal/server"
)

// startDev runs a `sosd dev` in the test (free ports, data in a temporary
// folder) and returns the CLI environment pointing at it.
func startDev(t *testing.T) map[string]string {
	t.Helper()
	d, err := server.StartDev(t.Context(), server.DevOptions{
		DataDir: t.TempDir(), APIAddr: "127.0.0.1:0",
		Zones:   []server.ZoneAddr{{Name: "ch-dk-2", Addr: "127.0.0.1:0"}, {Name: "at-vie-1", Addr: "127.0.0.1:0"}},
		RootKey: "EXOclidevroot", RootSecret: "cli-dev-root-secret",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return map[string]string{"SOS_API_ENDPOINT": d.Control.URL, "SOS_API_KEY": d.RootKey, "SOS_API_SECRET": d.RootSecret, "SOS_CONFIG": filepath.Join(t.TempDir(), "c.toml")}
}

func must(t *testing.T, r result, what string) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\n%s%s", what, r.code, r.stdout, r.stderr)
	}
	return r
}

// Storage commands against a real sosd dev: exo's bucket table, a name
// taken in another zone, access denied in words, a role that may not HEAD
// the bucket.
func TestStorageAgainstDev(t *testing.T) {
	root := startDev(t)
	r := must(t, runCLI(t, root, "", "storage", "create", "--zone", "ch-dk-2", "my-source"), "create my-source")
	for _, re := range []string{`│ STORAGE +│`, `│ Zone +│ ch-dk-2 +│`, `│ +│ Full Control sos +│`, `│ CORS +│ +│`, `│ Object Ownership │ BucketOwnerEnforced │`, `│ Versioning +│ Unversioned +│`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("storage create lacks %s:\n%s", re, r.stdout)
		}
	}
	must(t, runCLI(t, root, "", "storage", "create", "--zone", "at-vie-1", "my-destination"), "create my-destination")

	r = runCLI(t, root, "", "storage", "create", "--zone", "at-vie-1", "my-source")
	if r.code != 1 || !strings.Contains(r.stderr, "bucket my-source already exists in zone ch-dk-2") || !strings.Contains(r.stderr, "choose another name") {
		t.Errorf("a name taken in another zone: exit %d, %q", r.code, r.stderr)
	}
	r = runCLI(t, root, "", "storage", "create", "--zone", "ch-dk-2", "my-source")
	if r.code != 1 || !strings.Contains(r.stderr, "bucket my-source already exists in zone ch-dk-2") {
		t.Errorf("a name taken in the same zone: exit %d, %q", r.code, r.stderr)
	}

	r = must(t, runCLI(t, root, "", "-O", "json", "storage", "show", "sos://my-destination"), "show bucket")
	var info bucketInfo
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || info.Zone != "at-vie-1" || info.ACL == nil || len(info.ACL.FullControl) != 1 || info.ObjectOwnership != "BucketOwnerEnforced" {
		t.Errorf("show sos://my-destination -O json: %v %+v\n%s", err, info, r.stdout)
	}

	// A key whose role allows only get-object on my-source and put-object
	// on my-destination (the seed's replication role).
	policy := `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[` +
		`{"action":"allow","expression":"parameters.bucket == 'my-source' && operation == 'get-object'"},` +
		`{"action":"allow","expression":"parameters.bucket == 'my-destination' && operation.startsWith('put-object')"}]}}}`
	must(t, runCLI(t, root, policy, "iam", "role", "create", "--policy", "-", "replication-my-source-my-destination"), "role create")
	r = must(t, runCLI(t, root, "", "-O", "json", "iam", "api-key", "create", "replicator", "replication-my-source-my-destination"), "api-key create")
	var k apiKey
	if err := json.Unmarshal([]byte(r.stdout), &k); err != nil {
		t.Fatal(err)
	}
	limited := map[string]string{"SOS_API_ENDPOINT": root["SOS_API_ENDPOINT"], "SOS_API_KEY": k.Key, "SOS_API_SECRET": k.Secret, "SOS_CONFIG": root["SOS_CONFIG"]}

	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, []byte(`{"hello":"world"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, runCLI(t, root, "", "storage", "upload", file, "sos://my-source/"), "root upload")

	// Zones learn new keys by watching the control plane: wait for it.
	deadline := time.Now().Add(15 * time.Second)
	for {
		r = runCLI(t, limited, "", "storage", "upload", file, "sos://my-source/x.json")
		// Until then the zone answers InvalidAccessKeyId ("Unknown access key").
		if !strings.Contains(strings.ToLower(r.stderr), "unknown access key") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := "access denied: role replication-my-source-my-destination does not allow put-object on my-source/x.json"
	if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "Access Denied") {
		t.Errorf("denied upload: exit %d, %q; want %q", r.code, r.stderr, want)
	}
	// The key may not HEAD my-destination nor list buckets: the CLI
	// guesses a zone, meets the redirect and goes to at-vie-1.
	r = runCLI(t, limited, "", "storage", "upload", file, "sos://my-destination/")
	if r.code != 0 {
		t.Errorf("upload with a key that cannot find the bucket's zone: exit %d %q", r.code, r.stderr)
	}
	must(t, runCLI(t, root, "", "storage", "show", "sos://my-destination/config.json"), "the upload reached my-destination")
	// get-object without head-object: download still works, show says why not.
	must(t, runCLI(t, limited, "", "storage", "download", "sos://my-source/config.json", filepath.Join(dir, "back.json")), "download with get-object only")
	if got, _ := os.ReadFile(filepath.Join(dir, "back.json")); string(got) != `{"hello":"world"}` {
		t.Errorf("downloaded %q", got)
	}
	r = runCLI(t, limited, "", "storage", "show", "sos://my-source/config.json")
	if r.code != 1 || !strings.Contains(r.stderr, "access denied: head-object on my-source/config.json is not allowed") {
		t.Errorf("show without head-object: exit %d %q", r.code, r.stderr)
	}
	r = runCLI(t, root, "", "storage", "show", "sos://nope-nope")
	if r.code != 1 || !strings.Contains(r.stderr, "bucket nope-nope not found in any zone") {
		t.Errorf("show of a missing bucket: exit %d %q", r.code, r.stderr)
	}
}
