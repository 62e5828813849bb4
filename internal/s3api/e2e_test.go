package s3api_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sos/internal/meta"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"sos/internal/blob/fsblob"
	"sos/internal/iam"
	"sos/internal/meta/pebblemeta"
	"sos/internal/object"
	"sos/internal/s3api"
	"sos/internal/s3client"
	"sos/internal/versionid"
)

const (
	zone       = "ch-dk-2"
	rootKey    = "EXOrootkey0000000000000000"
	rootSecret = "root-secret"
	readerKey  = "EXOreaderkey00000000000000"
	readerSec  = "reader-secret"
	readerRole = "11111111-1111-4111-8111-111111111111"
	replRole   = "22222222-2222-4222-8222-222222222222"
)

type locator map[string][2]string

func (l locator) Buckets() []meta.Bucket {
	var out []meta.Bucket
	for name, z := range l {
		out = append(out, meta.Bucket{Name: name, Zone: z[0], CreatedAt: time.Date(2025, 2, 20, 15, 50, 12, 0, time.UTC)})
	}
	return out
}

func (l locator) BucketZone(b string) (string, string, bool) {
	z, ok := l[b]
	return z[0], z[1], ok
}

// fakeRepl stands in for the replication workers, which live in another
// package; it records calls.
type fakeRepl struct{ calls []string }

func (f *fakeRepl) Status(ctx context.Context, bucket string) (any, error) {
	f.calls = append(f.calls, "status "+bucket)
	return map[string]any{"bucket": bucket, "rules": []map[string]any{{"id": "r1", "destination": "dst", "status": "Enabled", "pending": 2, "failures": []any{}}}}, nil
}
func (f *fakeRepl) Resync(ctx context.Context, bucket string) (int, error) { return 3, nil }
func (f *fakeRepl) Retry(ctx context.Context, bucket string) (int, error)  { return 4, nil }

type env struct {
	t       *testing.T
	zone    string
	srv     *httptest.Server
	authz   *iam.Authorizer
	tempKey []byte
	s3      *s3.Client
	domain  string
	logger  *slog.Logger
	objects *object.Service
}

