package s3client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"sos/internal/control"
	"sos/internal/iam"
	"sos/internal/replconfig"
	"sos/internal/s3client"
	"sos/internal/server"
)

// dev is an in-process `sosd dev` (free ports, data in a temporary folder).
type dev struct {
	d     *server.Dev
	zones map[string]string // zone name -> S3 endpoint
}

func startDev(t *testing.T) *dev {
	t.Helper()
	d, err := server.StartDev(t.Context(), server.DevOptions{
		DataDir: t.TempDir(), APIAddr: "127.0.0.1:0",
		Zones:   []server.ZoneAddr{{Name: "ch-dk-2", Addr: "127.0.0.1:0"}, {Name: "at-vie-1", Addr: "127.0.0.1:0"}},
		RootKey: "EXOs3clientroot", RootSecret: "s3client-root-secret",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	v := &dev{d: d, zones: map[string]string{}}
	for _, z := range d.Zones {
		v.zones[z.Name] = z.URL
	}
	return v
}

// root is the configuration of zone with the root key.
func (v *dev) root(zone string) s3client.Config {
	return s3client.Config{Endpoint: v.zones[zone], Region: zone, AccessKey: v.d.RootKey, Secret: v.d.RootSecret}
}

func versionedBucket(t *testing.T, c *s3.Client, name string) {
	t.Helper()
	ctx := t.Context()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	if err != nil {
		t.Fatalf("versioning of %s: %v", name, err)
	}
}

// recorder is a transport that keeps the headers of the requests it sends.
type recorder struct {
	mu      sync.Mutex
	headers []http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.headers = append(r.headers, req.Header.Clone())
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) last() http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.headers) == 0 {
		return nil
	}
	return r.headers[len(r.headers)-1]
}

func TestNewTalksToAZone(t *testing.T) {
	v := startDev(t)
	ctx := t.Context()
	rec := &recorder{}
	cfg := v.root("ch-dk-2")
	cfg.HTTPClient = &http.Client{Transport: rec}
	c := s3client.New(cfg)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("s3c-a")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("s3c-a"), Key: aws.String("k"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}
	h := rec.last()
	if h == nil || !strings.Contains(h.Get("Authorization"), "/ch-dk-2/s3/aws4_request") {
		t.Fatalf("the PUT did not go through cfg.HTTPClient signed for the zone: %v", h)
	}
	if h.Get("X-Amz-Trailer") != "" {
		t.Errorf("without SDKChecksums a PUT carries no checksum trailer: %v", h)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("s3c-a"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("GET = %q", body)
	}

	cfg.SDKChecksums = true
	c = s3client.New(cfg)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("s3c-a"), Key: aws.String("k2"), Body: bytes.NewReader([]byte("checked"))}); err != nil {
		t.Fatal(err)
	}
	if h := rec.last(); h.Get("X-Amz-Trailer") == "" && h.Get("X-Amz-Checksum-Crc32") == "" {
		t.Errorf("with SDKChecksums a PUT carries a checksum: %v", h)
	}

	// optFns apply after cfg: this HEAD goes through other's transport.
	other := &recorder{}
	c = s3client.New(cfg, func(o *s3.Options) { o.HTTPClient = &http.Client{Transport: other} })
	n := len(rec.headers)
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("s3c-a")}); err != nil {
		t.Fatal(err)
	}
	if other.last() == nil || len(rec.headers) != n {
		t.Errorf("optFns' HTTP client was not used (%d requests through it, %d more through cfg's)", len(other.headers), len(rec.headers)-n)
	}
}

