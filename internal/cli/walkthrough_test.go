package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSeedWalkthrough builds sosd and sos and runs the acceptance script
// ../shared/acceptance/seed-walkthrough.sh from the repository's root: both
// examples of the seed, step by step, against a fresh `sosd dev`.
func TestSeedWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("the walkthrough takes about a minute: skipped with -short")
	}
	need := func(what string, ok bool) {
		if ok {
			return
		}
		if os.Getenv("SOS_REQUIRE_ALL") == "1" {
			t.Fatalf("%s is needed for the seed walkthrough", what)
		}
		t.Skipf("%s is absent: cannot run the seed walkthrough", what)
	}
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	script := filepath.Join(root, "..", "shared", "acceptance", "seed-walkthrough.sh")
	if _, err := os.Stat(script); err != nil {
		// The script is the spec beside the checkout, not a system package:
		// a checkout without ../shared cannot run it whatever is installed.
		t.Skipf("%s is not beside this checkout: cannot run the seed walkthrough", script)
	}
	for _, prog := range []string{"bash", "python3", "curl"} {
		_, err := exec.LookPath(prog)
		need(prog, err == nil)
	}

	bin := t.TempDir()
	for _, name := range []string{"sosd", "sos"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, name), "./cmd/"+name)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, out)
		}
	}
	cmd := exec.Command("bash", "../shared/acceptance/seed-walkthrough.sh")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "SOSD="+filepath.Join(bin, "sosd"), "SOS="+filepath.Join(bin, "sos"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("seed walkthrough failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
