package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tests in this file run real sosd processes built from ./cmd/sosd.

const (
	rootKey    = "EXOservertestroot"
	rootSecret = "server-test-root-secret-0123456789"
)

var (
	buildOnce sync.Once
	sosdPath  string
	buildErr  error
)

// sosdBinary builds cmd/sosd once per test binary run.
func sosdBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sosd-bin-")
		if err != nil {
			buildErr = err
			return
		}
		sosdPath = filepath.Join(dir, "sosd")
		out, err := exec.Command("go", "build", "-o", sosdPath, "sos/cmd/sosd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build sos/cmd/sosd: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return sosdPath
}

// freeAddr returns a loopback address with a port free right now, for a
// child process to listen on. The port is drawn below the kernel's
// ephemeral range (32768 and up on Linux): a port the kernel hands out
// for port 0 may be taken again at once as the local port of one of the
// many client connections the tests open, before the child binds it.
func freeAddr(t testing.TB) string {
	t.Helper()
	for range 200 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+mrand.IntN(12000))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		return addr
	}
	t.Fatal("no free port between 20000 and 32000")
	return ""
}

// proc is a running sosd child process.
type proc struct {
	cmd  *exec.Cmd
	log  *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func startProc(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{log: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	p.cmd = exec.Command(sosdBinary(t), args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = lockedWriter{p.mu, p.log}
	p.cmd.Stderr = lockedWriter{p.mu, p.log}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("sosd %s output:\n%s", args[0], p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// kill sends sig and waits for the process to end.
func (p *proc) kill(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// waitHTTP waits until url answers at all (any status).
func waitHTTP(t testing.TB, url string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := probe.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("sosd exited early:\n%s", p.output())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not answer within 30 s:\n%s", url, p.output())
}

// devProc is a `sosd dev` child process and its endpoints.
type devProc struct {
	*proc
	data, api string
	zones     map[string]string // zone name → host:port
	tls       bool              // sosd dev --tls: HTTPS with a local CA
}

func startDev(t testing.TB, data string) *devProc {
	t.Helper()
	d := &devProc{data: data, api: freeAddr(t), zones: map[string]string{"ch-dk-2": freeAddr(t), "at-vie-1": freeAddr(t)}}
	d.start(t)
	return d
}

// startDevTLS is startDev with --tls.
func startDevTLS(t testing.TB, data string) *devProc {
	t.Helper()
	d := &devProc{data: data, api: freeAddr(t), zones: map[string]string{"ch-dk-2": freeAddr(t), "at-vie-1": freeAddr(t)}, tls: true}
	d.start(t)
	return d
}

// scheme is how d's listeners are reached.
func (d *devProc) scheme() string {
	if d.tls {
		return "https"
	}
	return "http"
}

func (d *devProc) start(t testing.TB) {
	t.Helper()
	args := []string{"dev", "--data", d.data, "--api", d.api,
		"--zone", "ch-dk-2=" + d.zones["ch-dk-2"], "--zone", "at-vie-1=" + d.zones["at-vie-1"]}
	if d.tls {
		args = append(args, "--tls")
	}
	d.proc = startProc(t, []string{"SOS_ROOT_API_KEY=" + rootKey, "SOS_ROOT_API_SECRET=" + rootSecret}, args...)
	for _, z := range d.zones {
		waitHTTP(t, d.scheme()+"://"+z+"/", d.proc)
	}
}

// requireTool finds a system program, skipping the test without it (failing
// when SOS_REQUIRE_ALL=1).
func requireTool(t testing.TB, path, pkg string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("SOS_REQUIRE_ALL") == "1" {
			t.Fatalf("%s is missing (Debian package %s) and SOS_REQUIRE_ALL=1", path, pkg)
		}
		t.Skipf("%s is not installed (Debian package %s): skipping", path, pkg)
	}
	return path
}

// run runs a command and returns its standard output, failing the test on
// a non-zero exit.
func run(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

// cleanEnv is the environment without AWS_CA_BUNDLE (it breaks the AWS
// tools here) plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "RCLONE_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
