package s3client_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sos/internal/auth/sigv4"
	"sos/internal/s3client"
)

func TestEncodeTags(t *testing.T) {
	got := s3client.EncodeTags(map[string]string{"b": "x y", "a": "1&2", "c": ""})
	if want := "a=1%262&b=x+y&c="; got != want {
		t.Fatalf("EncodeTags = %q, want %q", got, want)
	}
	if s3client.EncodeTags(nil) != "" {
		t.Fatal("no tags should encode to nothing")
	}
}

// seen is a request as a fake zone received it.
type seen struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// fakeZone answers every request with status (and an S3 error document
// when it is not 200), keeping what it received.
type fakeZone struct {
	mu     sync.Mutex
	status int
	got    []seen
}

func (f *fakeZone) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.got = append(f.got, seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body})
	status := f.status
	f.mu.Unlock()
	if status != http.StatusOK {
		w.WriteHeader(status)
		io.WriteString(w, `<Error><Code>InternalError</Code><Message>try again</Message></Error>`)
		return
	}
	switch {
	case r.URL.Query().Has("uploads"):
		io.WriteString(w, `<InitiateMultipartUploadResult><UploadId>up1</UploadId></InitiateMultipartUploadResult>`)
	case r.URL.Query().Has("uploadId") && r.Method == http.MethodPost:
		io.WriteString(w, `<CompleteMultipartUploadResult><ETag>"e-2"</ETag></CompleteMultipartUploadResult>`)
	case r.URL.Query().Has("uploadId"):
		w.Header().Set("ETag", `"p"`)
	}
}

func (f *fakeZone) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.got...)
}