func TestErrorOfSDKErrors(t *testing.T) {
	v := startDev(t)
	ctx := t.Context()
	ch := s3client.New(v.root("ch-dk-2"))
	if _, err := ch.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("s3c-b")}); err != nil {
		t.Fatal(err)
	}

	_, err := ch.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("s3c-b"), Key: aws.String("missing")})
	e := s3client.ErrorOf(err)
	if e == nil || e.Code != "NoSuchKey" || e.StatusCode != http.StatusNotFound || e.Op != "get-object" || e.Message == "" || e.Region != "ch-dk-2" {
		t.Fatalf("missing key: %+v (%v)", e, err)
	}
	if s3client.Code(err) != "NoSuchKey" {
		t.Errorf("Code = %q", s3client.Code(err))
	}

	// The other zone redirects, naming the bucket's zone.
	at := s3client.New(v.root("at-vie-1"))
	_, err = at.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("s3c-b")})
	if e := s3client.ErrorOf(err); e == nil || e.StatusCode != http.StatusMovedPermanently || e.Region != "ch-dk-2" || e.Op != "head-bucket" {
		t.Fatalf("HEAD in the other zone: %+v (%v)", e, err)
	}

	// The name is taken in the other zone: the answer names the zone that
	// holds it as a field (X-Amz-Bucket-Region), not only in words.
	_, err = at.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("s3c-b")})
	if e := s3client.ErrorOf(err); e == nil || e.Code != "BucketAlreadyExists" || e.StatusCode != http.StatusConflict || e.Region != "ch-dk-2" {
		t.Fatalf("create of a name taken in the other zone: %+v (%v)", e, err)
	}
	_, err = ch.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("s3c-b")})
	if e := s3client.ErrorOf(err); e == nil || e.Code != "BucketAlreadyOwnedByYou" || e.Region != "ch-dk-2" {
		t.Fatalf("create of a name taken in the same zone: %+v (%v)", e, err)
	}

	// Unsigned requests (no access key) are anonymous: refused.
	anon := v.root("ch-dk-2")
	anon.AccessKey, anon.Secret = "", ""
	_, err = s3client.New(anon).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("s3c-b"), Key: aws.String("x")})
	if e := s3client.ErrorOf(err); e == nil || e.Code != "AccessDenied" || e.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous GET: %+v (%v)", e, err)
	}

	wrong := v.root("ch-dk-2")
	wrong.Secret = "not-the-secret"
	_, err = s3client.New(wrong).ListBuckets(ctx, &s3.ListBucketsInput{})
	if e := s3client.ErrorOf(err); e == nil || e.Code != "SignatureDoesNotMatch" || e.StatusCode != http.StatusForbidden || e.Op != "list-buckets" {
		t.Fatalf("wrong secret: %+v (%v)", e, err)
	}

	// No answer at all: not an S3 error.
	gone := v.root("ch-dk-2")
	gone.Endpoint = closedEndpoint(t)
	gone.MaxAttempts = 1
	_, err = s3client.New(gone).ListBuckets(ctx, &s3.ListBucketsInput{})
	if err == nil || s3client.ErrorOf(err) != nil || s3client.Code(err) != "" {
		t.Fatalf("unreachable zone: ErrorOf(%v) = %+v", err, s3client.ErrorOf(err))
	}
	if s3client.ErrorOf(nil) != nil || s3client.ErrorOf(context.Canceled) != nil {
		t.Error("ErrorOf of nil or a plain error is not nil")
	}
}

// closedEndpoint is the URL of a port that nothing listens on.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

const replPolicy = `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
 {"action":"allow","expression":"parameters.bucket == 's3c-src' && operation == 'get-object'"},
 {"action":"allow","expression":"parameters.bucket == 's3c-dst' && operation.startsWith('put-object')"}]}}}`

