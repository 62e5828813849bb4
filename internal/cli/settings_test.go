package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigRoundTrip(t *testing.T) {
	cf := &ConfigFile{Default: "dev", Accounts: map[string]*Account{
		"dev":      {Name: "dev", Endpoint: "http://127.0.0.1:8080", Key: "EXOa", Secret: `se"cr#et`, Zone: "ch-dk-2"},
		"my.prod":  {Name: "my.prod", Endpoint: "https://x", Key: "EXOb", Secret: "s"},
		"other_01": {Name: "other_01", Endpoint: "https://y", Key: "EXOc", Secret: "t"},
	}}
	back, err := ParseConfig(cf.Marshal())
	if err != nil {
		t.Fatalf("%v\n%s", err, cf.Marshal())
	}
	if back.Default != "dev" || len(back.Accounts) != 3 {
		t.Fatalf("got %+v", back)
	}
	for n, a := range cf.Accounts {
		if *back.Accounts[n] != *a {
			t.Errorf("account %s: got %+v, want %+v", n, *back.Accounts[n], *a)
		}
	}
}

func TestConfigParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"[profiles.x]\n", "only [accounts.NAME]"},
		{"[accounts.x\n", "no closing ]"},
		{"[accounts.x]\nkey = bare\n", "quoted string"},
		{"[accounts.x]\ncolour = \"red\"\n", `unknown account setting "colour"`},
		{"key = \"x\"\n", "outside [accounts.NAME]"},
		{"default = \"nope\"\n", `default account "nope" is not defined`},
		{"[accounts.x]\n[accounts.x]\n", "defined twice"},
		{"[accounts.x]\njust words\n", "expected key"},
	} {
		_, err := ParseConfig([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseConfig(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
	cf, err := ParseConfig([]byte("# comment\ndefault = \"a\" # trailing\n\n[accounts.a]\nkey = \"k#1\"\n"))
	if err != nil || cf.Accounts["a"].Key != "k#1" {
		t.Fatalf("comments: %v %+v", err, cf)
	}
}

func TestResolvePrecedence(t *testing.T) {
	cf := &ConfigFile{Default: "dev", Accounts: map[string]*Account{
		"dev":  {Name: "dev", Endpoint: "http://file-dev/v2", Key: "filekey", Secret: "filesecret", Zone: "at-vie-1"},
		"prod": {Name: "prod", Endpoint: "http://file-prod", Key: "prodkey", Secret: "prodsecret"},
	}}
	full := map[string]string{"SOS_API_ENDPOINT": "http://env/", "SOS_API_KEY": "envkey", "SOS_API_SECRET": "envsecret", "SOS_ZONE": "ch-dk-2"}

	// Config file only.
	s, err := Resolve(SettingsInput{Getenv: env(nil), Config: cf})
	if err != nil || s != (Settings{Endpoint: "http://file-dev", Key: "filekey", Secret: "filesecret", Zone: "at-vie-1", Account: "dev"}) {
		t.Fatalf("file: %+v %v", s, err)
	}
	// Env beats the file, field by field.
	s, _ = Resolve(SettingsInput{Getenv: env(map[string]string{"SOS_API_KEY": "envkey"}), Config: cf})
	if s.Key != "envkey" || s.Secret != "filesecret" || s.Endpoint != "http://file-dev" {
		t.Fatalf("env over file: %+v", s)
	}
	s, _ = Resolve(SettingsInput{Getenv: env(full), Config: cf})
	if s.Endpoint != "http://env" || s.Key != "envkey" || s.Secret != "envsecret" || s.Zone != "ch-dk-2" {
		t.Fatalf("env: %+v", s)
	}
	// Flags beat env.
	s, _ = Resolve(SettingsInput{Flags: Settings{Endpoint: "http://flag", Zone: "z9"}, Getenv: env(full), Config: cf})
	if s.Endpoint != "http://flag" || s.Zone != "z9" || s.Key != "envkey" {
		t.Fatalf("flags: %+v", s)
	}
	// --account picks another account; an unknown one is an error.
	s, _ = Resolve(SettingsInput{Flags: Settings{Account: "prod"}, Getenv: env(nil), Config: cf})
	if s.Key != "prodkey" || s.Zone != "" {
		t.Fatalf("--account: %+v", s)
	}
	if _, err := Resolve(SettingsInput{Flags: Settings{Account: "nope"}, Getenv: env(nil), Config: cf}); err == nil {
		t.Fatal("unknown --account accepted")
	}
	// No default, one account: that one.
	one := &ConfigFile{Accounts: map[string]*Account{"solo": {Name: "solo", Key: "k"}}}
	if s, _ := Resolve(SettingsInput{Getenv: env(nil), Config: one}); s.Key != "k" {
		t.Fatalf("single account: %+v", s)
	}
	if err := (Settings{Endpoint: "x"}).check(); err == nil || !strings.Contains(err.Error(), "SOS_API_KEY") {
		t.Fatalf("check: %v", err)
	}
}

// `sos config add/use/list` against a real file, then a command that uses it.
func TestConfigCommands(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sos", "config.toml")
	e := map[string]string{"SOS_CONFIG": path}
	run := func(args ...string) (int, string, string) {
		var out, errb strings.Builder
		code := Run(t.Context(), args, IO{Stdout: &out, Stderr: &errb, Getenv: env(e)})
		return code, out.String(), errb.String()
	}
	if code, _, stderr := run("config", "add", "dev"); code != ExitUsage || !strings.Contains(stderr, "API endpoint") {
		t.Fatalf("add without settings: %d %s", code, stderr)
	}
	if code, out, stderr := run("config", "add", "dev", "--endpoint", "http://127.0.0.1:1/v2", "--key", "EXOk", "--secret", "s1", "--zone", "ch-dk-2"); code != 0 || !strings.Contains(out, "account dev saved") {
		t.Fatalf("add dev: %d %s %s", code, out, stderr)
	}
	e["SOS_API_ENDPOINT"], e["SOS_API_KEY"], e["SOS_API_SECRET"] = "http://127.0.0.1:2", "EXOp", "s2"
	if code, _, stderr := run("config", "add", "prod"); code != 0 {
		t.Fatalf("add prod from env: %d %s", code, stderr)
	}
	delete(e, "SOS_API_ENDPOINT")
	delete(e, "SOS_API_KEY")
	delete(e, "SOS_API_SECRET")
	code, out, _ := run("config", "list")
	if code != 0 || !strings.Contains(out, "dev   http://127.0.0.1:1  EXOk  ch-dk-2  *") || !strings.Contains(out, "prod  http://127.0.0.1:2  EXOp") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	if code, _, _ := run("config", "use", "prod"); code != 0 {
		t.Fatal("use prod failed")
	}
	if code, _, stderr := run("config", "use", "nope"); code != ExitFailure || !strings.Contains(stderr, `no account "nope"`) {
		t.Fatalf("use nope: %d %s", code, stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), `default = "prod"`) {
		t.Fatalf("file: %v\n%s", err, data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file mode %v, want 0600 (it holds secrets)", fi.Mode().Perm())
	}
	// The default account is used: nothing listens on 127.0.0.1:2.
	code, _, stderr := run("zone", "list")
	if code != ExitFailure || !strings.Contains(stderr, "cannot reach the API at http://127.0.0.1:2") {
		t.Fatalf("zone list with the prod account: %d %s", code, stderr)
	}
	code, _, stderr = run("-A", "dev", "zone", "list")
	if code != ExitFailure || !strings.Contains(stderr, "http://127.0.0.1:1") {
		t.Fatalf("zone list -A dev: %d %s", code, stderr)
	}
}
