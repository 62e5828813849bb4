package replication_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"sos/internal/meta"
	"sos/internal/s3client"
	"sos/internal/server/repltest"
)

const (
	roleLeader = "6f00a21e-a535-4286-86c5-e81eeab3b4ff"
	roleAB     = "91390068-c386-4d9d-b0f1-951e2baa818e"
	roleBA     = "e23c886b-8091-4adc-b567-7bf796bed37b"
	waitLong   = 90 * time.Second
)

func policy(src, dst string) string {
	return fmt.Sprintf(`{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
	 {"action":"allow","expression":"parameters.bucket == '%s' && operation == 'get-object'"},
	 {"action":"allow","expression":"parameters.bucket == '%s' && operation.startsWith('put-object')"}]}}}`, src, dst)
}

func config(role, ruleID, dst string, deleteMarkers bool) string {
	dm := "Disabled"
	if deleteMarkers {
		dm = "Enabled"
	}
	return fmt.Sprintf(`{"Role":%q,"Rules":[{"ID":%q,"Priority":1,"Filter":{"Prefix":""},"Status":"Enabled",
	 "DeleteMarkerReplication":{"Status":%q},"Destination":{"Bucket":%q}}]}`, role, ruleID, dm, dst)
}

// pair sets up src (zone a) replicating to dst (zone b) under role.
func pair(t *testing.T, c *repltest.Cluster, a *repltest.Zone, src string, b *repltest.Zone, dst, role string, deleteMarkers bool) {
	t.Helper()
	ctx := context.Background()
	if err := a.CreateVersionedBucket(ctx, src); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateVersionedBucket(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if err := a.SetReplication(ctx, src, config(role, "to-"+dst, dst, deleteMarkers)); err != nil {
		t.Fatal(err)
	}
}

func put(t testing.TB, z *repltest.Zone, bucket, key, body string, opt func(*s3.PutObjectInput)) *s3.PutObjectOutput {
	t.Helper()
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}
	if opt != nil {
		opt(in)
	}
	out, err := z.Client().PutObject(context.Background(), in)
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return out
}

func head(z *repltest.Zone, bucket, key, version string) (*s3.HeadObjectOutput, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	return z.Client().HeadObject(context.Background(), in)
}

func waitStatus(t *testing.T, z *repltest.Zone, bucket, key, version, want string) *s3.HeadObjectOutput {
	t.Helper()
	var last *s3.HeadObjectOutput
	repltest.Eventually(t, waitLong, func() (bool, string) {
		h, err := head(z, bucket, key, version)
		if err != nil {
			return false, err.Error()
		}
		last = h
		return string(h.ReplicationStatus) == want, fmt.Sprintf("%s/%s status %q, want %s", bucket, key, h.ReplicationStatus, want)
	})
	return last
}

func waitNoDiff(t *testing.T, a *repltest.Zone, ba string, b *repltest.Zone, bb string) {
	t.Helper()
	repltest.Eventually(t, waitLong, func() (bool, string) {
		d, err := repltest.Diff(context.Background(), a, ba, b, bb)
		if err != nil {
			return false, err.Error()
		}
		if len(d) > 0 {
			return false, fmt.Sprintf("%d differences, first: %s", len(d), d[0])
		}
		return true, ""
	})
}

