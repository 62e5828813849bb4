package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sos/internal/s3client"
)

// mountTmpfs mounts a tmpfs of size (mount's size= option) on dir until
// the test ends. It needs root: without it, or when the mount fails, the
// test is skipped (and fails as root under SOS_REQUIRE_ALL=1).
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		if os.Geteuid() == 0 && os.Getenv("SOS_REQUIRE_ALL") == "1" {
			t.Fatalf("mounting a %s tmpfs on %s as root: %v (SOS_REQUIRE_ALL=1)", size, dir, err)
		}
		t.Skipf("cannot mount a %s tmpfs on %s (it needs root): %v", size, dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting the tmpfs on %s: %v", dir, err)
		}
	})
}

// fillDisk writes path until the file system is full, then gives back
// keep bytes (0: none), and returns the file's size.
func fillDisk(t *testing.T, path string, keep int64) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{0xa5}, 64<<10)
	var n int64
	for {
		m, err := f.Write(chunk)
		n += int64(m)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	n = max(0, n-keep)
	if err := f.Truncate(n); err != nil {
		t.Fatal(err)
	}
	return n
}

// putOutcome is what the PUTs of a full-disk run saw.
type putOutcome struct {
	acked   map[string][32]byte // key → SHA-256 of what was acknowledged
	refused []string            // the messages of the 503s
	broken  int                 // requests that got no HTTP answer (the zone had stopped)
}

// putUntilRefused runs workers concurrent PUTs of size-byte objects
// (keys prefix-w-i) until each worker has had `refusals` answers in a row
// that were not successes, or gave up after limit PUTs. Every request must
// answer within a few seconds (a hang fails the test; the bound is a
// generous one for an answer at all, not a speed): 200, or 503
// ServiceUnavailable with words. A request that gets no HTTP answer is
// allowed only when stopped says the zone stopped (it may wait for it).
func putUntilRefused(t *testing.T, cl *s3.Client, bucket, prefix string, workers, size, refusals, limit int, stopped func() bool) putOutcome {
	t.Helper()
	out := putOutcome{acked: map[string][32]byte{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(size)))
			inRow := 0
			for i := 0; i < limit && inRow < refusals; i++ {
				key := fmt.Sprintf("%s-%02d-%05d", prefix, w, i)
				body := make([]byte, size)
				for j := range body {
					body[j] = byte(rng.Uint32())
				}
				ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
				_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
					Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(size))})
				timedOut := ctx.Err() != nil
				cancel()
				e := s3client.ErrorOf(err)
				gone := err != nil && e == nil && !timedOut && stopped()
				mu.Lock()
				switch {
				case err == nil:
					out.acked[key] = sha256.Sum256(body)
					inRow = 0
				case timedOut:
					t.Errorf("PUT %s got no answer within 8 s (a hang): %v", key, err)
					inRow = refusals
				case e != nil && e.StatusCode == http.StatusServiceUnavailable && e.Code == "ServiceUnavailable" && len(e.Message) > 40:
					out.refused = append(out.refused, e.Message)
					inRow++
				case e != nil:
					t.Errorf("PUT %s: HTTP %d %s %q, want 200 or 503 ServiceUnavailable in words", key, e.StatusCode, e.Code, e.Message)
					inRow = refusals
				case gone:
					out.broken++
					inRow = refusals
				default:
					t.Errorf("PUT %s: no HTTP answer while the zone runs: %v", key, err)
					inRow = refusals
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

// readBack fails unless every acknowledged object reads back as it was.
func readBack(t *testing.T, cl *s3.Client, bucket string, acked map[string][32]byte) {
	t.Helper()
	ctx := context.Background()
	for key, sum := range acked {
		o, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Errorf("acknowledged %s: %v", key, err)
			continue
		}
		b, err := io.ReadAll(o.Body)
		o.Body.Close()
		if err != nil || sha256.Sum256(b) != sum {
			t.Errorf("acknowledged %s reads back other bytes (%d read, err %v)", key, len(b), err)
		}
	}
}

// health is a zone's GET /health: status and body.
func health(t *testing.T, z *zoneProc) (int, string) {
	t.Helper()
	resp, err := z.wire.http().Get(z.url() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitExit waits up to limit for p to end and returns its exit code.
func waitExit(t *testing.T, p *proc, limit time.Duration, what string) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		t.Fatalf("%s: the zone did not stop within %v:\n%s", what, limit, p.output())
		return 0
	}
}

