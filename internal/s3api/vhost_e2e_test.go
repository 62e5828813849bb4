package s3api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// vhostClient is an SDK client in virtual-host style on endpoint (a name
// under the zone's domain, with or without a port), every name dialled to
// the test server; hosts records the Host of each request.
type vhostClient struct {
	s3    *s3.Client
	hc    *http.Client
	base  string
	mu    sync.Mutex
	hosts []string
}

func (c *vhostClient) Do(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.hosts = append(c.hosts, req.URL.Host)
	c.mu.Unlock()
	return c.hc.Do(req)
}

func (e *env) vhostClient(endpoint string) *vhostClient {
	addr := e.srv.Listener.Addr().String()
	c := &vhostClient{base: endpoint, hc: &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}}
	c.s3 = e.client(rootKey, rootSecret, "", func(o *s3.Options) {
		o.UsePathStyle = false
		o.BaseEndpoint = aws.String(endpoint)
		o.HTTPClient = c
	})
	return c
}

// raw sends a root-signed request in virtual-host style for bucket.
func (c *vhostClient) raw(t *testing.T, method, bucket, target string) (*http.Response, []byte) {
	t.Helper()
	u := strings.Replace(c.base, "://", "://"+bucket+".", 1) + target
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(nil)
	ph := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", ph)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret}, req, ph, "s3", zone, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestVirtualHostEveryOperation sends every S3 operation sos serves through
// the SDK in virtual-host style, to a zone whose domain is configured
// without a port (as --domain s3.sos.test), with the port in the Host header
// and without it. The requests are signed over the Host header as sent, so
// they also show that SigV4 verifies that, port included.
func TestVirtualHostEveryOperation(t *testing.T) {
	e := newEnv(t, true)
	_, port, _ := net.SplitHostPort(e.srv.Listener.Addr().String())
	for _, tc := range []struct{ name, endpoint, bucket string }{
		{"with port", "https://s3.sos.test:" + port, "vh-port"},
		{"without port", "https://s3.sos.test", "vh-noport"},
		{"mixed case", "https://S3.Sos.TEST:" + port, "vh-case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.vhostClient(tc.endpoint)
			vhostOperations(t, e, c, tc.bucket)
			host := strings.ToLower(strings.TrimPrefix(tc.endpoint, "https://"))
			for i, h := range c.hosts {
				h = strings.ToLower(h)
				c.hosts[i] = h
				if h != host && h != tc.bucket+"."+host && h != "vh-tmp-"+tc.bucket+"."+host {
					t.Errorf("request to %s, want %s.%s (or %s for ListBuckets)", h, tc.bucket, host, host)
				}
			}
			if !slices.Contains(c.hosts, tc.bucket+"."+host) {
				t.Errorf("no virtual-host style request: %v", c.hosts)
			}
		})
	}
}