func mustPolicy(t *testing.T, doc string) *iam.Policy {
	t.Helper()
	p, err := iam.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newEnv(t *testing.T, withRepl bool) *env {
	t.Helper()
	return newZoneEnv(t, zone, withRepl)
}

// newZoneEnv serves the S3 API of zone name over a real object service;
// mods change the handler's options.
func newZoneEnv(t *testing.T, zone string, withRepl bool, mods ...func(*s3api.Options)) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	ms, err := pebblemeta.Open(dir+"/meta", pebblemeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ms.Close() })
	bs, err := fsblob.Open(dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := object.New(ctx, object.Options{Meta: ms, Blobs: bs, Zone: zone, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	tempKey := make([]byte, 32)
	rand.Read(tempKey)
	authz := iam.NewAuthorizer(iam.AuthorizerOptions{})
	authz.Load(iam.Snapshot{
		Revision: 1, RootKey: rootKey, RootSecret: rootSecret, TempKey: tempKey,
		Roles: []iam.Role{
			{ID: readerRole, Name: "reader", Policy: mustPolicy(t, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
				{"action":"allow","expression":"operation in ['get-object','head-object','list-objects','list-buckets']"},
				{"action":"allow","expression":"operation == 'put-object' && parameters.bucket == 'open'"}]}}}`)},
			{ID: replRole, Name: "replicator", Policy: mustPolicy(t, `{"default-service-strategy":"deny","services":{"sos":{"type":"allow"}}}`)},
		},
		Keys: []iam.APIKey{{Key: readerKey, Name: "reader", Secret: readerSec, RoleID: readerRole}},
	})
	e := &env{t: t, zone: zone, authz: authz, tempKey: tempKey, logger: logger, objects: svc}
	opts := s3api.Options{
		Zone: zone, Objects: svc, Auth: authz,
		Locator: locator{"elsewhere": {"at-vie-1", "http://127.0.0.1:9002"}},
		Roles:   authz, Logger: logger,
	}
	if withRepl {
		opts.Replication = &fakeRepl{}
	}
	var h http.Handler
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	e.srv.Config.MaxHeaderBytes = s3api.RecommendedMaxHeaderBytes
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	_, port, _ := net.SplitHostPort(e.srv.Listener.Addr().String())
	e.domain = "s3.sos.test:" + port
	// As --domain gives it: without the port that Host headers carry.
	opts.Domains = []string{"s3.sos.test"}
	for _, m := range mods {
		m(&opts)
	}
	h = s3api.New(opts)
	e.s3 = e.client(rootKey, rootSecret, "")
	return e
}

func (e *env) client(key, secret, token string, mods ...func(*s3.Options)) *s3.Client {
	return s3client.New(s3client.Config{Endpoint: e.srv.URL, Region: e.zone, AccessKey: key, Secret: secret, SessionToken: token,
		HTTPClient: e.srv.Client(), MaxAttempts: 1, SDKChecksums: true}, mods...)
}

// raw sends a request signed with key/secret (no signature when key is "").
func (e *env) raw(method, path string, body []byte, hdr map[string]string, key, secret string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if key != "" {
		sum := sha256.Sum256(body)
		ph := hex.EncodeToString(sum[:])
		req.Header.Set("X-Amz-Content-Sha256", ph)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, SessionToken: hdr["X-Amz-Security-Token"]}, req, ph, "s3", e.zone, time.Now()); err != nil {
			e.t.Fatal(err)
		}
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (e *env) rootRaw(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	return e.raw(method, path, body, hdr, rootKey, rootSecret)
}

// wantCode checks an SDK error's S3 code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want %s, got %s: %s", code, ae.ErrorCode(), ae.ErrorMessage())
	}
}

// wantRawError checks a raw response's status and <Code>.
func wantRawError(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || !bytes.Contains(body, []byte("<Code>"+code+"</Code>")) {
		t.Fatalf("want %d %s, got %d %s", status, code, resp.StatusCode, body)
	}
	if resp.Header.Get("X-Amz-Request-Id") == "" || !bytes.Contains(body, []byte("<RequestId>"+resp.Header.Get("X-Amz-Request-Id")+"</RequestId>")) {
		t.Fatalf("request id missing: %v %s", resp.Header, body)
	}
	if !bytes.Contains(body, []byte("<Message>")) {
		t.Fatalf("no message: %s", body)
	}
}

func (e *env) mkBucket(name string, versioned bool) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		e.t.Fatal(err)
	}
	if versioned {
		if _, err := e.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name),
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) put(bucket, key, body string) *s3.PutObjectOutput {
	e.t.Helper()
	out, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) get(bucket, key, version string) (string, *s3.GetObjectOutput, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := e.s3.GetObject(context.Background(), in)
	if err != nil {
		return "", nil, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), out, err
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestBuckets(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	_, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("alpha"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(zone)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("beta"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: "at-vie-1"}})
	wantCode(t, err, "IllegalLocationConstraintException")
	_, err = e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("alpha")})
	wantCode(t, err, "BucketAlreadyOwnedByYou")
	e.mkBucket("beta", false)

	hb, err := e.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("alpha")})
	if err != nil || aws.ToString(hb.BucketRegion) != zone {
		t.Fatalf("head bucket: %v %v", err, hb)
	}
	// ListBuckets shows the buckets of every zone, each with its zone.
	lb, err := e.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(lb.Buckets) != 3 || aws.ToString(lb.Buckets[0].Name) != "alpha" ||
		aws.ToString(lb.Buckets[2].Name) != "elsewhere" || aws.ToString(lb.Buckets[2].BucketRegion) != "at-vie-1" ||
		aws.ToString(lb.Buckets[0].BucketRegion) != zone {
		t.Fatalf("list buckets: %v %+v", err, lb)
	}
	loc, err := e.s3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("alpha")})
	if err != nil || string(loc.LocationConstraint) != zone {
		t.Fatalf("location: %v %+v", err, loc)
	}
	acl, err := e.s3.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("alpha")})
	if err != nil || len(acl.Grants) != 1 || acl.Grants[0].Permission != types.PermissionFullControl {
		t.Fatalf("acl: %v %+v", err, acl)
	}
	_, err = e.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("alpha")})
	wantCode(t, err, "NoSuchCORSConfiguration")
	_, err = e.s3.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String("alpha")})
	wantCode(t, err, "OwnershipControlsNotFoundError")
	_, err = e.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("nope-bucket")})
	wantCode(t, err, "NoSuchBucket")

	v, err := e.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("alpha")})
	if err != nil || v.Status != "" {
		t.Fatalf("versioning: %v %+v", err, v)
	}
	e.put("alpha", "k", "x")
	_, err = e.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("alpha")})
	wantCode(t, err, "BucketNotEmpty")
	if _, err := e.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("beta")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("beta")})
	wantCode(t, err, "NotFound")

	// Raw checks: region header on every bucket response, errors included.
	resp, _ := e.rootRaw("HEAD", "/alpha", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Bucket-Region") != zone {
		t.Fatalf("HEAD bucket: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body := e.rootRaw("HEAD", "/beta", nil, nil)
	if resp.StatusCode != 404 || len(body) != 0 || resp.Header.Get("X-Amz-Request-Id") == "" {
		t.Fatalf("HEAD missing bucket: %d %s", resp.StatusCode, body)
	}
	resp, body = e.rootRaw("GET", "/elsewhere?list-type=2", nil, nil)
	wantRawError(t, resp, body, 301, "PermanentRedirect")
	if resp.Header.Get("X-Amz-Bucket-Region") != "at-vie-1" || !bytes.Contains(body, []byte("<Endpoint>http://127.0.0.1:9002</Endpoint>")) {
		t.Fatalf("redirect: %v %s", resp.Header, body)
	}
	// A key whose role may not head or delete learns where the bucket is
	// all the same (the redirect comes before authorization).
	reader := e.client(readerKey, readerSec, "")
	_, err = reader.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("elsewhere")})
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 301 || re.Response.Header.Get("X-Amz-Bucket-Region") != "at-vie-1" {
		t.Fatalf("HEAD of another zone's bucket by a restricted key: %v", err)
	}
	_, err = reader.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("elsewhere"), Key: aws.String("k")})
	wantCode(t, err, "PermanentRedirect")
	resp, body = e.rootRaw("GET", "/Bad_Name", nil, nil)
	wantRawError(t, resp, body, 400, "InvalidBucketName")
	resp, body = e.rootRaw("GET", "/alpha?x-id=ListObjects", nil, nil)
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("<Key>k</Key>")) {
		t.Fatalf("x-id: %d %s", resp.StatusCode, body)
	}
	resp, body = e.rootRaw("GET", "/alpha?lifecycle", nil, nil)
	wantRawError(t, resp, body, 501, "NotImplemented")
	resp, body = e.rootRaw("PATCH", "/alpha", nil, nil)
	wantRawError(t, resp, body, 405, "MethodNotAllowed")
}

func TestObjects(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("objs", false)
	const body = "hello, sos world"
	out, err := e.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt"), Body: strings.NewReader(body),
		ContentType: aws.String("text/plain"), CacheControl: aws.String("max-age=60"),
		ContentDisposition: aws.String("attachment"), ContentLanguage: aws.String("en"),
		Metadata: map[string]string{"color": "blue"}, Tagging: aws.String("a=1&b=two"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ETag) != `"`+md5hex(body)+`"` || out.VersionId != nil {
		t.Fatalf("put: etag %s version %v", aws.ToString(out.ETag), out.VersionId)
	}
	got, g, err := e.get("objs", "dir/hello.txt", "")
	if err != nil || got != body || aws.ToString(g.ContentType) != "text/plain" || g.Metadata["color"] != "blue" ||
		aws.ToString(g.CacheControl) != "max-age=60" || aws.ToString(g.ContentDisposition) != "attachment" ||
		aws.ToInt32(g.TagCount) != 2 || aws.ToString(g.ContentLanguage) != "en" {
		t.Fatalf("get: %v %q %+v", err, got, g)
	}
	h, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt")})
	if err != nil || aws.ToInt64(h.ContentLength) != int64(len(body)) || h.LastModified == nil {
		t.Fatalf("head: %v %+v", err, h)
	}
	// Range.
	r, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt"), Range: aws.String("bytes=7-9")})
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if string(rb) != "sos" || aws.ToString(r.ContentRange) != fmt.Sprintf("bytes 7-9/%d", len(body)) {
		t.Fatalf("range: %q %s", rb, aws.ToString(r.ContentRange))
	}
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt"), Range: aws.String("bytes=100-200")})
	wantCode(t, err, "InvalidRange")
	// Conditionals.
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt"), IfMatch: aws.String(`"nope"`)})
	wantCode(t, err, "PreconditionFailed")
	resp, rbody := e.rootRaw("GET", "/objs/dir/hello.txt", nil, map[string]string{"If-None-Match": `"` + md5hex(body) + `"`})
	if resp.StatusCode != 304 || len(rbody) != 0 {
		t.Fatalf("if-none-match: %d %s", resp.StatusCode, rbody)
	}
	resp, _ = e.rootRaw("GET", "/objs/dir/hello.txt", nil, map[string]string{"If-Modified-Since": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)})
	if resp.StatusCode != 304 {
		t.Fatalf("if-modified-since: %d", resp.StatusCode)
	}
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt"), IfUnmodifiedSince: aws.Time(time.Now().Add(-time.Hour))})
	wantCode(t, err, "PreconditionFailed")
	// response-* overrides.
	_, g, err = func() (string, *s3.GetObjectOutput, error) {
		o, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt"),
			ResponseContentType: aws.String("application/x-test"), ResponseContentDisposition: aws.String("inline")})
		if err == nil {
			o.Body.Close()
		}
		return "", o, err
	}()
	if err != nil || aws.ToString(g.ContentType) != "application/x-test" || aws.ToString(g.ContentDisposition) != "inline" {
		t.Fatalf("overrides: %v %+v", err, g)
	}
	// Object ACL, tagging.
	oacl, err := e.s3.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt")})
	if err != nil || len(oacl.Grants) != 1 {
		t.Fatalf("object acl: %v", err)
	}
	tg, err := e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt")})
	if err != nil || len(tg.TagSet) != 2 || aws.ToString(tg.TagSet[0].Key) != "a" {
		t.Fatalf("tagging: %v %+v", err, tg)
	}
	if _, err := e.s3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("x"), Value: aws.String("y")}}}}); err != nil {
		t.Fatal(err)
	}
	tg, _ = e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt")})
	if len(tg.TagSet) != 1 || aws.ToString(tg.TagSet[0].Value) != "y" {
		t.Fatalf("tags after put: %+v", tg.TagSet)
	}
	if _, err := e.s3.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt")}); err != nil {
		t.Fatal(err)
	}
	tg, _ = e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("objs"), Key: aws.String("dir/hello.txt")})
	if len(tg.TagSet) != 0 {
		t.Fatalf("tags after delete: %+v", tg.TagSet)
	}
	// Copy: COPY then REPLACE metadata.
	cp, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("objs"), Key: aws.String("copy1"), CopySource: aws.String("objs/dir/hello.txt")})
	if err != nil || aws.ToString(cp.CopyObjectResult.ETag) != `"`+md5hex(body)+`"` {
		t.Fatalf("copy: %v", err)
	}
	_, g, _ = e.get("objs", "copy1", "")
	if g.Metadata["color"] != "blue" {
		t.Fatalf("copy kept metadata: %+v", g.Metadata)
	}
	if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("objs"), Key: aws.String("copy2"), CopySource: aws.String("/objs/dir%2Fhello.txt"),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"color": "red"}, ContentType: aws.String("text/x")}); err != nil {
		t.Fatal(err)
	}
	_, g, _ = e.get("objs", "copy2", "")
	if g.Metadata["color"] != "red" || aws.ToString(g.ContentType) != "text/x" {
		t.Fatalf("copy replace: %+v", g)
	}
	_, err = e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("objs"), Key: aws.String("copy3"), CopySource: aws.String("objs/dir/hello.txt"), CopySourceIfMatch: aws.String(`"bad"`)})
	wantCode(t, err, "PreconditionFailed")
	_, err = e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("objs"), Key: aws.String("copy1"), CopySource: aws.String("objs/copy1")})
	wantCode(t, err, "InvalidRequest")
	_, err = e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("objs"), Key: aws.String("copy4"), CopySource: aws.String("objs/missing")})
	wantCode(t, err, "NoSuchKey")
	// Path-like keys are only keys; any UTF-8.
	for _, k := range []string{"../../etc/passwd", "ünïcødé/ключ 🙂", "a//b/", "with?query&chars=1#frag"} {
		e.put("objs", k, "k="+k)
		if got, _, err := e.get("objs", k, ""); err != nil || got != "k="+k {
			t.Fatalf("key %q: %v %q", k, err, got)
		}
	}
	// Delete and DeleteObjects.
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("objs"), Key: aws.String("copy2")}); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.get("objs", "copy2", "")
	wantCode(t, err, "NoSuchKey")
	do, err := e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("objs"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("copy1")}, {Key: aws.String("../../etc/passwd")}, {Key: aws.String("never-existed")}}}})
	if err != nil || len(do.Deleted) != 3 || len(do.Errors) != 0 {
		t.Fatalf("delete objects: %v %+v", err, do)
	}
	do, err = e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("objs"), Delete: &types.Delete{Quiet: aws.Bool(true), Objects: []types.ObjectIdentifier{{Key: aws.String("a//b/")}}}})
	if err != nil || len(do.Deleted) != 0 || len(do.Errors) != 0 {
		t.Fatalf("quiet delete: %v %+v", err, do)
	}
	// Content-MD5 and checksums.
	resp, rbody = e.rootRaw("PUT", "/objs/md5", []byte("data"), map[string]string{"Content-Md5": "AAAAAAAAAAAAAAAAAAAAAA=="})
	wantRawError(t, resp, rbody, 400, "BadDigest")
	resp, rbody = e.rootRaw("PUT", "/objs/md5", []byte("data"), map[string]string{"Content-Md5": "not-base64"})
	wantRawError(t, resp, rbody, 400, "InvalidDigest")
	resp, rbody = e.rootRaw("PUT", "/objs/crc", []byte("data"), map[string]string{"X-Amz-Checksum-Sha256": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="})
	wantRawError(t, resp, rbody, 400, "BadDigest")
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("objs"), Key: aws.String("sha"), Body: strings.NewReader("data"), ChecksumAlgorithm: types.ChecksumAlgorithmSha256}); err != nil {
		t.Fatal(err)
	}
	// GET with checksum mode returns the stored checksum; the SDK validates it.
	co, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("sha"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, co.Body)
	co.Body.Close()
	if aws.ToString(co.ChecksumSHA256) == "" {
		t.Fatal("no checksum in GET with checksum mode")
	}
}

func TestChunkedUploadsWithTrailers(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("chunks", false)
	data := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640000 bytes
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256} {
		key := "obj-" + string(alg)
		// Over TLS with an unseekable body the SDK sends aws-chunked with
		// STREAMING-UNSIGNED-PAYLOAD-TRAILER and the checksum in a trailer.
		var seen string
		cl := e.client(rootKey, rootSecret, "", func(o *s3.Options) {
			o.HTTPClient = recordingClient{e.srv.Client(), &seen}
		})
		_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("chunks"), Key: aws.String(key),
			Body: io.NopCloser(bytes.NewReader(data)), ContentLength: aws.Int64(int64(len(data))), ChecksumAlgorithm: alg})
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if !strings.Contains(seen, "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
			t.Fatalf("%s: the SDK did not send aws-chunked (%s)", alg, seen)
		}
		got, g, err := e.get("chunks", key, "")
		if err != nil || got != string(data) || aws.ToString(g.ContentEncoding) != "" {
			t.Fatalf("%s: read back %d bytes, err %v, encoding %q", alg, len(got), err, aws.ToString(g.ContentEncoding))
		}
	}
}

type recordingClient struct {
	c    *http.Client
	seen *string
}

func (r recordingClient) Do(req *http.Request) (*http.Response, error) {
	*r.seen += req.Header.Get("X-Amz-Content-Sha256") + " "
	return r.c.Do(req)
}

func TestListings(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("lists", false)
	keys := []string{"a/1", "a/2", "b/1", "c", "d e+f"}
	for _, k := range keys {
		e.put("lists", k, k)
	}
	v1, err := e.s3.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("lists"), Delimiter: aws.String("/")})
	if err != nil || len(v1.Contents) != 2 || len(v1.CommonPrefixes) != 2 || aws.ToString(v1.CommonPrefixes[0].Prefix) != "a/" {
		t.Fatalf("v1: %v %+v", err, v1)
	}
	v1, err = e.s3.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("lists"), Marker: aws.String("a/2"), MaxKeys: aws.Int32(2)})
	if err != nil || len(v1.Contents) != 2 || aws.ToString(v1.Contents[0].Key) != "b/1" || !aws.ToBool(v1.IsTruncated) || v1.Contents[0].Owner == nil {
		t.Fatalf("v1 marker: %v %+v", err, v1)
	}
	var all []string
	var token *string
	for pages := 0; ; pages++ {
		out, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lists"), MaxKeys: aws.Int32(2), ContinuationToken: token})
		if err != nil || pages > 5 {
			t.Fatal(err, pages)
		}
		for _, o := range out.Contents {
			all = append(all, aws.ToString(o.Key))
			if o.Owner != nil {
				t.Fatal("owner without fetch-owner")
			}
		}
		if aws.ToInt32(out.KeyCount) != int32(len(out.Contents)) {
			t.Fatalf("KeyCount %d", aws.ToInt32(out.KeyCount))
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		token = out.NextContinuationToken
	}
	if strings.Join(all, ",") != strings.Join(keys, ",") {
		t.Fatalf("v2 pages: %v", all)
	}
	v2, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lists"), StartAfter: aws.String("b"), Prefix: aws.String("b"), FetchOwner: aws.Bool(true)})
	if err != nil || len(v2.Contents) != 1 || v2.Contents[0].Owner == nil || aws.ToString(v2.StartAfter) != "b" {
		t.Fatalf("v2 start-after: %v %+v", err, v2)
	}
	_, err = e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lists"), ContinuationToken: aws.String("!!!")})
	wantCode(t, err, "InvalidArgument")
	resp, body := e.rootRaw("GET", "/lists?list-type=2&encoding-type=url&prefix=d", nil, nil)
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("<Key>d+e%2Bf</Key>")) || !bytes.Contains(body, []byte("<EncodingType>url</EncodingType>")) {
		t.Fatalf("encoding-type=url: %s", body)
	}
	resp, body = e.rootRaw("GET", "/lists?max-keys=-1", nil, nil)
	wantRawError(t, resp, body, 400, "InvalidArgument")
}

func TestVersioning(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("vers", false)
	e.put("vers", "k", "unversioned")
	e.mkBucketVersioning("vers", types.BucketVersioningStatusEnabled)
	gv, _ := e.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("vers")})
	if gv.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("status %q", gv.Status)
	}
	v1 := aws.ToString(e.put("vers", "k", "one").VersionId)
	v2 := aws.ToString(e.put("vers", "k", "two").VersionId)
	if v1 == "" || v2 == "" || v1 == v2 {
		t.Fatalf("version ids %q %q", v1, v2)
	}
	if got, g, _ := e.get("vers", "k", ""); got != "two" || aws.ToString(g.VersionId) != v2 {
		t.Fatalf("latest: %q", got)
	}
	if got, _, _ := e.get("vers", "k", v1); got != "one" {
		t.Fatalf("by version: %q", got)
	}
	if got, _, _ := e.get("vers", "k", "null"); got != "unversioned" {
		t.Fatalf("null version: %q", got)
	}
	del, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("vers"), Key: aws.String("k")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Fatalf("delete: %v %+v", err, del)
	}
	dm := aws.ToString(del.VersionId)
	_, _, err = e.get("vers", "k", "")
	wantCode(t, err, "NoSuchKey")
	_, _, err = e.get("vers", "k", dm)
	wantCode(t, err, "MethodNotAllowed")
	resp, _ := e.rootRaw("HEAD", "/vers/k?versionId="+dm, nil, nil)
	if resp.StatusCode != 405 || resp.Header.Get("X-Amz-Delete-Marker") != "true" {
		t.Fatalf("HEAD delete marker: %d %v", resp.StatusCode, resp.Header)
	}
	_, _, err = e.get("vers", "k", "0000000000000000-nope")
	if err == nil {
		t.Fatal("bogus version id found")
	}
	lv, err := e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("vers")})
	if err != nil || len(lv.Versions) != 3 || len(lv.DeleteMarkers) != 1 || !aws.ToBool(lv.DeleteMarkers[0].IsLatest) {
		t.Fatalf("versions: %v %+v", err, lv)
	}
	lv, err = e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("vers"), MaxKeys: aws.Int32(2)})
	if err != nil || !aws.ToBool(lv.IsTruncated) || aws.ToString(lv.NextKeyMarker) != "k" {
		t.Fatalf("versions page: %v %+v", err, lv)
	}
	lv2, err := e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("vers"), KeyMarker: lv.NextKeyMarker, VersionIdMarker: lv.NextVersionIdMarker})
	if err != nil || len(lv2.Versions)+len(lv2.DeleteMarkers) != 2 {
		t.Fatalf("versions page 2: %v %+v", err, lv2)
	}
	// Removing the delete marker brings the object back.
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("vers"), Key: aws.String("k"), VersionId: aws.String(dm)}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := e.get("vers", "k", ""); got != "two" {
		t.Fatalf("after removing the marker: %q", got)
	}
	// Suspended: null versions.
	e.mkBucketVersioning("vers", types.BucketVersioningStatusSuspended)
	out := e.put("vers", "k", "three")
	if v := aws.ToString(out.VersionId); v != "" && v != "null" {
		t.Fatalf("suspended put version %q", v)
	}
	if got, _, _ := e.get("vers", "k", "null"); got != "three" {
		t.Fatalf("null after suspend: %q", got)
	}
	if got, _, _ := e.get("vers", "k", v1); got != "one" {
		t.Fatalf("old version after suspend: %q", got)
	}
	// Bad versioning bodies.
	resp, body := e.rootRaw("PUT", "/vers?versioning", []byte("<VersioningConfiguration><Status>Maybe</Status></VersioningConfiguration>"), nil)
	wantRawError(t, resp, body, 400, "MalformedXML")
	resp, body = e.rootRaw("PUT", "/vers?versioning", []byte("<VersioningConfiguration><Status>Enabled"), nil)
	wantRawError(t, resp, body, 400, "MalformedXML")
}

func (e *env) mkBucketVersioning(b string, st types.BucketVersioningStatus) {
	e.t.Helper()
	if _, err := e.s3.PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{Bucket: aws.String(b),
		VersioningConfiguration: &types.VersioningConfiguration{Status: st}}); err != nil {
		e.t.Fatal(err)
	}
}

func TestMultipart(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("mpu", false)
	part1 := bytes.Repeat([]byte("a"), object.MinPartSize)
	part2 := []byte("tail")
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"), ContentType: aws.String("application/x-big"), Metadata: map[string]string{"m": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	id := cr.UploadId
	up := func(n int32, b []byte) string {
		out, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: id, PartNumber: aws.Int32(n), Body: bytes.NewReader(b)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ETag)
	}
	e1, e2 := up(1, part1), up(2, part2)
	lu, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("mpu")})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(id) {
		t.Fatalf("list uploads: %v %+v", err, lu)
	}
	lp, err := e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: id})
	if err != nil || len(lp.Parts) != 2 || aws.ToInt64(lp.Parts[1].Size) != 4 {
		t.Fatalf("list parts: %v %+v", err, lp)
	}
	complete := func(parts ...types.CompletedPart) (*s3.CompleteMultipartUploadOutput, error) {
		return e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	}
	_, err = complete(types.CompletedPart{PartNumber: aws.Int32(1), ETag: aws.String(`"00000000000000000000000000000000"`)}, types.CompletedPart{PartNumber: aws.Int32(2), ETag: aws.String(e2)})
	wantCode(t, err, "InvalidPart")
	_, err = complete(types.CompletedPart{PartNumber: aws.Int32(2), ETag: aws.String(e2)}, types.CompletedPart{PartNumber: aws.Int32(1), ETag: aws.String(e1)})
	wantCode(t, err, "InvalidPartOrder")
	resp, body := e.rootRaw("POST", "/mpu/big?uploadId="+aws.ToString(id), []byte("<CompleteMultipartUpload><Part>"), nil)
	wantRawError(t, resp, body, 400, "MalformedXML")
	out, err := complete(types.CompletedPart{PartNumber: aws.Int32(1), ETag: aws.String(e1)}, types.CompletedPart{PartNumber: aws.Int32(2), ETag: aws.String(e2)})
	if err != nil || !strings.HasSuffix(aws.ToString(out.ETag), `-2"`) {
		t.Fatalf("complete: %v %+v", err, out)
	}
	got, g, err := e.get("mpu", "big", "")
	if err != nil || len(got) != len(part1)+len(part2) || !strings.HasSuffix(got, "tail") || g.Metadata["m"] != "1" || aws.ToString(g.ContentType) != "application/x-big" {
		t.Fatalf("read back: %v %d", err, len(got))
	}
	// EntityTooSmall: a small part that is not the last.
	cr2, _ := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small")})
	var ps []types.CompletedPart
	for n := int32(1); n <= 2; n++ {
		o, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: cr2.UploadId, PartNumber: aws.Int32(n), Body: strings.NewReader("tiny")})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, types.CompletedPart{PartNumber: aws.Int32(n), ETag: o.ETag})
	}
	_, err = e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: cr2.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: ps}})
	wantCode(t, err, "EntityTooSmall")
	// UploadPartCopy from the completed object, then abort.
	pc, err := e.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: cr2.UploadId, PartNumber: aws.Int32(3),
		CopySource: aws.String("mpu/big"), CopySourceRange: aws.String("bytes=0-9")})
	if err != nil || aws.ToString(pc.CopyPartResult.ETag) != `"`+md5hex("aaaaaaaaaa")+`"` {
		t.Fatalf("upload part copy: %v", err)
	}
	if _, err := e.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: cr2.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: cr2.UploadId})
	wantCode(t, err, "NoSuchUpload")
}

