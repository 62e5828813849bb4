package pebblemeta

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sos/internal/meta"
)

// The crash test re-executes this test binary as a child that writes with
// concurrent Updates and prints "ack <id>" after each Update returns. The
// parent SIGKILLs it mid-stream and checks that every acknowledged record
// survived intact.
const (
	crashDirEnv   = "SOS_PEBBLEMETA_CRASH_DIR"
	crashRoundEnv = "SOS_PEBBLEMETA_CRASH_ROUND"
	crashBucket   = "crash"
	crashWorkers  = 16
	crashMaxAcks  = 200000 // the child stops by itself after this many
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		os.Exit(crashChild(dir, os.Getenv(crashRoundEnv)))
	}
	os.Exit(m.Run())
}

// crashData is the 4 KiB inline payload of record id.
func crashData(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return bytes.Repeat(sum[:], 4096/len(sum))
}

func crashVersion(id string, stamp uint64) meta.Version {
	data := crashData(id)
	return meta.Version{
		Bucket: crashBucket, Key: "k/" + id, VersionID: id, Stamp: stamp,
		LastModified: time.Unix(int64(stamp), 0).UTC(), Size: int64(len(data)),
		ETag: fmt.Sprintf("%x", sha256.Sum256(data)), Inline: data,
		Attrs: meta.Attrs{ContentType: "application/octet-stream", UserMeta: map[string]string{"id": id}},
	}
}

func crashOutbox(id string) meta.OutboxEntry {
	return meta.OutboxEntry{ID: id, Bucket: crashBucket, Key: "k/" + id, VersionID: id, Op: meta.OpPut,
		DestBucket: "dst", State: meta.OutboxPending}
}

// crashChild writes records until killed; it returns an exit code.
func crashChild(dir, round string) int {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r, _ := strconv.Atoi(round)
	var next atomic.Uint64
	var outMu sync.Mutex
	var wg sync.WaitGroup
	failed := make(chan error, crashWorkers)
	for range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > crashMaxAcks {
					return
				}
				id := fmt.Sprintf("r%d-%07d", r, n)
				err := s.Update(context.Background(), func(tx meta.Tx) error {
					if err := tx.PutVersion(context.Background(), crashVersion(id, uint64(r)<<32|n)); err != nil {
						return err
					}
					return tx.PutOutbox(context.Background(), crashOutbox(id))
				})
				if err != nil {
					failed <- err
					return
				}
				outMu.Lock()
				_, err = os.Stdout.Write([]byte("ack " + id + "\n"))
				outMu.Unlock()
				if err != nil {
					failed <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(failed)
	for err := range failed {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	dir := t.TempDir()
	var acked []string
	for round := 1; round <= 3; round++ {
		killAfter := 100 * round
		ids, stderr := runCrashChild(t, dir, round, killAfter)
		if len(ids) < killAfter {
			t.Fatalf("round %d: child acknowledged %d records before dying, want >= %d; stderr:\n%s", round, len(ids), killAfter, stderr)
		}
		if strings.TrimSpace(stderr) != "" {
			t.Errorf("round %d: child wrote to stderr:\n%s", round, stderr)
		}
		acked = append(acked, ids...)
		checkCrashStore(t, dir, acked)
	}
}

// runCrashChild starts the child, SIGKILLs it once it has acknowledged
// killAfter records, and returns every acknowledged ID it printed.
func runCrashChild(t *testing.T, dir string, round, killAfter int) ([]string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	killed := false
	br := bufio.NewReader(out)
	for {
		// A line without its newline (cut by the kill) is not an ack.
		line, err := br.ReadString('\n')
		if err != nil {
			break
		}
		id, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "ack ")
		if !ok {
			t.Errorf("child printed %q", line)
			continue
		}
		ids = append(ids, id)
		if !killed && len(ids) >= killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !killed || !errors.As(err, &exitErr) {
		t.Fatalf("child ended without being killed: %v; stderr:\n%s", err, stderr.String())
	}
	return ids, stderr.String()
}

func checkCrashStore(t *testing.T, dir string, acked []string) {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, id := range acked {
		v, err := s.Version(ctx, crashBucket, "k/"+id, id)
		if err != nil {
			t.Fatalf("acknowledged record %s: %v", id, err)
		}
		if !bytes.Equal(v.Inline, crashData(id)) || v.ETag != crashVersion(id, v.Stamp).ETag || v.Attrs.UserMeta["id"] != id {
			t.Fatalf("acknowledged record %s is damaged", id)
		}
		e, err := s.OutboxEntry(ctx, id)
		if err != nil || e.Key != "k/"+id || e.VersionID != id {
			t.Fatalf("outbox entry of acknowledged record %s: %+v, %v", id, e, err)
		}
	}
	// Every record that is there (acknowledged or not) is whole: its
	// version and outbox entry were committed together.
	n := 0
	err = s.ScanVersions(ctx, meta.ScanOptions{Bucket: crashBucket, WithData: true}, func(v meta.Version) error {
		n++
		if !bytes.Equal(v.Inline, crashData(v.VersionID)) {
			return fmt.Errorf("record %s is damaged", v.VersionID)
		}
		if _, err := s.OutboxEntry(ctx, v.VersionID); err != nil {
			return fmt.Errorf("record %s without its outbox entry: %w", v.VersionID, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < len(acked) {
		t.Fatalf("%d records after reopen, fewer than the %d acknowledged", n, len(acked))
	}
	t.Logf("%d acknowledged, %d present after kill", len(acked), n)
}