// TestReplicasSendTheReplicaHeaders checks what replica writes put on the
// wire: the X-Sos-Replica-* headers of docs/replica-writes.md on the writes
// that create a version (not on parts, tags or the completion), the
// source's content headers and tags, the role session's token, and one
// attempt per request.
func TestReplicasSendTheReplicaHeaders(t *testing.T) {
	zone := &fakeZone{status: http.StatusOK}
	srv := httptest.NewServer(zone)
	defer srv.Close()
	ctx := t.Context()
	p := s3client.NewReplicas(s3client.Config{Endpoint: srv.URL, Region: "at-vie-1", HTTPClient: srv.Client()}, 5*time.Second)
	creds := s3client.Credentials{AccessKey: "SOSTMPkey", Secret: "s", SessionToken: "tok", Expires: time.Now().Add(time.Hour)}
	lm := time.Date(2025, 3, 1, 12, 0, 0, 5, time.UTC)
	r := s3client.Replica{Bucket: "dst", Key: "a b/c", VersionID: "v1", LastModified: lm, ETag: "abc-2", PartsCount: 2,
		Size: 5, ContentType: "text/plain", Expires: "Wed, 21 Oct 2026 07:28:00 GMT",
		Metadata: map[string]string{"color": "red"}, Tags: map[string]string{"k": "v w"}}

	if err := p.Put(ctx, creds, r, strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	dm := s3client.Replica{Bucket: "dst", Key: "gone", VersionID: "v2", LastModified: lm}
	if err := p.PutDeleteMarker(ctx, creds, dm); err != nil {
		t.Fatal(err)
	}
	if err := p.PutTags(ctx, creds, r); err != nil {
		t.Fatal(err)
	}
	big := r
	big.Size = 12
	if err := p.PutMultipart(ctx, creds, big, bytes.NewReader([]byte("0123456789ab")), 10); err != nil {
		t.Fatal(err)
	}
	got := zone.requests()
	if len(got) != 7 {
		t.Fatalf("%d requests, want put, delete marker, tags, create, 2 parts, complete: %+v", len(got), got)
	}
	replica := func(i int, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if g := got[i].header.Get(k); g != v {
				t.Errorf("request %d (%s %s?%s): %s = %q, want %q", i, got[i].method, got[i].path, got[i].query, k, g, v)
			}
		}
	}
	none := map[string]string{s3client.HeaderReplicaVersionID: "", s3client.HeaderReplicaLastModified: ""}
	object := map[string]string{
		s3client.HeaderReplicaVersionID: "v1", s3client.HeaderReplicaLastModified: lm.Format(time.RFC3339Nano),
		s3client.HeaderReplicaETag: "abc-2", s3client.HeaderReplicaPartsCount: "2", s3client.HeaderReplicaDeleteMarker: "",
		"Expires": r.Expires, "Content-Type": "text/plain", "X-Amz-Meta-Color": "red", "X-Amz-Tagging": "k=v+w",
		"X-Amz-Security-Token": "tok",
	}
	replica(0, object)
	if got[0].method != http.MethodPut || got[0].path != "/dst/a%20b/c" || string(got[0].body) != "hello" {
		t.Errorf("put: %s %s %q", got[0].method, got[0].path, got[0].body)
	}
	if !strings.Contains(got[0].header.Get("Authorization"), "SOSTMPkey/") || !strings.Contains(got[0].header.Get("Authorization"), "/at-vie-1/s3/aws4_request") {
		t.Errorf("put not signed with the session for the zone: %s", got[0].header.Get("Authorization"))
	}
	replica(1, map[string]string{s3client.HeaderReplicaVersionID: "v2", s3client.HeaderReplicaDeleteMarker: "true", s3client.HeaderReplicaETag: ""})
	if got[1].path != "/dst/gone" || len(got[1].body) != 0 {
		t.Errorf("delete marker: %s %q", got[1].path, got[1].body)
	}
	replica(2, none)
	if q, _ := url.ParseQuery(got[2].query); !q.Has("tagging") || q.Get("versionId") != "v1" || !strings.Contains(string(got[2].body), "<Key>k</Key><Value>v w</Value>") {
		t.Errorf("tags: %s %s", got[2].query, got[2].body)
	}
	replica(3, object) // CreateMultipartUpload
	replica(4, none)
	replica(5, none)
	replica(6, none)
	if string(got[4].body) != "0123456789" || string(got[5].body) != "ab" {
		t.Errorf("parts %q %q", got[4].body, got[5].body)
	}

	// One attempt: a 500 is the caller's to retry, and the error says
	// which call and object failed.
	zone.mu.Lock()
	zone.status, zone.got = http.StatusInternalServerError, nil
	zone.mu.Unlock()
	err := p.Put(ctx, creds, r, strings.NewReader("hello"))
	if n := len(zone.requests()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
	if e := s3client.ErrorOf(err); e == nil || e.StatusCode != 500 || e.Code != "InternalError" || !strings.HasPrefix(err.Error(), "PutObject dst/a b/c: ") {
		t.Errorf("error %v (%+v)", err, e)
	}
}

// TestRawCalls sends raw requests to a zone: object keys are escaped,
// errors are an *Error, a zone not reached is a *url.Error.
func TestRawCalls(t *testing.T) {
	v := startDev(t)
	ctx := t.Context()
	raw := s3client.NewRaw(v.root("ch-dk-2"))
	do := func(req s3client.RawRequest) (string, error) {
		t.Helper()
		res, err := raw.Do(ctx, req)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return string(b), err
	}
	if _, err := do(s3client.RawRequest{Op: "create-bucket", Method: http.MethodPut, Bucket: "s3c-raw", Body: []byte{}, PayloadHash: sigv4.EmptySHA256}); err != nil {
		t.Fatal(err)
	}
	if st, err := raw.BucketVersioning(ctx, "s3c-raw"); err != nil || st != "" {
		t.Fatalf("versioning of a new bucket: %q, %v", st, err)
	}
	key := "dir/a b+c?d%e"
	if _, err := do(s3client.RawRequest{Op: "put-object", Method: http.MethodPut, Bucket: "s3c-raw", Key: key, Body: []byte("raw"), PayloadHash: sigv4.UnsignedPayload}); err != nil {
		t.Fatal(err)
	}
	if _, err := do(s3client.RawRequest{Op: "put-object", Method: http.MethodPut, Bucket: "s3c-raw", Key: "hashed", Body: []byte("h")}); err != nil {
		t.Fatalf("a PUT whose payload hash is computed: %v", err)
	}
	out, err := s3client.New(v.root("ch-dk-2")).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("s3c-raw"), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("the raw PUT did not store %q: %v", key, err)
	}
	out.Body.Close()
	if body, err := do(s3client.RawRequest{Op: "get-object", Method: http.MethodGet, Bucket: "s3c-raw", Key: key}); err != nil || body != "raw" {
		t.Fatalf("GET = %q, %v", body, err)
	}

	_, err = raw.BucketVersioning(ctx, "s3c-none")
	if e := s3client.ErrorOf(err); e == nil || e.Code != "NoSuchBucket" || e.StatusCode != http.StatusNotFound || e.Op != "get-bucket-versioning" {
		t.Fatalf("versioning of a missing bucket: %v", err)
	}
	anon := s3client.NewRaw(s3client.Config{Endpoint: v.zones["ch-dk-2"], Region: "ch-dk-2"})
	if _, err := anon.BucketVersioning(ctx, "s3c-raw"); s3client.Code(err) != "AccessDenied" {
		t.Fatalf("an unsigned request: %v", err)
	}
	down := s3client.NewRaw(s3client.Config{Endpoint: closedEndpoint(t), Region: "ch-dk-2", AccessKey: "k", Secret: "s"})
	var ue *url.Error
	if _, err := down.BucketVersioning(ctx, "s3c-raw"); !errors.As(err, &ue) || s3client.ErrorOf(err) != nil {
		t.Fatalf("a zone not reached: %T %v", err, err)
	}
}