func outboxLen(t testing.TB, z *repltest.Zone) int {
	n := 0
	if err := z.Meta().ScanOutbox(context.Background(), "", func(meta.OutboxEntry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitOutboxEmpty(t *testing.T, zs ...*repltest.Zone) {
	t.Helper()
	repltest.Eventually(t, waitLong, func() (bool, string) {
		for _, z := range zs {
			if n := outboxLen(t, z); n > 0 {
				return false, fmt.Sprintf("zone %s: %d outbox entries", z.Name, n)
			}
		}
		return true, ""
	})
}

func versions(t testing.TB, z *repltest.Zone, bucket string) []types.ObjectVersion {
	out, err := z.Client().ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Versions
}

func TestLeaderFollower(t *testing.T) {
	c := repltest.NewCluster(t)
	c.SetRole(roleLeader, "replication-my-source-my-destination", policy("my-source", "my-destination"))
	a, b := c.AddZone("ch-dk-2", repltest.ZoneOptions{}), c.AddZone("at-vie-1", repltest.ZoneOptions{})
	pair(t, c, a, "my-source", b, "my-destination", roleLeader, true)

	ctx := context.Background()
	p1 := put(t, a, "my-source", "config.json", `{"Role":"x"}`, func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("application/json")
		in.CacheControl = aws.String("max-age=60")
		in.Metadata = map[string]string{"owner": "team-a"}
		in.Tagging = aws.String("env=prod&tier=gold")
	})
	p2 := put(t, a, "my-source", "policy.json", `{"default-service-strategy":"deny"}`, nil)

	for key, p := range map[string]*s3.PutObjectOutput{"config.json": p1, "policy.json": p2} {
		src := waitStatus(t, a, "my-source", key, "", meta.ReplCompleted)
		dst, err := head(b, "my-destination", key, "")
		if err != nil {
			t.Fatal(err)
		}
		if dst.ReplicationStatus != "REPLICA" {
			t.Errorf("%s: destination status %q, want REPLICA", key, dst.ReplicationStatus)
		}
		if aws.ToString(dst.VersionId) != aws.ToString(p.VersionId) || aws.ToString(src.VersionId) != aws.ToString(p.VersionId) {
			t.Errorf("%s: version IDs source %s destination %s put %s", key, aws.ToString(src.VersionId), aws.ToString(dst.VersionId), aws.ToString(p.VersionId))
		}
		if aws.ToString(dst.ETag) != aws.ToString(src.ETag) || !aws.ToTime(dst.LastModified).Equal(aws.ToTime(src.LastModified)) {
			t.Errorf("%s: ETag/last-modified differ: %s %v vs %s %v", key, aws.ToString(src.ETag), src.LastModified, aws.ToString(dst.ETag), dst.LastModified)
		}
		if aws.ToString(dst.ContentType) != aws.ToString(src.ContentType) || aws.ToString(dst.CacheControl) != aws.ToString(src.CacheControl) {
			t.Errorf("%s: content headers differ", key)
		}
		if fmt.Sprint(dst.Metadata) != fmt.Sprint(src.Metadata) {
			t.Errorf("%s: metadata %v vs %v", key, src.Metadata, dst.Metadata)
		}
	}
	tg, err := b.Client().GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("my-destination"), Key: aws.String("config.json")})
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.TagSet) != 2 {
		t.Errorf("destination tags %+v", tg.TagSet)
	}
	waitNoDiff(t, a, "my-source", b, "my-destination")

	// A tag change replicates as a tag change of the same version.
	_, err = a.Client().PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("my-source"), Key: aws.String("config.json"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}})
	if err != nil {
		t.Fatal(err)
	}
	repltest.Eventually(t, waitLong, func() (bool, string) {
		tg, err := b.Client().GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("my-destination"), Key: aws.String("config.json")})
		if err != nil {
			return false, err.Error()
		}
		return len(tg.TagSet) == 1 && aws.ToString(tg.TagSet[0].Value) == "dev", fmt.Sprintf("tags %+v", tg.TagSet)
	})

	repltest.Eventually(t, waitLong, func() (bool, string) {
		st, err := a.Replicator().Status(ctx, "my-source")
		if err != nil {
			return false, err.Error()
		}
		ok := len(st.Rules) == 1 && st.Rules[0].Completed == 2 && st.Rules[0].Pending == 0 &&
			st.Rules[0].Failed == 0 && st.Rules[0].Destination == "my-destination" && st.Rules[0].Status == "Enabled"
		return ok, fmt.Sprintf("status %+v", st)
	})
}

