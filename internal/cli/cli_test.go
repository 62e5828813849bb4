package cli

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"sos/internal/control"
	"sos/internal/controlapi"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, e map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	code := Run(t.Context(), args, IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: env(e)})
	return result{code, out.String(), errb.String()}
}

func TestExitCodes(t *testing.T) {
	e := map[string]string{"SOS_CONFIG": t.TempDir() + "/none.toml"}
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"nope"}, ExitUsage, "unknown command"},
		{[]string{"storage", "nope"}, ExitUsage, `unknown command "nope" for "sos storage"`},
		{[]string{"storage", "list", "--nope"}, ExitUsage, "unknown flag"},
		{[]string{"storage", "create"}, ExitUsage, "wrong number of arguments"},
		{[]string{"-O", "yaml", "zone", "list"}, ExitUsage, `unknown output format "yaml"`},
		{[]string{"storage", "upload", "x"}, ExitUsage, "wrong number of arguments"},
		{[]string{"storage", "show", "s3://x/y"}, ExitUsage, "not a sos:// URL"},
		{[]string{"zone", "list"}, ExitFailure, "no API endpoint (--endpoint or SOS_API_ENDPOINT)"},
		{[]string{"storage", "list", "sos://my-source/"}, ExitFailure, "no API endpoint"},
		{[]string{"iam", "role", "list"}, ExitFailure, "sosd dev"},
		{[]string{"storage"}, ExitOK, ""},
		{[]string{"--help"}, ExitOK, ""},
	} {
		r := runCLI(t, e, "", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.err) {
			t.Errorf("sos %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.err)
		}
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "__start_sos", "zsh": "#compdef sos", "fish": "complete -c sos"} {
		r := runCLI(t, nil, "", "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("completion %s: exit %d, output lacks %q (stderr %s)", shell, r.code, want, r.stderr)
		}
	}
	if r := runCLI(t, nil, "", "completion", "tcsh"); r.code != ExitUsage {
		t.Errorf("completion tcsh: exit %d", r.code)
	}
}

// The IAM and zone commands against the real control plane, in process.
func TestIAMAgainstControlPlane(t *testing.T) {
	ctx := t.Context()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	plane, err := control.Open(ctx, control.Options{
		DataDir: t.TempDir(), APIEndpoint: base,
		Zones:   []control.Zone{{Name: "ch-dk-2", S3Endpoint: "http://127.0.0.1:9"}, {Name: "at-vie-1", S3Endpoint: "http://127.0.0.1:10"}},
		RootKey: "EXOclitestroot", RootSecret: "cli-test-root-secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer plane.Close()
	srv.Config.Handler = controlapi.New(plane, controlapi.Options{})
	srv.Start()
	defer srv.Close()
	e := map[string]string{"SOS_API_ENDPOINT": base, "SOS_API_KEY": "EXOclitestroot", "SOS_API_SECRET": "cli-test-root-secret", "SOS_CONFIG": t.TempDir() + "/c.toml"}

	r := runCLI(t, e, "", "zone", "list")
	if r.code != 0 || !regexp.MustCompile(`(?m)^ch-dk-2 +http://\S+/v2 +http://127.0.0.1:9$`).MatchString(r.stdout) {
		t.Fatalf("zone list: %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	policy := `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[{"action":"allow","expression":"parameters.bucket == 'my-source' && operation == 'get-object'"}]}}}`
	r = runCLI(t, e, policy, "iam", "role", "create", "--editable=true", "--description", "sos bucket replication between my-source and my-destination", "--policy", "-", "replication-my-source-my-destination")
	if r.code != 0 {
		t.Fatalf("role create: %d %s", r.code, r.stderr)
	}
	uuid := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	id := uuid.FindString(r.stdout)
	for _, want := range []string{"│ Name        │ replication-my-source-my-destination", "│ Editable    │ true", "│ Labels      │ n/a", "│ Permissions │ n/a"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("role create output lacks %q:\n%s", want, r.stdout)
		}
	}
	if id == "" || !strings.HasPrefix(r.stdout, "┼") {
		t.Fatalf("role create printed no role table with an ID:\n%s", r.stdout)
	}

	r = runCLI(t, e, "", "-O", "json", "iam", "role", "show", "replication-my-source-my-destination")
	if r.code != 0 || !strings.Contains(r.stdout, `"id": "`+id+`"`) || !strings.Contains(r.stdout, "operation == 'get-object'") {
		t.Fatalf("role show by name: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, e, "", "iam", "role", "update", id, "--description", "changed", "--label", "team=storage")
	if r.code != 0 || !strings.Contains(r.stdout, "changed") || !strings.Contains(r.stdout, "team=storage") {
		t.Fatalf("role update: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, e, "", "-O", "text", "iam", "role", "list")
	if r.code != 0 || !strings.Contains(r.stdout, id+"\treplication-my-source-my-destination\ttrue\tchanged") {
		t.Fatalf("role list: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, e, "", "iam", "role", "update", id, "--policy", `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[{"action":"allow","expression":"operation =="}]}}}`)
	if r.code != 1 || r.stderr == "" {
		t.Fatalf("an invalid CEL expression was accepted: %d %s", r.code, r.stdout)
	}

	r = runCLI(t, e, "", "-O", "json", "iam", "api-key", "create", "replicator", "replication-my-source-my-destination")
	key := regexp.MustCompile(`"key": "(EXO[^"]+)"`).FindStringSubmatch(r.stdout)
	if r.code != 0 || key == nil || !strings.Contains(r.stdout, `"secret": "`) {
		t.Fatalf("api-key create: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, e, "", "iam", "api-key", "list")
	if r.code != 0 || !strings.Contains(r.stdout, key[1]) || strings.Contains(r.stdout, "secret") {
		t.Fatalf("api-key list: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, e, "", "iam", "role", "delete", id)
	if r.code != 1 || r.stderr == "" {
		t.Fatalf("a role in use by a key was deleted: %d %s", r.code, r.stdout)
	}
	if r = runCLI(t, e, "", "iam", "api-key", "delete", key[1]); r.code != 0 {
		t.Fatalf("api-key delete: %d %s", r.code, r.stderr)
	}
	if r = runCLI(t, e, "", "iam", "role", "delete", id); r.code != 0 {
		t.Fatalf("role delete: %d %s", r.code, r.stderr)
	}
	r = runCLI(t, e, "", "iam", "role", "show", id)
	if r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("deleted role still shown: %d %s %s", r.code, r.stdout, r.stderr)
	}

	bad := map[string]string{"SOS_API_ENDPOINT": base, "SOS_API_KEY": "EXOclitestroot", "SOS_API_SECRET": "wrong", "SOS_CONFIG": e["SOS_CONFIG"]}
	r = runCLI(t, bad, "", "iam", "role", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "access denied") {
		t.Fatalf("wrong secret: %d %s", r.code, r.stderr)
	}
}
