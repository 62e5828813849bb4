package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
	pg := newProgress(progressOptions{On: isTerminal(os.Stderr), W: os.Stderr, Files: len(files), Bytes: total, Verb: "download"})
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
	for _, want := range []string{"big.bin", "100%", "3.0/3.0 MiB", "copied"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("terminal output lacks %q:\n%q", want, out)
		}
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
	for _, want := range []string{"big.bin  3.0 MiB  done", "second.bin  1.0 MiB  done", "2/2 files 100%"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("terminal output (2 files) lacks %q:\n%q", want, out)
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
