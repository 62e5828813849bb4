package s3api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"sos/internal/object"
)

// wireHeaders sends a root-signed request without a body and returns the
// response's status line and header block exactly as they crossed the wire
// (net/http's client would canonicalise the names).
func (e *env) wireHeaders(method, path string) string {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	sum := sha256.Sum256(nil)
	ph := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", ph)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret}, req, ph, "s3", e.zone, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	cfg := e.srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	conn, err := tls.Dial("tcp", e.srv.Listener.Addr().String(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	if err := req.Write(conn); err != nil {
		e.t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	var head strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			e.t.Fatalf("reading the answer: %v (so far: %q)", err, head.String())
		}
		if line == "\r\n" {
			return head.String()
		}
		head.WriteString(line)
	}
}

// User metadata names come back as they were stored, in lower case: boto3
// and awscli show the name as it arrives, and code reading "mykey" failed
// on X-Amz-Meta-Mykey.
func TestUserMetadataNamesStayLowerCase(t *testing.T) {
	e := newEnv(t, false)
	e.mkBucket("meta", false)
	if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("meta"), Key: aws.String("k"),
		Body: strings.NewReader("x"), Metadata: map[string]string{"mykey": "v1", "two-words": "v2"}}); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		head := e.wireHeaders(method, "/meta/k")
		for _, want := range []string{"\r\nx-amz-meta-mykey: v1\r\n", "\r\nx-amz-meta-two-words: v2\r\n"} {
			if !strings.Contains(head, want) {
				t.Errorf("%s: no %q in\n%s", method, strings.TrimSpace(want), head)
			}
		}
	}
}

// An empty continuation-token= is no token (exo storage download and
// delete send one on the first page).
func TestEmptyContinuationTokenIsAbsent(t *testing.T) {
	e := newEnv(t, false)
	e.mkBucket("tok", false)
	e.put("tok", "a", "1")
	resp, body := e.rootRaw("GET", "/tok?list-type=2&continuation-token=", nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("<Key>a</Key>")) || bytes.Contains(body, []byte("<ContinuationToken>")) {
		t.Fatalf("empty token: %d %s", resp.StatusCode, body)
	}
	resp, body = e.rootRaw("GET", "/tok?list-type=2&continuation-token=%25%25", nil, nil)
	wantRawError(t, resp, body, http.StatusBadRequest, "InvalidArgument")
}

// While versioning is suspended, a PUT, copy or complete writes the null
// version, and S3 sends no x-amz-version-id for it.
func TestSuspendedWritesSendNoVersionID(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("susp", true)
	e.mkBucketVersioning("susp", types.BucketVersioningStatusSuspended)
	if head := e.wireHeaders("PUT", "/susp/k"); strings.Contains(strings.ToLower(head), "x-amz-version-id") {
		t.Errorf("PUT on a suspended bucket:\n%s", head)
	}
	cp, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("susp"), Key: aws.String("copy"), CopySource: aws.String("susp/k")})
	if err != nil || cp.VersionId != nil {
		t.Errorf("copy on a suspended bucket: version %v, %v", aws.ToString(cp.VersionId), err)
	}
	up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("susp"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("susp"), Key: aws.String("mp"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("susp"), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}})
	if err != nil || done.VersionId != nil {
		t.Errorf("complete on a suspended bucket: version %v, %v", aws.ToString(done.VersionId), err)
	}
	// Enabled again: a version ID, as before.
	e.mkBucketVersioning("susp", types.BucketVersioningStatusEnabled)
	if out := e.put("susp", "k", "v2"); aws.ToString(out.VersionId) == "" || aws.ToString(out.VersionId) == "null" {
		t.Errorf("PUT on an enabled bucket: version %q", aws.ToString(out.VersionId))
	}
}

// A PUT without Content-Type stores the type it is served with, so that a
// replica (written from what the source stored) shows the same type.
func TestMissingContentTypeIsStored(t *testing.T) {
	e := newEnv(t, false)
	e.mkBucket("ctype", false)
	resp, body := e.rootRaw("PUT", "/ctype/k", []byte("data"), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	out, err := e.objects.HeadObject(context.Background(), object.GetInput{Bucket: "ctype", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if info := out.Info; info.Attrs.ContentType != "binary/octet-stream" {
		t.Fatalf("stored Content-Type %q, want binary/octet-stream", info.Attrs.ContentType)
	}
}

// A bucket whose only content is multipart uploads in progress is deleted,
// uploads and all, as S3 does.
func TestDeleteBucketWithOnlyUploads(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("uploads-only", false)
	up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("uploads-only"), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("uploads-only"), Key: aws.String("big"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("part one")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("uploads-only")}); err != nil {
		t.Fatalf("delete a bucket holding only an upload: %v", err)
	}
	_, err = e.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("uploads-only")})
	if err == nil {
		t.Fatal("the bucket is still there")
	}
}

// TestURLEncodingAsS3: encoding-type=url encodes listing values as S3
// does: "/" stays as it is (it was %2F), a space is "+", "+" and "%" are
// escaped, and UTF-8 goes out as %XX.
func TestURLEncodingAsS3(t *testing.T) {
	e := newZoneEnv(t, zone, false)
	ctx := context.Background()
	e.mkBucket("enc", false)
	keys := []string{"run books/x.txt", "a+b.txt", "100%.csv", "한글/x.txt"}
	for _, k := range keys {
		if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("enc"), Key: aws.String(k), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := e.rootRaw("GET", "/enc?list-type=2&encoding-type=url&delimiter=/&prefix=", nil, nil)
	for _, want := range []string{
		"<Key>a%2Bb.txt</Key>", "<Key>100%25.csv</Key>", "<Delimiter>/</Delimiter>",
		"<CommonPrefixes><Prefix>run+books/</Prefix></CommonPrefixes>",
		"<CommonPrefixes><Prefix>%ED%95%9C%EA%B8%80/</Prefix></CommonPrefixes>",
	} {
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("listing lacks %s:\n%s", want, body)
		}
	}
	resp, body = e.rootRaw("GET", "/enc?encoding-type=url&prefix=run%20books/", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<Key>run+books/x.txt</Key>") {
		t.Errorf("v1 listing:\n%s", body)
	}
}