func TestBidirectional(t *testing.T) {
	c := repltest.NewCluster(t)
	c.SetRole(roleAB, "replication-bucket-a-bucket-b", policy("bucket-a", "bucket-b"))
	c.SetRole(roleBA, "replication-bucket-b-bucket-a", policy("bucket-b", "bucket-a"))
	a, b := c.AddZone("ch-dk-2", repltest.ZoneOptions{}), c.AddZone("at-vie-1", repltest.ZoneOptions{})
	ctx := context.Background()
	for _, x := range []struct {
		z    *repltest.Zone
		name string
	}{{a, "bucket-a"}, {b, "bucket-b"}} {
		if err := x.z.CreateVersionedBucket(ctx, x.name); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SetReplication(ctx, "bucket-a", config(roleAB, "to-bucket-b", "bucket-b", true)); err != nil {
		t.Fatal(err)
	}
	if err := b.SetReplication(ctx, "bucket-b", config(roleBA, "to-bucket-a", "bucket-a", true)); err != nil {
		t.Fatal(err)
	}
	put(t, a, "bucket-a", "b-a.json", policy("bucket-b", "bucket-a"), nil)
	put(t, a, "bucket-a", "conf-a.json", "conf a", nil)
	put(t, b, "bucket-b", "a-b.json", policy("bucket-a", "bucket-b"), nil)
	put(t, b, "bucket-b", "conf-b.json", "conf b", nil)
	waitNoDiff(t, a, "bucket-a", b, "bucket-b")
	waitOutboxEmpty(t, a, b)
	for _, x := range []struct {
		z    *repltest.Zone
		name string
	}{{a, "bucket-a"}, {b, "bucket-b"}} {
		vs := versions(t, x.z, x.name)
		if len(vs) != 4 {
			t.Fatalf("%s holds %d versions, want exactly 4 (one per key): %+v", x.name, len(vs), vs)
		}
	}
	if st, _ := head(a, "bucket-a", "a-b.json", ""); st == nil || st.ReplicationStatus != "REPLICA" {
		t.Errorf("a-b.json in bucket-a should be a REPLICA")
	}
}

func TestDeleteMarkers(t *testing.T) {
	c := repltest.NewCluster(t)
	c.SetRole(roleLeader, "dm", policy("src-dm", "dst-dm"))
	c.SetRole(roleAB, "nodm", policy("src-nodm", "dst-nodm"))
	a, b := c.AddZone("ch-dk-2", repltest.ZoneOptions{}), c.AddZone("at-vie-1", repltest.ZoneOptions{})
	pair(t, c, a, "src-dm", b, "dst-dm", roleLeader, true)
	pair(t, c, a, "src-nodm", b, "dst-nodm", roleAB, false)
	ctx := context.Background()
	for _, bk := range []string{"src-dm", "src-nodm"} {
		put(t, a, bk, "k", "v1", nil)
		v2 := put(t, a, bk, "k", "v2", nil)
		waitStatus(t, a, bk, "k", aws.ToString(v2.VersionId), meta.ReplCompleted)
		if _, err := a.Client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bk), Key: aws.String("k")}); err != nil {
			t.Fatal(err)
		}
		// A version-specific delete removes v2 here only.
		if _, err := a.Client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bk), Key: aws.String("k"), VersionId: v2.VersionId}); err != nil {
			t.Fatal(err)
		}
	}
	waitOutboxEmpty(t, a)
	dm := versionsAndMarkers(t, b, "dst-dm")
	nodm := versionsAndMarkers(t, b, "dst-nodm")
	if dm.markers != 1 || dm.versions != 2 {
		t.Errorf("dst-dm: %d markers %d versions, want the replicated marker and both versions", dm.markers, dm.versions)
	}
	if nodm.markers != 0 || nodm.versions != 2 {
		t.Errorf("dst-nodm: %d markers %d versions, want no marker and both versions", nodm.markers, nodm.versions)
	}
}

type counts struct{ versions, markers int }

func versionsAndMarkers(t *testing.T, z *repltest.Zone, bucket string) counts {
	out, err := z.Client().ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return counts{len(out.Versions), len(out.DeleteMarkers)}
}

