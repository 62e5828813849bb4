package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary play a transfer (progressHelper) so that
// TestProgressOnTerminal can run it under a real pseudo-terminal.
func TestMain(m *testing.M) {
	if files := os.Getenv("SOS_CLI_PROGRESS_HELPER"); files != "" {
		os.Exit(progressHelper(strings.Split(files, string(os.PathListSeparator))))
	}
	os.Exit(m.Run())
}

// progressHelper copies each file to file+".copy" through the transfer
// machinery of downloads, with bars when stderr is a terminal.
func progressHelper(files []string) int {
	var total int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		total += fi.Size()
	}
	names := make([]string, len(files))
	sizes := make([]int64, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
		if fi, err := os.Stat(f); err == nil {
			sizes[i] = fi.Size()
		}
	}
	pg := newProgress(progressOptions{On: isTerminal(os.Stderr), W: os.Stderr, Files: len(files), Bytes: total, Names: names, Sizes: sizes})
	defer pg.close()
	for _, f := range files {
		fi, _ := os.Stat(f)
		in, err := os.Open(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fp := pg.file(filepath.Base(f), fi.Size())
		err = writeAtomically(f+".copy", in, fp)
		in.Close()
		fp.finish(filepath.Base(f), err)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Println("copied")
	return 0
}

// ansi matches the cursor moves and line clears of the bars; a carriage
// return ends a line on a pty.
var ansi = regexp.MustCompile("\x1b\\[[0-9]*[A-Za-z]|\r")

func writeRandomFile(t *testing.T, path string, size int) []byte {
	t.Helper()
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestProgressOnTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		if os.Getenv("SOS_REQUIRE_ALL") == "1" {
			t.Fatal("script (util-linux) is needed for the pty test")
		}
		t.Skip("script (util-linux) not installed: cannot open a pseudo-terminal")
	}
	dir := t.TempDir()
	one := filepath.Join(dir, "big.bin")
	data := writeRandomFile(t, one, 3<<20)
	two := filepath.Join(dir, "second.bin")
	writeRandomFile(t, two, 1<<20)

	// On a terminal: a bar naming the file, reaching 100%.
	cmd := exec.Command(script, "-qefc", strconv.Quote(os.Args[0])+" -test.run=^$", "/dev/null")
	cmd.Env = append(os.Environ(), "SOS_CLI_PROGRESS_HELPER="+one)
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("under script: %v\n%s", err, out)
	}
	screen := ansi.ReplaceAllString(string(out), "")
	if !regexp.MustCompile(`(?m)^big\.bin \[=+\] 3\.00 MiB / 3\.00 MiB \| [0-9]+(\.[0-9]+)?[a-z]+\s*$`).MatchString(screen) || !strings.Contains(screen, "copied") {
		t.Errorf("terminal output lacks exo's line \"big.bin [====] 3.00 MiB / 3.00 MiB | 0s\":\n%q", out)
	}
	if strings.Contains(screen, "Total") {
		t.Errorf("one file shows a total line:\n%q", out)
	}
	if got, _ := os.ReadFile(one + ".copy"); !bytes.Equal(got, data) {
		t.Fatal("the copy differs from the original")
	}

	// Several files: a total bar and a line per file.
	cmd = exec.Command(script, "-qefc", strconv.Quote(os.Args[0])+" -test.run=^$", "/dev/null")
	cmd.Env = append(os.Environ(), "SOS_CLI_PROGRESS_HELPER="+one+string(os.PathListSeparator)+two)
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("under script: %v\n%s", err, out)
	}
	screen = ansi.ReplaceAllString(string(out), "")
	for _, re := range []string{
		`(?m)^big\.bin    \[=+\] 3\.00 MiB / 3\.00 MiB \| \S+\s*$`,
		`(?m)^second\.bin \[=+\] 1\.00 MiB / 1\.00 MiB \| \S+\s*$`,
		`(?m)^Total 2/2  \[=+\] 4\.00 MiB / 4\.00 MiB \| \S+\s*$`,
	} {
		if !regexp.MustCompile(re).MatchString(screen) {
			t.Errorf("terminal output (2 files) does not match %s:\n%q", re, screen)
		}
	}
	// Piped: nothing but the program's own output.
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SOS_CLI_PROGRESS_HELPER="+one+string(os.PathListSeparator)+two)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("piped: %v\n%s", err, stderr.String())
	}
	if stderr.Len() != 0 || stdout.String() != "copied\n" {
		t.Fatalf("piped output shows progress: stdout %q stderr %q", stdout.String(), stderr.String())
	}
}

func TestBarLine(t *testing.T) {
	for _, tc := range []struct {
		s    barState
		want string
	}{
		{barState{Name: "config.json", NameWidth: 11, Done: 372, Size: 372, Width: 60},
			"config.json [==================] 372.00 b / 372.00 b | 0s"},
		{barState{Name: "policy.json", NameWidth: 12, Done: 209, Size: 418, Elapsed: 1400 * time.Millisecond, Width: 60},
			"policy.json  [=======>---------] 209.00 b / 418.00 b | 1s"},
		{barState{Name: "big.bin", NameWidth: 7, Done: 0, Size: 3 << 20, Elapsed: 65 * time.Second, Width: 60},
			"big.bin [----------------------]   0.00 b / 3.00 MiB | 1m5s"},
		{barState{Name: "a", NameWidth: 3, Done: 3, Size: 3, Width: 40, SizeWidth: 8},
			"a   [==========]   3.00 b /   3.00 b | 0s"},
		{barState{Name: "empty", NameWidth: 5, Size: 0, Width: 20},
			"empty [==========] 0.00 b / 0.00 b | 0s"},
	} {
		if got := barLine(tc.s); got != tc.want {
			t.Errorf("barLine(%+v)\n got %q\nwant %q", tc.s, got, tc.want)
		}
	}
	if got := byteCount(1536); got != "1.50 KiB" {
		t.Errorf("byteCount(1536) = %q", got)
	}
}