func TestPresigned(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("pre", false)
	ps := s3.NewPresignClient(e.s3)
	preq, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pre"), Key: aws.String("p")}, s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(preq.Method, preq.URL, strings.NewReader("presigned body"))
	for k, v := range preq.SignedHeader {
		req.Header[k] = v
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("presigned put: %v %v", err, resp)
	}
	resp.Body.Close()
	greq, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("p")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = e.srv.Client().Get(greq.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "presigned body" {
		t.Fatalf("presigned get: %d %s", resp.StatusCode, b)
	}
	// Tampered URL.
	resp, err = e.srv.Client().Get(strings.Replace(greq.URL, "/pre/p", "/pre/q", 1))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	wantRawError(t, resp, b, 403, "SignatureDoesNotMatch")
	// Expired URL, signed two hours ago for one hour.
	ereq, _ := http.NewRequest("GET", e.srv.URL+"/pre/p?X-Amz-Expires=3600", nil)
	u, _, err := v4.NewSigner().PresignHTTP(ctx, aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret}, ereq, "UNSIGNED-PAYLOAD", "s3", zone, time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = e.srv.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	wantRawError(t, resp, b, 403, "AccessDenied")
}

func TestAuthAndBadInput(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("authz", false)
	e.mkBucket("open", false)
	e.put("authz", "k", "v")

	// Anonymous.
	resp, body := e.raw("GET", "/authz/k", nil, nil, "", "")
	wantRawError(t, resp, body, 403, "AccessDenied")
	if resp.Header.Get("X-Amz-Bucket-Region") != zone {
		t.Fatalf("403 without region header: %v", resp.Header)
	}
	// Bad secret and unknown key.
	_, err := e.client(rootKey, "wrong", "").ListBuckets(ctx, &s3.ListBucketsInput{})
	wantCode(t, err, "SignatureDoesNotMatch")
	_, err = e.client("EXOnobody", "x", "").ListBuckets(ctx, &s3.ListBucketsInput{})
	wantCode(t, err, "InvalidAccessKeyId")
	// Wrong region in the credential scope.
	_, err = e.client(rootKey, rootSecret, "", func(o *s3.Options) { o.Region = "at-vie-1" }).ListBuckets(ctx, &s3.ListBucketsInput{})
	wantCode(t, err, "AuthorizationHeaderMalformed")

	// Policy: the reader may get but not put, except in bucket "open".
	reader := e.client(readerKey, readerSec, "")
	if _, err := reader.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("authz"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	_, err = reader.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("authz"), Key: aws.String("k"), Body: strings.NewReader("no")})
	wantCode(t, err, "AccessDenied")
	var ae smithy.APIError
	errors.As(err, &ae)
	if !strings.Contains(ae.ErrorMessage(), "put-object") || !strings.Contains(ae.ErrorMessage(), "authz") {
		t.Fatalf("denial message does not name the operation and bucket: %s", ae.ErrorMessage())
	}
	// ... and the answer says it as fields too, which clients read
	// through s3client (SDK calls included).
	if se := s3client.ErrorOf(err); se == nil || se.DeniedOperation != "put-object" || se.BucketName != "authz" || se.Key != "k" ||
		se.DeniedRole != "reader" || !strings.HasPrefix(se.DeniedReason, "no rule of services.sos matches put-object") {
		t.Fatalf("denial fields: %+v", se)
	}
	resp, body = e.raw("GET", "/authz?versioning", nil, nil, readerKey, readerSec)
	wantRawError(t, resp, body, 403, "AccessDenied")
	for _, el := range []string{"<BucketName>authz</BucketName>", "<SosOperation>get-bucket-versioning</SosOperation>", "<SosRole>reader</SosRole>", "<SosReason>no rule of services.sos matches"} {
		if !bytes.Contains(body, []byte(el)) {
			t.Errorf("denial document lacks %s: %s", el, body)
		}
	}
	if _, err := reader.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("open"), Key: aws.String("k"), Body: strings.NewReader("yes")}); err != nil {
		t.Fatal(err)
	}
	// Copy needs get-object on the source too: the reader may put into
	// "open" and read "authz", but not delete.
	if _, err := reader.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("open"), Key: aws.String("c"), CopySource: aws.String("authz/k")}); err != nil {
		t.Fatal(err)
	}
	_, err = reader.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("open"), Key: aws.String("c")})
	wantCode(t, err, "AccessDenied")
	do, err := reader.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("open"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("c")}}}})
	wantCode(t, err, "AccessDenied")
	_ = do

	// Forged replica headers from an ordinary key.
	resp, body = e.rootRaw("PUT", "/authz/forged", []byte("x"), map[string]string{"X-Sos-Replica-Version-Id": "123"})
	wantRawError(t, resp, body, 403, "AccessDenied")
	if !bytes.Contains(body, []byte("reserved to replication")) {
		t.Fatalf("forgery message: %s", body)
	}

	// Malformed XML bodies.
	for _, c := range []struct{ method, path, body, code string }{
		{"POST", "/authz?delete", "<Delete><Object><Key>a</Key>", "MalformedXML"},
		{"POST", "/authz?delete", "<Delete></Delete>", "MalformedXML"},
		{"PUT", "/authz/k?tagging", "<Tagging><TagSet><Tag><Key>a</Key>", "MalformedXML"},
		{"PUT", "/authz/k?tagging", "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>", "InvalidTag"},
		{"PUT", "/authz?versioning", "<Nope/>", "MalformedXML"},
		{"PUT", "/authz?versioning", strings.Repeat("<a>", 1<<19), "MaxMessageLengthExceeded"},
		{"PUT", "/authz?versioning", "<VersioningConfiguration>" + strings.Repeat("<Status>", 40), "MalformedXML"},
		{"POST", "/authz/k?uploadId=nope", "<CompleteMultipartUpload>" + strings.Repeat("<Part>", 1<<18), "MalformedXML"},
		{"POST", "/authz?delete", "<Delete>" + strings.Repeat("<Object/>", 8100) + "</Delete>", "MalformedXML"},
		{"POST", "/authz/k?uploadId=nope", "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>", "NoSuchUpload"},
	} {
		resp, body := e.rootRaw(c.method, c.path, []byte(c.body), nil)
		wantRawError(t, resp, body, 400+map[string]int{"NoSuchUpload": 4}[c.code], c.code)
	}
	var many strings.Builder
	many.WriteString("<Delete>")
	for i := 0; i < 1001; i++ {
		fmt.Fprintf(&many, "<Object><Key>k%d</Key></Object>", i)
	}
	many.WriteString("</Delete>")
	resp, body = e.rootRaw("POST", "/authz?delete", []byte(many.String()), nil)
	wantRawError(t, resp, body, 400, "MalformedXML")

	// Keys and buckets.
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("authz"), Key: aws.String(strings.Repeat("k", 1025)), Body: strings.NewReader("x")})
	wantCode(t, err, "KeyTooLongError")
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("authz"), Key: aws.String(strings.Repeat("é", 512)), Body: strings.NewReader("x")}); err != nil {
		t.Fatalf("1024-byte key: %v", err)
	}
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("k")})
	wantCode(t, err, "NoSuchBucket")
	_, err = e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("UPPER")})
	wantCode(t, err, "InvalidBucketName")
	// Headers too large are refused by net/http, cleanly.
	resp, _ = e.rootRaw("GET", "/authz/k", nil, map[string]string{"X-Big": strings.Repeat("b", 2*s3api.RecommendedMaxHeaderBytes)})
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("huge header: %d", resp.StatusCode)
	}
	resp, body = e.rootRaw("GET", "/authz/k?partNumber=0", nil, nil)
	wantRawError(t, resp, body, 400, "InvalidArgument")
}

