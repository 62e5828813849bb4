package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sos/internal/server/repltest"
)

// The seed's examples and issue 4's "Show", over real processes: `sosd
// control` and two `sosd zone`.

// TestProcessLeaderFollower is the seed's first example: role from
// policy.json (API v2), my-source in ch-dk-2, my-destination in at-vie-1,
// config.json, upload, list both, COMPLETED and REPLICA; over plain HTTP
// and over HTTPS.
func TestProcessLeaderFollower(t *testing.T) { bothWires(t, testProcessLeaderFollower) }

func testProcessLeaderFollower(t *testing.T, w *wire) {
	c := startCluster(t, clusterOptions{Wire: w}, "ch-dk-2", "at-vie-1")
	src, dst := c.zones["ch-dk-2"], c.zones["at-vie-1"]
	ctx := context.Background()

	policy := seedPolicy("my-source", "my-destination")
	role := c.createRole("replication-my-source-my-destination", policy)
	createVersionedBucket(t, src, "my-source")
	createVersionedBucket(t, dst, "my-destination")
	config := seedConfig(role, "vie1-follower", "my-destination")
	setReplication(t, src, "my-source", config)

	files := map[string]string{"config.json": config, "policy.json": policy}
	ids := map[string]string{}
	for name, body := range files {
		ids[name] = mustPut(t, src.s3(), "my-source", name, []byte(body))
	}

	list := func(z *zoneProc, bucket string) map[string]int64 {
		out, err := z.s3().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		m := map[string]int64{}
		for _, o := range out.Contents {
			m[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
		return m
	}
	eventuallyConverged(t, 30*time.Second, src, "my-source", dst, "my-destination")
	ls, ld := list(src, "my-source"), list(dst, "my-destination")
	if fmt.Sprint(ls) != fmt.Sprint(ld) || len(ls) != 2 || ls["config.json"] != int64(len(config)) {
		t.Fatalf("listings differ: my-source %v, my-destination %v", ls, ld)
	}
	for name := range files {
		sst, setag, sv := headStatus(t, src, "my-source", name, "")
		dstt, detag, dv := headStatus(t, dst, "my-destination", name, "")
		if sst != "COMPLETED" || dstt != "REPLICA" {
			t.Errorf("%s: source %s, destination %s; want COMPLETED and REPLICA", name, sst, dstt)
		}
		if sv != ids[name] || dv != ids[name] || setag != detag {
			t.Errorf("%s: version %s/%s (put %s), ETag %s/%s", name, sv, dv, ids[name], setag, detag)
		}
		got, err := dst.s3().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("my-destination"), Key: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if readAll(t, got.Body) != files[name] {
			t.Errorf("%s reads back different on the destination", name)
		}
	}

	// DeleteMarkerReplication is Enabled in config.json: a delete marker
	// replicates with its version ID.
	del, err := src.s3().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("my-source"), Key: aws.String("policy.json")})
	if err != nil {
		t.Fatal(err)
	}
	eventuallyConverged(t, 30*time.Second, src, "my-source", dst, "my-destination")
	if l := list(dst, "my-destination"); len(l) != 1 {
		t.Fatalf("after the delete marker, my-destination lists %v", l)
	}
	found := false
	for _, v := range versions(t, dst, "my-destination") {
		found = found || (v.DeleteMarker && v.VersionID == aws.ToString(del.VersionId))
	}
	if !found {
		t.Fatalf("the delete marker %s is not on the destination", aws.ToString(del.VersionId))
	}
	if n := metric(t, src, "sos_replication_replicated_operations_total", `bucket="my-source"`); n < 3 {
		t.Errorf("sos_replication_replicated_operations_total = %v, want >= 3", n)
	}
}