// TestDiskFullZone runs a `sosd zone` whose data folder is a 40 MiB tmpfs
// under concurrent PUTs until the disk is full, twice:
//
//  1. The zone starts on a disk that a filler file leaves with almost no
//     room, and small (inline) PUTs fill the write-ahead log: the metadata
//     store fails, the PUTs answer 503 in words, and the zone stops by
//     itself with a non-zero exit and the reason in its log. Started again
//     once the filler is removed, it has every acknowledged object.
//  2. Blobs fill the disk (the metadata store keeps the room Pebble
//     reserves for its write-ahead log): PUTs answer 503 in words, the
//     zone keeps serving and says so on /health and /metrics, and writes
//     resume without a restart once deleting objects frees space.
//
// Every request answers (none hangs), and SIGTERM stops the zone within
// 10 s.
func TestDiskFullZone(t *testing.T) {
	data := filepath.Join(t.TempDir(), "zone")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, data, "40m")
	filler := filepath.Join(data, "filler")
	fillDisk(t, filler, 512<<10)
	const name = "ch-dk-2"
	c := startCluster(t, clusterOptions{ZoneData: map[string]string{name: data}}, name)
	z := c.zones[name]
	cl := z.s3()
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("full")}); err != nil {
		t.Fatal(err)
	}
	if st, body := health(t, z); st != http.StatusOK || body != "ok\n" {
		t.Fatalf("GET /health of a fresh zone: %d %q", st, body)
	}
	// A request without an answer is allowed when the zone stops within
	// 10 s of it.
	stopped := func() bool {
		select {
		case <-z.done:
			return true
		case <-time.After(10 * time.Second):
			return false
		}
	}

	// 1. The write-ahead log fills: the metadata store fails.
	small := putUntilRefused(t, cl, "full", "small", 8, 4<<10, 3, 2000, stopped)
	t.Logf("inline: %d PUTs acknowledged, %d refused, %d without an answer after the zone stopped",
		len(small.acked), len(small.refused), small.broken)
	if t.Failed() {
		t.FailNow()
	}
	if len(small.refused) == 0 {
		t.Fatalf("no PUT was refused: the write-ahead log never filled (%d acknowledged)", len(small.acked))
	}
	for _, m := range small.refused {
		if !strings.Contains(m, "metadata store failed") || !strings.Contains(m, "no space left on device") {
			t.Errorf("a refused PUT says %q, want the failed store and its cause in words", m)
			break
		}
	}
	if code := waitExit(t, z.proc, 10*time.Second, "after the metadata store failed"); code == 0 {
		t.Errorf("the zone whose store failed exited 0, want non-zero for its supervisor")
	}
	if out := z.output(); !strings.Contains(out, "stopping the zone: its metadata store failed") {
		t.Errorf("the zone's log does not say why it stopped:\n%s", out)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	z.start(t)
	cl = z.s3()
	readBack(t, cl, "full", small.acked)
	if st, body := health(t, z); st != http.StatusOK {
		t.Errorf("GET /health after the restart: %d %q", st, body)
	}

	// 2. Blobs fill the disk.
	big := putUntilRefused(t, cl, "full", "big", 8, 256<<10, 3, 400, stopped)
	t.Logf("blobs: %d PUTs acknowledged, %d refused", len(big.acked), len(big.refused))
	if t.Failed() {
		t.FailNow()
	}
	if len(big.refused) == 0 || len(big.acked) == 0 {
		t.Fatalf("%d acknowledged, %d refused: the disk never filled", len(big.acked), len(big.refused))
	}
	select {
	case <-z.done:
		t.Fatalf("the zone stopped on a disk full of blobs:\n%s", z.output())
	default:
	}
	for _, m := range big.refused {
		if !strings.Contains(m, "disk is full") || !strings.Contains(m, "no space left on device") {
			t.Errorf("a refused PUT says %q, want the full disk in words", m)
			break
		}
	}
	if st, body := health(t, z); st != http.StatusServiceUnavailable || !strings.Contains(body, "writes are refused") {
		t.Errorf("GET /health on a full disk: %d %q, want 503 saying writes are refused", st, body)
	}
	if v := metric(t, z, "sos_disk_full"); v != 1 {
		t.Errorf("sos_disk_full = %v on a full disk, want 1", v)
	}
	if v := metric(t, z, "sos_writes_refused_total", `reason="no_space"`); v < float64(len(big.refused)) {
		t.Errorf("sos_writes_refused_total{reason=no_space} = %v, %d PUTs were refused", v, len(big.refused))
	}
	if v := metric(t, z, "sos_store_failed"); v != 0 {
		t.Errorf("sos_store_failed = %v, want 0: the metadata store kept working", v)
	}
	readBack(t, cl, "full", big.acked)
	// Deleting objects frees space: writes resume, no restart.
	n := 0
	for key := range big.acked {
		if n++; n > len(big.acked)/2 {
			break
		}
		if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("full"), Key: aws.String(key)}); err != nil {
			t.Fatalf("DELETE %s on a full disk: %v", key, err)
		}
		delete(big.acked, key)
	}
	more := putUntilRefused(t, cl, "full", "again", 2, 256<<10, 1, 1, stopped)
	if len(more.acked) != 2 {
		t.Fatalf("blob PUTs after deleting objects: %d of 2 acknowledged, refused: %v", len(more.acked), more.refused)
	}
	if st, body := health(t, z); st != http.StatusOK {
		t.Errorf("GET /health once writes resumed: %d %q", st, body)
	}
	if v := metric(t, z, "sos_disk_full"); v != 0 {
		t.Errorf("sos_disk_full = %v once writes resumed, want 0", v)
	}
	z.proc.cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, z.proc, 10*time.Second, "SIGTERM"); code != 0 {
		t.Errorf("the zone exited %d on SIGTERM, want 0", code)
	}

	// Everything acknowledged is there after a restart.
	z.start(t)
	cl = z.s3()
	readBack(t, cl, "full", small.acked)
	readBack(t, cl, "full", big.acked)
	readBack(t, cl, "full", more.acked)
}