func TestReplicaWritesAndReplicationConfig(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	e.mkBucket("src", true)
	e.mkBucket("dst", true)
	tc := iam.IssueTempCredentials(e.tempKey, "", replRole, time.Now(), time.Hour)
	other := versionid.New("at-vie-1", nil)
	vid := versionid.Format(other.Now())
	lm := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	hdr := map[string]string{
		"X-Amz-Security-Token":        tc.SessionToken,
		"X-Sos-Replica-Version-Id":    vid,
		"X-Sos-Replica-Last-Modified": lm.Format(time.RFC3339Nano),
		"X-Sos-Replica-Etag":          md5hex("replica"),
	}
	resp, body := e.raw("PUT", "/dst/r", []byte("replica"), hdr, tc.AccessKey, tc.Secret)
	if resp.StatusCode != 200 {
		t.Fatalf("replica put: %d %s", resp.StatusCode, body)
	}
	got, g, err := e.get("dst", "r", "")
	if err != nil || got != "replica" || aws.ToString(g.VersionId) != vid || g.ReplicationStatus != types.ReplicationStatusReplica || !g.LastModified.Equal(lm) {
		t.Fatalf("replica read: %v %q %+v", err, got, g)
	}
	// A replicated delete marker.
	hdr["X-Sos-Replica-Version-Id"] = versionid.Format(other.Now())
	hdr["X-Sos-Replica-Delete-Marker"] = "true"
	delete(hdr, "X-Sos-Replica-Etag")
	resp, body = e.raw("PUT", "/dst/r", nil, hdr, tc.AccessKey, tc.Secret)
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Delete-Marker") != "true" {
		t.Fatalf("replica delete marker: %d %s", resp.StatusCode, body)
	}
	_, _, err = e.get("dst", "r", "")
	wantCode(t, err, "NoSuchKey")

	// Replication configuration.
	_, err = e.s3.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String("src")})
	wantCode(t, err, "ReplicationConfigurationNotFoundError")
	cfg := func(role string) *types.ReplicationConfiguration {
		return &types.ReplicationConfiguration{Role: aws.String(role), Rules: []types.ReplicationRule{{
			ID: aws.String("r1"), Status: types.ReplicationRuleStatusEnabled, Priority: aws.Int32(1),
			Filter:      &types.ReplicationRuleFilter{Prefix: aws.String("")},
			Destination: &types.Destination{Bucket: aws.String("arn:aws:s3:::dst")},
		}}}
	}
	_, err = e.s3.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String("src"), ReplicationConfiguration: cfg("33333333-3333-4333-8333-333333333333")})
	wantCode(t, err, "InvalidArgument")
	if _, err := e.s3.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String("src"), ReplicationConfiguration: cfg(replRole)}); err != nil {
		t.Fatal(err)
	}
	gr, err := e.s3.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String("src")})
	if err != nil || aws.ToString(gr.ReplicationConfiguration.Role) != replRole || len(gr.ReplicationConfiguration.Rules) != 1 ||
		gr.ReplicationConfiguration.Rules[0].DeleteMarkerReplication == nil {
		t.Fatalf("get replication: %v %+v", err, gr)
	}
	// The XML of GET, byte for byte as it has always been: canonical order,
	// DeleteMarkerReplication filled in.
	resp, body = e.rootRaw("GET", "/src?replication", nil, nil)
	if want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ReplicationConfiguration><Role>` + replRole + `</Role>` +
		`<Rule><ID>r1</ID><Priority>1</Priority><Status>Enabled</Status><Filter><Prefix></Prefix></Filter>` +
		`<DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><Destination><Bucket>arn:aws:s3:::dst</Bucket></Destination></Rule>` +
		`</ReplicationConfiguration>`; resp.StatusCode != 200 || string(body) != want || resp.Header.Get("Content-Type") != "application/xml" {
		t.Fatalf("GET ?replication: %d %q\n%s\nwant\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body, want)
	}
	resp, body = e.rootRaw("PUT", "/src?replication", []byte("<ReplicationConfiguration><Role>x"), nil)
	wantRawError(t, resp, body, 400, "MalformedXML")
	resp, body = e.rootRaw("PUT", "/src?replication", []byte("<ReplicationConfiguration><Role>"+replRole+"</Role></ReplicationConfiguration>"), nil)
	wantRawError(t, resp, body, 400, "InvalidArgument")
	// Unversioned source.
	e.mkBucket("plain", false)
	_, err = e.s3.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String("plain"), ReplicationConfiguration: cfg(replRole)})
	wantCode(t, err, "InvalidRequest")

	// Extensions.
	resp, body = e.rootRaw("GET", "/src?sos-replication-status", nil, nil)
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"bucket":"src"`)) || !bytes.Contains(body, []byte(`"pending":2`)) || !bytes.Contains(body, []byte(`"failures":[]`)) {
		t.Fatalf("status: %d %s", resp.StatusCode, body)
	}
	resp, body = e.rootRaw("POST", "/src?sos-replication-resync", nil, nil)
	if resp.StatusCode != 200 || string(body) != `{"queued":3}` {
		t.Fatalf("resync: %d %s", resp.StatusCode, body)
	}
	resp, body = e.rootRaw("POST", "/src?sos-replication-retry", nil, nil)
	if resp.StatusCode != 200 || string(body) != `{"retried":4}` {
		t.Fatalf("retry: %d %s", resp.StatusCode, body)
	}
	resp, body = e.raw("POST", "/src?sos-replication-retry", nil, nil, readerKey, readerSec)
	wantRawError(t, resp, body, 403, "AccessDenied")

	if _, err := e.s3.DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: aws.String("src")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: aws.String("src")})
	wantCode(t, err, "ReplicationConfigurationNotFoundError")
}