func TestReplicationCalls(t *testing.T) {
	v := startDev(t)
	ctx := t.Context()
	ch, at := s3client.New(v.root("ch-dk-2")), s3client.New(v.root("at-vie-1"))
	versionedBucket(t, ch, "s3c-src")
	versionedBucket(t, at, "s3c-dst")
	pol, err := iam.ParsePolicy([]byte(replPolicy))
	if err != nil {
		t.Fatal(err)
	}
	role, _, err := v.d.Control.Plane.CreateRole(ctx, control.RoleSpec{Name: "s3c-repl", Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	r := s3client.NewReplication(v.root("ch-dk-2"))

	// No configuration yet.
	_, err = r.GetConfig(ctx, "s3c-src")
	if e := s3client.ErrorOf(err); e == nil || e.Code != "ReplicationConfigurationNotFoundError" || e.StatusCode != http.StatusNotFound || e.Op != "get-bucket-replication" {
		t.Fatalf("GetConfig without a configuration: %+v (%v)", e, err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ReplicationConfigurationNotFoundError" {
		t.Errorf("a raw call's error is a smithy.APIError: %v", err)
	}
	if _, err := r.Status(ctx, "s3c-src"); s3client.Code(err) != "ReplicationConfigurationNotFoundError" {
		t.Errorf("Status without a configuration: %v", err)
	}
	if err := r.DeleteConfig(ctx, "s3c-src"); s3client.Code(err) != "ReplicationConfigurationNotFoundError" {
		t.Errorf("DeleteConfig without a configuration: %v", err)
	}

	cfg, err := replconfig.ParseJSON([]byte(`{"Role":"` + role.ID + `","Rules":[{"ID":"to-dst","Priority":1,"Filter":{"Prefix":""},
	 "Status":"Enabled","DeleteMarkerReplication":{"Status":"Enabled"},"Destination":{"Bucket":"s3c-dst"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// The zone learns the new role by watching the control plane.
	deadline := time.Now().Add(20 * time.Second)
	for {
		err = r.PutConfig(ctx, "s3c-src", cfg)
		if err == nil || s3client.Code(err) != "InvalidArgument" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("PutConfig: %v", err)
	}
	got, err := r.GetConfig(ctx, "s3c-src")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.XML(), cfg.XML()) {
		t.Fatalf("GetConfig = %s, want %s", got.XML(), cfg.XML())
	}

	if _, err := ch.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("s3c-src"), Key: aws.String("doc"), Body: strings.NewReader("replicate me")}); err != nil {
		t.Fatal(err)
	}
	var st s3client.ReplicationStatus
	deadline = time.Now().Add(30 * time.Second)
	for {
		st, err = r.Status(ctx, "s3c-src")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Rules) == 1 && st.Rules[0].Completed == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	rs := st.Rules
	if st.Bucket != "s3c-src" || len(rs) != 1 || rs[0].ID != "to-dst" || rs[0].Destination != "s3c-dst" || rs[0].Status != "Enabled" ||
		rs[0].Completed != 1 || rs[0].Pending != 0 || rs[0].Failed != 0 || rs[0].Failures == nil {
		t.Fatalf("Status = %+v", st)
	}
	if n, err := r.Resync(ctx, "s3c-src"); err != nil || n != 0 {
		t.Errorf("Resync of a replicated bucket = %d, %v", n, err)
	}
	if n, err := r.Retry(ctx, "s3c-src"); err != nil || n != 0 {
		t.Errorf("Retry without failures = %d, %v", n, err)
	}

	// A bucket of another zone: the redirect names its zone.
	atRepl := s3client.NewReplication(v.root("at-vie-1"))
	err = atRepl.PutConfig(ctx, "s3c-src", cfg)
	if e := s3client.ErrorOf(err); e == nil || e.StatusCode != http.StatusMovedPermanently || e.Region != "ch-dk-2" || e.Op != "put-bucket-replication" {
		t.Fatalf("PutConfig in the other zone: %+v (%v)", e, err)
	}

	if err := r.DeleteConfig(ctx, "s3c-src"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetConfig(ctx, "s3c-src"); s3client.Code(err) != "ReplicationConfigurationNotFoundError" {
		t.Errorf("GetConfig after DeleteConfig: %v", err)
	}
}

func TestReplicationRefusalsAndBadInput(t *testing.T) {
	v := startDev(t)
	ctx := t.Context()
	versionedBucket(t, s3client.New(v.root("ch-dk-2")), "s3c-c")

	// The zone checks the signature of sigv4.Sign: a wrong secret is refused.
	wrong := v.root("ch-dk-2")
	wrong.Secret = "not-the-secret"
	_, err := s3client.NewReplication(wrong).GetConfig(ctx, "s3c-c")
	if e := s3client.ErrorOf(err); e == nil || e.Code != "SignatureDoesNotMatch" || e.StatusCode != http.StatusForbidden || e.Message == "" {
		t.Fatalf("wrong secret: %+v (%v)", e, err)
	}
	anon := v.root("ch-dk-2")
	anon.AccessKey, anon.Secret = "", ""
	if _, err := s3client.NewReplication(anon).Status(ctx, "s3c-c"); s3client.Code(err) != "AccessDenied" {
		t.Errorf("anonymous Status: %v", err)
	}
	_, err = s3client.NewReplication(v.root("ch-dk-2")).Resync(ctx, "no-such-bucket")
	if e := s3client.ErrorOf(err); e == nil || e.Code != "NoSuchBucket" || e.StatusCode != http.StatusNotFound {
		t.Errorf("Resync of a missing bucket: %+v (%v)", e, err)
	}

	gone := v.root("ch-dk-2")
	gone.Endpoint = closedEndpoint(t)
	_, err = s3client.NewReplication(gone).GetConfig(ctx, "s3c-c")
	var ue *url.Error
	if err == nil || s3client.ErrorOf(err) != nil || !errors.As(err, &ue) {
		t.Errorf("unreachable zone: %v", err)
	}

	r := s3client.NewReplication(v.root("ch-dk-2"))
	if err := r.PutConfig(ctx, "s3c-c", nil); err == nil {
		t.Error("PutConfig(nil) succeeded")
	}
	if _, err := r.Status(ctx, ""); err == nil {
		t.Error("Status of no bucket succeeded")
	}
	noEndpoint := v.root("ch-dk-2")
	noEndpoint.Endpoint = ""
	if _, err := s3client.NewReplication(noEndpoint).Retry(ctx, "s3c-c"); err == nil || s3client.ErrorOf(err) != nil {
		t.Errorf("no endpoint: %v", err)
	}
}