func TestAccessDeniedThenFixAndRetry(t *testing.T) {
	c := repltest.NewCluster(t)
	c.SetRole(roleLeader, "get-only", `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
	 {"action":"allow","expression":"parameters.bucket == 'src' && operation == 'get-object'"}]}}}`)
	a, b := c.AddZone("ch-dk-2", repltest.ZoneOptions{}), c.AddZone("at-vie-1", repltest.ZoneOptions{})
	pair(t, c, a, "src", b, "dst", roleLeader, true)
	ctx := context.Background()
	for i := range 3 {
		put(t, a, "src", fmt.Sprintf("obj-%d", i), "data", nil)
	}
	for i := range 3 {
		waitStatus(t, a, "src", fmt.Sprintf("obj-%d", i), "", meta.ReplFailed)
	}
	if n := len(versions(t, b, "dst")); n != 0 {
		t.Fatalf("destination holds %d versions after AccessDenied", n)
	}
	st, err := a.Replicator().Status(ctx, "src")
	if err != nil {
		t.Fatal(err)
	}
	if st.Rules[0].Failed != 3 || len(st.Rules[0].Failures) != 3 || !strings.HasPrefix(st.Rules[0].Failures[0].Reason, "AccessDenied") {
		t.Fatalf("status %+v", st)
	}
	repltest.Eventually(t, waitLong, func() (bool, string) {
		n := metricSum(t, a, "sos_replication_failures_total")
		return n >= 3, fmt.Sprintf("failures_total: %v", n)
	})
	c.SetRole(roleLeader, "fixed", policy("src", "dst"))
	n, err := a.Replicator().RetryFailed(ctx, "src")
	if err != nil || n != 3 {
		t.Fatalf("RetryFailed = %d, %v", n, err)
	}
	for i := range 3 {
		waitStatus(t, a, "src", fmt.Sprintf("obj-%d", i), "", meta.ReplCompleted)
	}
	waitNoDiff(t, a, "src", b, "dst")

	// A role change retries on its own.
	c.SetRole(roleLeader, "broken", `{"default-service-strategy":"deny","services":{"sos":{"type":"deny"}}}`)
	put(t, a, "src", "later", "x", nil)
	waitStatus(t, a, "src", "later", "", meta.ReplFailed)
	c.SetRole(roleLeader, "fixed again", policy("src", "dst"))
	a.Replicator().OnRoleChange(ctx, roleLeader)
	waitStatus(t, a, "src", "later", "", meta.ReplCompleted)
}

func TestDestinationDownUnderWrites(t *testing.T) {
	c := repltest.NewCluster(t)
	c.SetRole(roleLeader, "r", policy("src", "dst"))
	a, b := c.AddZone("ch-dk-2", repltest.ZoneOptions{}), c.AddZone("at-vie-1", repltest.ZoneOptions{RequestTimeout: time.Second})
	pair(t, c, a, "src", b, "dst", roleLeader, true)
	put(t, a, "src", "before", "x", nil)
	waitStatus(t, a, "src", "before", "", meta.ReplCompleted)

	b.Proxy.SetMode(repltest.Refuse)
	for i := range 100 {
		put(t, a, "src", fmt.Sprintf("down/%03d", i), strings.Repeat("d", i), nil)
		if i == 50 {
			b.Proxy.SetMode(repltest.Blackhole)
		}
	}
	h, err := head(a, "src", "down/000", "")
	if err != nil || h.ReplicationStatus != "PENDING" {
		t.Fatalf("while the destination is down: %v %v", err, h)
	}
	b.Proxy.SetMode(repltest.Pass)
	waitNoDiff(t, a, "src", b, "dst")
	waitOutboxEmpty(t, a)
	waitStatus(t, a, "src", "down/099", "", meta.ReplCompleted)
}