func readAll(t *testing.T, r interface {
	Read([]byte) (int, error)
	Close() error
}) string {
	t.Helper()
	defer r.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// setupBidi makes the seed's second example: roles from a-b.json and
// b-a.json, bucket-a in ch-dk-2, bucket-b in at-vie-1, conf-a and conf-b.
func setupBidi(t testing.TB, c *procCluster) (a, b *zoneProc) {
	t.Helper()
	a, b = c.zones["ch-dk-2"], c.zones["at-vie-1"]
	ab := c.createRole("replication-bucket-a-bucket-b", seedPolicy("bucket-a", "bucket-b"))
	ba := c.createRole("replication-bucket-b-bucket-a", seedPolicy("bucket-b", "bucket-a"))
	createVersionedBucket(t, a, "bucket-a")
	createVersionedBucket(t, b, "bucket-b")
	setReplication(t, a, "bucket-a", seedConfig(ab, "to-bucket-b", "bucket-b"))
	setReplication(t, b, "bucket-b", seedConfig(ba, "to-bucket-a", "bucket-a"))
	return a, b
}

// oneVersionEach checks that every key has exactly one version in bucket.
func oneVersionEach(t testing.TB, z *zoneProc, bucket string, want []string) {
	t.Helper()
	keys, n := keysOf(versions(t, z, bucket))
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Fatalf("%s lists %v, want %v", bucket, keys, want)
	}
	for k, c := range n {
		if c != 1 {
			t.Fatalf("%s/%s has %d versions, want exactly 1 (a replication loop?)", bucket, k, c)
		}
	}
}

// TestProcessBidirectional is the seed's second example: writes on both
// sides appear on both, exactly once, and 10 s of quiet later nothing has
// looped; over plain HTTP and over HTTPS.
func TestProcessBidirectional(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 10 s of quiet: skipped with -short")
	}
	bothWires(t, testProcessBidirectional)
}

func testProcessBidirectional(t *testing.T, w *wire) {
	c := startCluster(t, clusterOptions{Wire: w}, "ch-dk-2", "at-vie-1")
	a, b := setupBidi(t, c)

	want := []string{"a-b.json", "b-a.json", "conf-a.json", "conf-b.json"}
	mustPut(t, a.s3(), "bucket-a", "b-a.json", []byte(seedPolicy("bucket-b", "bucket-a")))
	mustPut(t, a.s3(), "bucket-a", "conf-a.json", []byte(seedConfig("r", "to-bucket-b", "bucket-b")))
	mustPut(t, b.s3(), "bucket-b", "a-b.json", []byte(seedPolicy("bucket-a", "bucket-b")))
	mustPut(t, b.s3(), "bucket-b", "conf-b.json", []byte(seedConfig("r", "to-bucket-a", "bucket-a")))

	eventuallyConverged(t, 30*time.Second, a, "bucket-a", b, "bucket-b")
	eventuallyConverged(t, 30*time.Second, b, "bucket-b", a, "bucket-a")
	oneVersionEach(t, a, "bucket-a", want)
	oneVersionEach(t, b, "bucket-b", want)

	check := func() {
		for _, k := range want {
			origin, replica := a, b
			ob, rb := "bucket-a", "bucket-b"
			if k == "a-b.json" || k == "conf-b.json" {
				origin, replica, ob, rb = b, a, "bucket-b", "bucket-a"
			}
			os, oe, ov := headStatus(t, origin, ob, k, "")
			rs, re, rv := headStatus(t, replica, rb, k, "")
			if os != "COMPLETED" || rs != "REPLICA" || oe != re || ov != rv {
				t.Fatalf("%s: origin %s %s %s, replica %s %s %s", k, os, oe, ov, rs, re, rv)
			}
		}
	}
	check()
	before := metric(t, a, "sos_replication_replicated_operations_total") + metric(t, b, "sos_replication_replicated_operations_total")

	time.Sleep(10 * time.Second) // quiet: a loop would keep writing
	oneVersionEach(t, a, "bucket-a", want)
	oneVersionEach(t, b, "bucket-b", want)
	check()
	after := metric(t, a, "sos_replication_replicated_operations_total") + metric(t, b, "sos_replication_replicated_operations_total")
	if before != 4 || after != before {
		t.Fatalf("replicated operations: %v after convergence, %v after 10 s of quiet; want 4 and 4", before, after)
	}
}

// TestProcessRoleWithoutPut: a role that may not put-object on the
// destination makes objects FAILED with AccessDenied and writes nothing;
// fixing the role (API v2) retries them by itself; a FAILED caused by the
// destination (bucket gone, then back) is retried on demand. Over plain
// HTTP and over HTTPS.
func TestProcessRoleWithoutPut(t *testing.T) { bothWires(t, testProcessRoleWithoutPut) }