func TestReplicationExtensionsWithoutWorkers(t *testing.T) {
	e := newEnv(t, false)
	e.mkBucket("src", true)
	resp, body := e.rootRaw("GET", "/src?sos-replication-status", nil, nil)
	wantRawError(t, resp, body, 501, "NotImplemented")
}

func TestVirtualHostStyle(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("vhost", false)
	addr := e.srv.Listener.Addr().String()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	cl := e.client(rootKey, rootSecret, "", func(o *s3.Options) {
		o.UsePathStyle = false
		o.BaseEndpoint = aws.String("https://" + e.domain)
		o.HTTPClient = &http.Client{Transport: tr}
	})
	var seen []string
	cl2 := e.client(rootKey, rootSecret, "", func(o *s3.Options) {
		o.UsePathStyle = false
		o.BaseEndpoint = aws.String("https://" + e.domain)
		o.HTTPClient = hostRecorder{&http.Client{Transport: tr}, &seen}
	})
	if _, err := cl2.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vhost"), Key: aws.String("a/b"), Body: strings.NewReader("vh")}); err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 || seen[0] != "vhost."+e.domain {
		t.Fatalf("not virtual-host style: %v", seen)
	}
	got, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("vhost"), Key: aws.String("a/b")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(b) != "vh" {
		t.Fatalf("vhost get: %q", b)
	}
	lo, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("vhost")})
	if err != nil || len(lo.Contents) != 1 {
		t.Fatalf("vhost list: %v", err)
	}
}

type hostRecorder struct {
	c    *http.Client
	seen *[]string
}

func (h hostRecorder) Do(req *http.Request) (*http.Response, error) {
	*h.seen = append(*h.seen, req.URL.Host)
	return h.c.Do(req)
}

// testLogWriter sends log lines to t.Log, so that they show with failures.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