func TestPartitionBidirectionalConverges(t *testing.T) {
	c := repltest.NewCluster(t)
	c.SetRole(roleAB, "ab", policy("bucket-a", "bucket-b"))
	c.SetRole(roleBA, "ba", policy("bucket-b", "bucket-a"))
	a := c.AddZone("ch-dk-2", repltest.ZoneOptions{RequestTimeout: time.Second})
	b := c.AddZone("at-vie-1", repltest.ZoneOptions{RequestTimeout: time.Second})
	ctx := context.Background()
	if err := a.CreateVersionedBucket(ctx, "bucket-a"); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateVersionedBucket(ctx, "bucket-b"); err != nil {
		t.Fatal(err)
	}
	if err := a.SetReplication(ctx, "bucket-a", config(roleAB, "ab", "bucket-b", true)); err != nil {
		t.Fatal(err)
	}
	if err := b.SetReplication(ctx, "bucket-b", config(roleBA, "ba", "bucket-a", true)); err != nil {
		t.Fatal(err)
	}
	a.Proxy.SetMode(repltest.Blackhole)
	b.Proxy.SetMode(repltest.Refuse)
	var wg sync.WaitGroup
	for _, x := range []struct {
		z    *repltest.Zone
		name string
	}{{a, "bucket-a"}, {b, "bucket-b"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				put(t, x.z, x.name, fmt.Sprintf("k%02d", i%10), fmt.Sprintf("%s-%d", x.z.Name, i), nil)
			}
			if _, err := x.z.Client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(x.name), Key: aws.String("k09")}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	a.Proxy.SetMode(repltest.Pass)
	b.Proxy.SetMode(repltest.Pass)
	waitOutboxEmpty(t, a, b)
	waitNoDiff(t, a, "bucket-a", b, "bucket-b")
	latest := func(z *repltest.Zone, bk string) map[string]string {
		out, err := z.Client().ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bk)})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, v := range out.Versions {
			if aws.ToBool(v.IsLatest) {
				m[aws.ToString(v.Key)] = aws.ToString(v.VersionId)
			}
		}
		for _, v := range out.DeleteMarkers {
			if aws.ToBool(v.IsLatest) {
				m[aws.ToString(v.Key)] = "marker:" + aws.ToString(v.VersionId)
			}
		}
		if n := len(out.Versions) + len(out.DeleteMarkers); n != 82 {
			t.Errorf("%s holds %d versions, want 82", bk, n)
		}
		return m
	}
	la, lb := latest(a, "bucket-a"), latest(b, "bucket-b")
	if fmt.Sprint(la) != fmt.Sprint(lb) || len(la) != 10 {
		t.Fatalf("newest versions differ:\n%v\n%v", la, lb)
	}
	conflicts := metricSum(t, a, "sos_replication_conflicts_total") + metricSum(t, b, "sos_replication_conflicts_total")
	if conflicts == 0 {
		t.Error("overlapping writes during the partition counted no conflict")
	}
	t.Logf("conflicts counted: %v", conflicts)
}

func TestSourceRestartLosesNothing(t *testing.T) {
	c := repltest.NewCluster(t)
	c.SetRole(roleLeader, "r", policy("src", "dst"))
	a, b := c.AddZone("ch-dk-2", repltest.ZoneOptions{}), c.AddZone("at-vie-1", repltest.ZoneOptions{})
	pair(t, c, a, "src", b, "dst", roleLeader, true)
	b.Proxy.SetMode(repltest.Refuse)
	for i := range 50 {
		put(t, a, "src", fmt.Sprintf("r/%02d", i), "payload", nil)
	}
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
	if n := outboxLen(t, a); n != 50 {
		t.Fatalf("after restart the outbox holds %d entries, want 50", n)
	}
	b.Proxy.SetMode(repltest.Pass)
	waitOutboxEmpty(t, a)
	waitNoDiff(t, a, "src", b, "dst")
}