func testProcessRoleWithoutPut(t *testing.T, w *wire) {
	c := startCluster(t, clusterOptions{Wire: w}, "ch-dk-2", "at-vie-1")
	src, dst := c.zones["ch-dk-2"], c.zones["at-vie-1"]
	ctx := context.Background()

	noPut := `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
{"action":"allow","expression":"parameters.bucket == 'my-source' && operation == 'get-object'"},
{"action":"allow","expression":"parameters.bucket == 'my-destination' && operation == 'list-objects'"}]}}}`
	role := c.createRole("replication-without-put", noPut)
	createVersionedBucket(t, src, "my-source")
	createVersionedBucket(t, dst, "my-destination")
	setReplication(t, src, "my-source", seedConfig(role, "vie1-follower", "my-destination"))

	keys := []string{"one.txt", "two.txt", "three.txt"}
	for _, k := range keys {
		mustPut(t, src.s3(), "my-source", k, []byte("body of "+k))
	}
	repltest.Eventually(t, 30*time.Second, func() (bool, string) {
		rep := replStatus(t, src, "my-source")
		_, failed := rep.pending()
		return failed == int64(len(keys)), fmt.Sprintf("status %+v", rep)
	})
	rep := replStatus(t, src, "my-source")
	for _, f := range rep.Rules[0].Failures {
		if !strings.HasPrefix(f.Reason, "AccessDenied") {
			t.Errorf("%s failed with %q, want AccessDenied", f.Key, f.Reason)
		}
	}
	for _, k := range keys {
		if st, _, _ := headStatus(t, src, "my-source", k, ""); st != "FAILED" {
			t.Errorf("%s is %s, want FAILED", k, st)
		}
	}
	if vs := versions(t, dst, "my-destination"); len(vs) != 0 {
		t.Fatalf("the destination holds %d versions; a refused role must write nothing", len(vs))
	}
	if n := metric(t, src, "sos_replication_failures_total", `reason="AccessDenied"`); n < float64(len(keys)) {
		t.Errorf("failures_total{reason=AccessDenied} = %v", n)
	}

	// Fix the role: the zone notices the change and retries by itself.
	c.setRolePolicy(role, seedPolicy("my-source", "my-destination"))
	eventuallyConverged(t, 30*time.Second, src, "my-source", dst, "my-destination")
	for _, k := range keys {
		if st, _, _ := headStatus(t, src, "my-source", k, ""); st != "COMPLETED" {
			t.Errorf("%s is %s after the role was fixed, want COMPLETED", k, st)
		}
	}

	// A failure on the destination's side that no IAM or configuration
	// change fixes: the destination bucket is gone (NoSuchBucket). It stays
	// FAILED until retried on demand, after the bucket is back.
	role2 := c.createRole("replication-src2-dst2", seedPolicy("src2", "dst2"))
	createVersionedBucket(t, src, "src2")
	createVersionedBucket(t, dst, "dst2")
	setReplication(t, src, "src2", seedConfig(role2, "to-dst2", "dst2"))
	if _, err := dst.s3().DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("dst2")}); err != nil {
		t.Fatal(err)
	}
	mustPut(t, src.s3(), "src2", "four.txt", []byte("four"))
	repltest.Eventually(t, 30*time.Second, func() (bool, string) {
		rep := replStatus(t, src, "src2")
		_, failed := rep.pending()
		return failed == 1, fmt.Sprintf("status %+v", rep)
	})
	if r := replStatus(t, src, "src2").Rules[0].Failures[0].Reason; !strings.HasPrefix(r, "NoSuchBucket") {
		t.Fatalf("four.txt failed with %q, want NoSuchBucket", r)
	}
	createVersionedBucket(t, dst, "dst2")
	// The source zone learns where dst2 lives (a redirect to at-vie-1).
	repltest.Eventually(t, 10*time.Second, func() (bool, string) {
		st, body := rawS3(t, src, http.MethodHead, "/dst2", nil)
		return st == http.StatusMovedPermanently, fmt.Sprintf("HEAD dst2 in ch-dk-2: %d %s", st, body)
	})
	if st, _, _ := headStatus(t, src, "src2", "four.txt", ""); st != "FAILED" {
		t.Fatalf("four.txt is %s before the retry, want FAILED", st)
	}
	st, body := rawS3(t, src, http.MethodPost, "/src2?sos-replication-retry", nil)
	if st != http.StatusOK || !strings.Contains(string(body), `"retried":1`) {
		t.Fatalf("POST ?sos-replication-retry: %d %s", st, body)
	}
	eventuallyConverged(t, 30*time.Second, src, "src2", dst, "dst2")
	if st, _, _ := headStatus(t, src, "src2", "four.txt", ""); st != "COMPLETED" {
		t.Fatalf("four.txt is %s after the retry, want COMPLETED", st)
	}
}