func vhostOperations(t *testing.T, e *env, c *vhostClient, bkt string) {
	ctx := context.Background()
	cl := c.s3
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	b, k := aws.String(bkt), aws.String("photos/2024/k.jpg")

	// Buckets.
	_, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	step("CreateBucket", err)
	_, err = e.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b}) // path style
	step("HeadBucket (path style) after a virtual-host CreateBucket", err)
	_, err = cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b})
	step("HeadBucket", err)
	loc, err := cl.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b})
	step("GetBucketLocation", err)
	if string(loc.LocationConstraint) != zone {
		t.Fatalf("location %q", loc.LocationConstraint)
	}
	_, err = cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	step("PutBucketVersioning", err)
	gv, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
	step("GetBucketVersioning", err)
	if gv.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning %q", gv.Status)
	}
	_, err = cl.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b})
	step("GetBucketAcl", err)
	_, err = cl.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: b})
	wantCode(t, err, "NoSuchCORSConfiguration")
	_, err = cl.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b})
	wantCode(t, err, "OwnershipControlsNotFoundError")

	// Replication configuration and the sos-replication-* extensions.
	dst := "dst-" + bkt
	e.mkBucket(dst, true)
	_, err = cl.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: b})
	wantCode(t, err, "ReplicationConfigurationNotFoundError")
	_, err = cl.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: b, ReplicationConfiguration: &types.ReplicationConfiguration{
		Role: aws.String(replRole), Rules: []types.ReplicationRule{{
			ID: aws.String("r1"), Status: types.ReplicationRuleStatusEnabled, Priority: aws.Int32(1),
			Filter:      &types.ReplicationRuleFilter{Prefix: aws.String("")},
			Destination: &types.Destination{Bucket: aws.String("arn:aws:s3:::" + dst)},
		}}}})
	step("PutBucketReplication", err)
	gr, err := cl.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: b})
	step("GetBucketReplication", err)
	if aws.ToString(gr.ReplicationConfiguration.Role) != replRole {
		t.Fatalf("replication role %q", aws.ToString(gr.ReplicationConfiguration.Role))
	}
	for _, x := range []struct{ method, target, want string }{
		{"GET", "/?sos-replication-status", `"bucket":"` + bkt + `"`},
		{"POST", "/?sos-replication-resync", `{"queued":3}`},
		{"POST", "/?sos-replication-retry", `{"retried":4}`},
	} {
		resp, body := c.raw(t, x.method, bkt, x.target)
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(x.want)) {
			t.Fatalf("%s %s: %d %s", x.method, x.target, resp.StatusCode, body)
		}
	}
	_, err = cl.DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: b})
	step("DeleteBucketReplication", err)

	// Objects: the empty PUT of a "folder" that used to create a bucket.
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("photos/"), Body: bytes.NewReader(nil)})
	step("PutObject photos/", err)
	if _, err := e.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("photos")}); err == nil {
		t.Fatal("an empty PUT /photos/ in virtual-host style created a bucket photos")
	}
	p, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("jpeg bytes")})
	step("PutObject", err)
	g, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
	step("GetObject", err)
	data, _ := io.ReadAll(g.Body)
	g.Body.Close()
	if string(data) != "jpeg bytes" || aws.ToString(g.VersionId) != aws.ToString(p.VersionId) {
		t.Fatalf("GetObject: %q version %s", data, aws.ToString(g.VersionId))
	}
	h, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k, VersionId: p.VersionId})
	step("HeadObject", err)
	if aws.ToInt64(h.ContentLength) != int64(len("jpeg bytes")) {
		t.Fatalf("HeadObject length %d", aws.ToInt64(h.ContentLength))
	}
	_, err = cl.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: b, Key: k})
	step("GetObjectAcl", err)
	_, err = cl.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: b, Key: k,
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}})
	step("PutObjectTagging", err)
	gt, err := cl.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b, Key: k})
	step("GetObjectTagging", err)
	if len(gt.TagSet) != 1 || aws.ToString(gt.TagSet[0].Value) != "a" {
		t.Fatalf("tags %+v", gt.TagSet)
	}
	_, err = cl.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: b, Key: k})
	step("DeleteObjectTagging", err)
	_, err = cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: aws.String("copy.jpg"), CopySource: aws.String(bkt + "/" + *k)})
	step("CopyObject", err)

	// Multipart: one upload completed (an uploaded part and a copied one),
	// one aborted.
	up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("mp.bin")})
	step("CreateMultipartUpload", err)
	part1 := bytes.Repeat([]byte("p"), 5<<20)
	u1, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("mp.bin"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(part1)})
	step("UploadPart", err)
	u2, err := cl.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: b, Key: aws.String("mp.bin"), UploadId: up.UploadId,
		PartNumber: aws.Int32(2), CopySource: aws.String(bkt + "/" + *k)})
	step("UploadPartCopy", err)
	lp, err := cl.ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: aws.String("mp.bin"), UploadId: up.UploadId})
	step("ListParts", err)
	if len(lp.Parts) != 2 {
		t.Fatalf("ListParts: %d parts", len(lp.Parts))
	}
	lu, err := cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b})
	step("ListMultipartUploads", err)
	if len(lu.Uploads) != 1 {
		t.Fatalf("ListMultipartUploads: %d uploads", len(lu.Uploads))
	}
	_, err = cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("mp.bin"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: u1.ETag}, {PartNumber: aws.Int32(2), ETag: u2.CopyPartResult.ETag}}}})
	step("CompleteMultipartUpload", err)
	g2, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("mp.bin"), PartNumber: aws.Int32(2)})
	step("GetObject partNumber=2", err)
	data, _ = io.ReadAll(g2.Body)
	g2.Body.Close()
	if string(data) != "jpeg bytes" || aws.ToInt32(g2.PartsCount) != 2 {
		t.Fatalf("part 2: %q, %d parts", data, aws.ToInt32(g2.PartsCount))
	}
	up2, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("aborted.bin")})
	step("CreateMultipartUpload", err)
	_, err = cl.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("aborted.bin"), UploadId: up2.UploadId})
	step("AbortMultipartUpload", err)

	// Listings.
	want := []string{"copy.jpg", "mp.bin", "photos/", "photos/2024/k.jpg"}
	l2, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b})
	step("ListObjectsV2", err)
	if got := keysOf(l2.Contents); !slices.Equal(got, want) {
		t.Fatalf("ListObjectsV2: %v, want %v", got, want)
	}
	l1, err := cl.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b})
	step("ListObjects", err)
	if got := keysOf(l1.Contents); !slices.Equal(got, want) {
		t.Fatalf("ListObjects: %v, want %v", got, want)
	}
	lv, err := cl.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b, Prefix: aws.String("photos/2024/")})
	step("ListObjectVersions", err)
	if len(lv.Versions) != 1 || aws.ToString(lv.Versions[0].VersionId) != aws.ToString(p.VersionId) {
		t.Fatalf("ListObjectVersions: %+v", lv.Versions)
	}
	lb, err := cl.ListBuckets(ctx, &s3.ListBucketsInput{})
	step("ListBuckets", err)
	var names []string
	for _, x := range lb.Buckets {
		names = append(names, aws.ToString(x.Name))
	}
	if !slices.Contains(names, bkt) || slices.Contains(names, "photos") {
		t.Fatalf("ListBuckets: %v", names)
	}

	// Deletes.
	do, err := cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("copy.jpg")}, {Key: aws.String("mp.bin")}}}})
	step("DeleteObjects", err)
	if len(do.Deleted) != 2 || len(do.Errors) != 0 {
		t.Fatalf("DeleteObjects: %+v", do)
	}
	_, err = cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("photos/")})
	step("DeleteObject", err)
	l2, err = cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b})
	step("ListObjectsV2", err)
	if got := keysOf(l2.Contents); !slices.Equal(got, []string{*k}) {
		t.Fatalf("after deletes: %v", got)
	}
	tmp := aws.String("vh-tmp-" + bkt)
	_, err = cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: tmp})
	step("CreateBucket", err)
	_, err = cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: tmp})
	step("DeleteBucket", err)
	_, err = e.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: tmp})
	wantCode(t, err, "NotFound")
}

func keysOf(objs []types.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, aws.ToString(o.Key))
	}
	return out
}