func TestLargeObjectMultipart(t *testing.T) {
	c := repltest.NewCluster(t)
	c.SetRole(roleLeader, "r", policy("src", "dst"))
	a, b := c.AddZone("ch-dk-2", repltest.ZoneOptions{}), c.AddZone("at-vie-1", repltest.ZoneOptions{})
	pair(t, c, a, "src", b, "dst", roleLeader, true)
	data := make([]byte, 40<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := a.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("big.bin"),
		Body: bytes.NewReader(data), ContentType: aws.String("application/octet-stream")})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, a, "src", "big.bin", "", meta.ReplCompleted)
	g, err := b.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dst"), Key: aws.String("big.bin")})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, g.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	if n != int64(len(data)) || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("replica differs: %d bytes", n)
	}
	if aws.ToString(g.ETag) != aws.ToString(p.ETag) || aws.ToString(g.VersionId) != aws.ToString(p.VersionId) {
		t.Fatalf("replica identity: ETag %s/%s version %s/%s", aws.ToString(g.ETag), aws.ToString(p.ETag), aws.ToString(g.VersionId), aws.ToString(p.VersionId))
	}
	_ = s3client.HeaderReplicaETag
}

// metricSum adds up every series of a counter or gauge of z.
func metricSum(t testing.TB, z *repltest.Zone, name string) float64 {
	mf, err := z.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range mf {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// A destination whose versioning was suspended after the rule was set
// cannot keep the source's versions: replication fails with the reason
// instead of overwriting the destination's null version.
func TestDestinationSuspendedFails(t *testing.T) {
	c := repltest.NewCluster(t)
	c.SetRole(roleLeader, "leader", policy("src", "dst"))
	a, b := c.AddZone("ch-dk-2", repltest.ZoneOptions{}), c.AddZone("at-vie-1", repltest.ZoneOptions{})
	pair(t, c, a, "src", b, "dst", roleLeader, true)
	ctx := context.Background()
	_, err := b.Client().PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("dst"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	if err != nil {
		t.Fatal(err)
	}
	put(t, a, "src", "k", "data", nil)
	waitStatus(t, a, "src", "k", "", meta.ReplFailed)
	st, err := a.Replicator().Status(ctx, "src")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Rules) != 1 || len(st.Rules[0].Failures) != 1 || !strings.Contains(st.Rules[0].Failures[0].Reason, "versioning Enabled") {
		t.Fatalf("status %+v", st)
	}
	if n := len(versions(t, b, "dst")); n != 0 {
		t.Fatalf("the suspended destination holds %d versions", n)
	}
}

// An entry that lands behind the dispatcher's cursor (committed out of ID
// order) is found by the next full pass even while new writes keep waking
// the dispatcher: those wake-ups must not put the full pass off.
func TestEntryBehindCursorUnderSteadyWrites(t *testing.T) {
	c := repltest.NewCluster(t)
	c.SetRole(roleLeader, "leader", policy("src", "dst"))
	a := c.AddZone("ch-dk-2", repltest.ZoneOptions{RescanInterval: 300 * time.Millisecond})
	b := c.AddZone("at-vie-1", repltest.ZoneOptions{})
	ctx := context.Background()
	if err := a.CreateVersionedBucket(ctx, "src"); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateVersionedBucket(ctx, "dst"); err != nil {
		t.Fatal(err)
	}
	old := put(t, a, "src", "old", "written before the rule", nil) // no outbox entry: no rule yet
	if err := a.SetReplication(ctx, "src", config(roleLeader, "to-dst", "dst", true)); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a new write every 20 ms: the dispatcher is woken far more often than it rescans
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			put(t, a, "src", fmt.Sprintf("steady-%d", i), "x", nil)
			a.Replicator().Wake() // as the object service's OnQueued hook does after each write
		}
	}()
	defer func() { close(stop); <-done }()
	time.Sleep(200 * time.Millisecond) // the cursor is past the start by now
	err := a.Meta().Update(ctx, func(tx meta.Tx) error {
		return tx.PutOutbox(ctx, meta.OutboxEntry{ID: "0000000000000001", Bucket: "src", Key: "old",
			VersionID: aws.ToString(old.VersionId), Op: meta.OpPut, RuleID: "r", DestBucket: "dst", Role: roleLeader,
			CreatedAt: time.Now(), State: meta.OutboxPending, NextTry: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	repltest.Eventually(t, waitLong, func() (bool, string) {
		_, err := b.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("old"), VersionId: old.VersionId})
		return err == nil, fmt.Sprintf("old not on the destination: %v", err)
	})
}
