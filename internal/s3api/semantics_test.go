package s3api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// httpErr returns the HTTP response behind an SDK error.
func httpErr(t *testing.T, err error) *http.Response {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("not an HTTP response error: %v", err)
	}
	return re.Response.Response
}

// wantHeaders checks response headers; "" means absent.
func wantHeaders(t *testing.T, what string, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q (all: %v)", what, k, got, v, h)
		}
	}
}

func TestConditionalResponsesCarryValidators(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("cond", true)
	put, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"),
		Body: strings.NewReader("conditional"), CacheControl: aws.String("max-age=5")})
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("cond"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	etag, vid := aws.ToString(put.ETag), aws.ToString(put.VersionId)
	lm := h.LastModified.UTC().Format(http.TimeFormat)
	validators := map[string]string{"ETag": etag, "Last-Modified": lm, "X-Amz-Version-Id": vid}

	// 304 on GET and HEAD, for If-None-Match and If-Modified-Since.
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"), IfNoneMatch: aws.String(etag)})
	resp := httpErr(t, err)
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("GET If-None-Match: %d", resp.StatusCode)
	}
	wantHeaders(t, "GET 304", resp.Header, validators)
	wantHeaders(t, "GET 304", resp.Header, map[string]string{"Cache-Control": "max-age=5", "Content-Type": ""})
	_, err = e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"), IfModifiedSince: aws.Time(time.Now().Add(time.Hour))})
	resp = httpErr(t, err)
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("HEAD If-Modified-Since: %d", resp.StatusCode)
	}
	wantHeaders(t, "HEAD 304", resp.Header, validators)
	// By version ID too.
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"), VersionId: aws.String(vid), IfNoneMatch: aws.String("*")})
	wantHeaders(t, "GET by version 304", httpErr(t, err).Header, validators)

	// 412 on GET and HEAD, with the failed condition named in the body.
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"), IfMatch: aws.String(`"nope"`)})
	wantCode(t, err, "PreconditionFailed")
	wantHeaders(t, "GET 412", httpErr(t, err).Header, validators)
	_, err = e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"), IfUnmodifiedSince: aws.Time(time.Now().Add(-time.Hour))})
	resp = httpErr(t, err)
	if resp.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("HEAD If-Unmodified-Since: %d", resp.StatusCode)
	}
	wantHeaders(t, "HEAD 412", resp.Header, validators)
	raw, body := e.rootRaw("GET", "/cond/k", nil, map[string]string{"If-Match": `"nope"`})
	wantRawError(t, raw, body, 412, "PreconditionFailed")
	if !bytes.Contains(body, []byte("<Condition>If-Match</Condition>")) {
		t.Fatalf("412 without the condition: %s", body)
	}
	raw, body = e.rootRaw("PUT", "/cond/copy", nil, map[string]string{"X-Amz-Copy-Source": "/cond/k", "X-Amz-Copy-Source-If-None-Match": etag})
	wantRawError(t, raw, body, 412, "PreconditionFailed")
	if !bytes.Contains(body, []byte("<Condition>x-amz-copy-source-If-None-Match</Condition>")) {
		t.Fatalf("copy 412 without the condition: %s", body)
	}

	// 416 tells the object's length.
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"), Range: aws.String("bytes=100-")})
	wantCode(t, err, "InvalidRange")
	wantHeaders(t, "416", httpErr(t, err).Header, map[string]string{"Content-Range": "bytes */11", "ETag": ""})

	// An unversioned bucket shows no version ID.
	e.mkBucket("plain", false)
	p := e.put("plain", "k", "x")
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("plain"), Key: aws.String("k"), IfNoneMatch: p.ETag})
	resp = httpErr(t, err)
	wantHeaders(t, "unversioned 304", resp.Header, map[string]string{"ETag": aws.ToString(p.ETag), "X-Amz-Version-Id": ""})
	if resp.Header.Get("Last-Modified") == "" {
		t.Fatal("unversioned 304 without Last-Modified")
	}
}

func TestDeleteMarkerResponses(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("dmk", true)
	v1 := aws.ToString(e.put("dmk", "k", "one").VersionId)
	del, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("dmk"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	marker := aws.ToString(del.VersionId)
	if marker == "" || marker == v1 {
		t.Fatalf("marker version %q", marker)
	}
	latest := map[string]string{"X-Amz-Delete-Marker": "true", "X-Amz-Version-Id": marker, "Allow": ""}
	byVersion := map[string]string{"X-Amz-Delete-Marker": "true", "X-Amz-Version-Id": marker, "Allow": "DELETE"}

	// The newest version is the marker: 404 NoSuchKey naming it.
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dmk"), Key: aws.String("k")})
	wantCode(t, err, "NoSuchKey")
	wantHeaders(t, "GET latest marker", httpErr(t, err).Header, latest)
	_, err = e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dmk"), Key: aws.String("k")})
	resp := httpErr(t, err)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HEAD latest marker: %d", resp.StatusCode)
	}
	wantHeaders(t, "HEAD latest marker", resp.Header, latest)

	// The marker asked by version ID: 405, Allow: DELETE.
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dmk"), Key: aws.String("k"), VersionId: aws.String(marker)})
	wantCode(t, err, "MethodNotAllowed")
	resp = httpErr(t, err)
	wantHeaders(t, "GET marker by version", resp.Header, byVersion)
	if resp.Header.Get("Last-Modified") == "" {
		t.Error("405 without Last-Modified")
	}
	_, err = e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dmk"), Key: aws.String("k"), VersionId: aws.String(marker)})
	resp = httpErr(t, err)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("HEAD marker by version: %d", resp.StatusCode)
	}
	wantHeaders(t, "HEAD marker by version", resp.Header, byVersion)
	_, err = e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("dmk"), Key: aws.String("k"), VersionId: aws.String(marker)})
	wantCode(t, err, "MethodNotAllowed")
	wantHeaders(t, "tagging of a marker", httpErr(t, err).Header, byVersion)

	// The older version still reads; a key that never existed has no
	// marker headers.
	if got, _, err := e.get("dmk", "k", v1); err != nil || got != "one" {
		t.Fatalf("old version: %v %q", err, got)
	}
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dmk"), Key: aws.String("never")})
	wantCode(t, err, "NoSuchKey")
	wantHeaders(t, "missing key", httpErr(t, err).Header, map[string]string{"X-Amz-Delete-Marker": "", "X-Amz-Version-Id": ""})

	// Under Suspended the marker is the null version.
	e.mkBucketVersioning("dmk", types.BucketVersioningStatusSuspended)
	e.put("dmk", "s", "suspended")
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("dmk"), Key: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dmk"), Key: aws.String("s")})
	wantHeaders(t, "null marker", httpErr(t, err).Header, map[string]string{"X-Amz-Delete-Marker": "true", "X-Amz-Version-Id": "null"})
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dmk"), Key: aws.String("s"), VersionId: aws.String("null")})
	wantCode(t, err, "MethodNotAllowed")
	wantHeaders(t, "null marker by version", httpErr(t, err).Header, map[string]string{"X-Amz-Delete-Marker": "true", "X-Amz-Version-Id": "null", "Allow": "DELETE"})
}

func TestMetadataAndPartListErrors(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("lim", false)
	// 2 KiB of names and values is allowed, one byte more is not.
	exact := map[string]string{"a": strings.Repeat("x", 2047)}
	over := map[string]string{"a": strings.Repeat("x", 1000), "b": strings.Repeat("y", 1047)}
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lim"), Key: aws.String("k"), Body: strings.NewReader("x"), Metadata: exact}); err != nil {
		t.Fatalf("2 KiB of metadata: %v", err)
	}
	_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lim"), Key: aws.String("k2"), Body: strings.NewReader("x"), Metadata: over})
	wantCode(t, err, "MetadataTooLarge")
	if s := httpErr(t, err).StatusCode; s != 400 {
		t.Fatalf("MetadataTooLarge status %d", s)
	}
	_, err = e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("lim"), Key: aws.String("k3"), CopySource: aws.String("lim/k"),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: over})
	wantCode(t, err, "MetadataTooLarge")
	_, err = e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("lim"), Key: aws.String("k4"), Metadata: over})
	wantCode(t, err, "MetadataTooLarge")
	if _, _, err := e.get("lim", "k2", ""); err == nil {
		t.Fatal("an object with too much metadata was stored")
	}

	// CompleteMultipartUpload without parts is MalformedXML, as in S3.
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("lim"), Key: aws.String("mpu")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("lim"), Key: aws.String("mpu"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("part")}); err != nil {
		t.Fatal(err)
	}
	for _, mu := range []*types.CompletedMultipartUpload{{}, {Parts: []types.CompletedPart{}}, nil} {
		_, err = e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("lim"), Key: aws.String("mpu"), UploadId: cr.UploadId, MultipartUpload: mu})
		wantCode(t, err, "MalformedXML")
	}
	// The upload is still there.
	if _, err := e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("lim"), Key: aws.String("mpu"), UploadId: cr.UploadId}); err != nil {
		t.Fatal(err)
	}
}

func TestListingDetails(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	for _, b := range []string{"zeta", "alpha", "mid"} {
		e.mkBucket(b, b == "alpha")
	}
	lb, err := e.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range lb.Buckets {
		names = append(names, aws.ToString(b.Name))
		want := zone
		if aws.ToString(b.Name) == "elsewhere" { // the test locator's bucket of another zone
			want = "at-vie-1"
		}
		if aws.ToString(b.BucketRegion) != want || b.CreationDate == nil {
			t.Fatalf("bucket entry %+v", b)
		}
	}
	if strings.Join(names, ",") != "alpha,elsewhere,mid,zeta" {
		t.Fatalf("ListBuckets order: %v", names)
	}

	keys := []string{"a b", "a+c", "d/1", "d/2", "e"}
	for _, k := range keys {
		e.put("alpha", k, k)
	}
	// v1: NextMarker only with a delimiter.
	v1, err := e.s3.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("alpha"), MaxKeys: aws.Int32(2)})
	if err != nil || !aws.ToBool(v1.IsTruncated) || v1.NextMarker != nil || len(v1.Contents) != 2 {
		t.Fatalf("v1 without delimiter: %v %+v", err, v1)
	}
	v1, err = e.s3.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("alpha"), MaxKeys: aws.Int32(3), Delimiter: aws.String("/")})
	if err != nil || !aws.ToBool(v1.IsTruncated) || aws.ToString(v1.NextMarker) != "d/" {
		t.Fatalf("v1 with delimiter: %v %+v", err, v1)
	}
	v1, err = e.s3.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("alpha"), Marker: v1.NextMarker, Delimiter: aws.String("/")})
	if err != nil || len(v1.Contents) != 1 || aws.ToString(v1.Contents[0].Key) != "e" || aws.ToBool(v1.IsTruncated) {
		t.Fatalf("v1 from NextMarker: %v %+v", err, v1)
	}

	// encoding-type=url on versions and uploads.
	if _, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("alpha"), Key: aws.String("a b")}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.rootRaw("GET", "/alpha?versions&encoding-type=url&prefix=a&max-keys=1", nil, nil)
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("<Key>a+b</Key>")) || !bytes.Contains(body, []byte("<EncodingType>url</EncodingType>")) ||
		!bytes.Contains(body, []byte("<NextKeyMarker>a+b</NextKeyMarker>")) {
		t.Fatalf("versions encoding-type=url: %s", body)
	}
	resp, body = e.rootRaw("GET", "/alpha?uploads&encoding-type=url", nil, nil)
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("<Key>a+b</Key>")) || !bytes.Contains(body, []byte("<EncodingType>url</EncodingType>")) {
		t.Fatalf("uploads encoding-type=url: %s", body)
	}
	resp, body = e.rootRaw("GET", "/alpha?versions&encoding-type=base64", nil, nil)
	wantRawError(t, resp, body, 400, "InvalidArgument")
	// The SDK decodes what it asked to be encoded.
	lv, err := e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("alpha"), Prefix: aws.String("a+"), EncodingType: types.EncodingTypeUrl})
	if err != nil || len(lv.Versions) != 1 || aws.ToString(lv.Versions[0].Key) != "a%2Bc" && aws.ToString(lv.Versions[0].Key) != "a+c" {
		t.Fatalf("versions via SDK: %v %+v", err, lv)
	}
}

func TestObjectHeadersAndCannedDocuments(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("hdrs", false)
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("hdrs"), Key: aws.String("k"), Body: strings.NewReader("x"),
		Expires: aws.Time(exp), ContentEncoding: aws.String("identity"), Tagging: aws.String("a=1")}); err != nil {
		t.Fatal(err)
	}
	_, g, err := e.get("hdrs", "k", "")
	if err != nil || aws.ToString(g.ExpiresString) != exp.Format(http.TimeFormat) || aws.ToString(g.ContentEncoding) != "identity" || aws.ToInt32(g.TagCount) != 1 {
		t.Fatalf("get: %v %+v", err, g)
	}
	h, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("hdrs"), Key: aws.String("k")})
	if err != nil || aws.ToString(h.ExpiresString) != exp.Format(http.TimeFormat) || h.ContentType == nil {
		t.Fatalf("head: %v %+v", err, h)
	}
	// response-* overrides, all six, on GET.
	o, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("hdrs"), Key: aws.String("k"),
		ResponseCacheControl: aws.String("no-store"), ResponseContentDisposition: aws.String("attachment; filename=x"),
		ResponseContentEncoding: aws.String("gzip"), ResponseContentLanguage: aws.String("fr"),
		ResponseContentType: aws.String("text/x-over"), ResponseExpires: aws.Time(exp.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	o.Body.Close()
	if aws.ToString(o.CacheControl) != "no-store" || aws.ToString(o.ContentDisposition) != "attachment; filename=x" ||
		aws.ToString(o.ContentEncoding) != "gzip" || aws.ToString(o.ContentLanguage) != "fr" || aws.ToString(o.ContentType) != "text/x-over" ||
		aws.ToString(o.ExpiresString) != exp.Add(time.Hour).Format(http.TimeFormat) {
		t.Fatalf("overrides: %+v", o)
	}

	// Canned ACLs: the owner has FULL_CONTROL, as a CanonicalUser grantee.
	for _, path := range []string{"/hdrs?acl", "/hdrs/k?acl"} {
		resp, body := e.rootRaw("GET", path, nil, nil)
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`)) ||
			!bytes.Contains(body, []byte(`xsi:type="CanonicalUser"`)) || !bytes.Contains(body, []byte("<AccessControlList><Grant>")) {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	oacl, err := e.s3.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String("hdrs"), Key: aws.String("k")})
	if err != nil || oacl.Owner == nil || len(oacl.Grants) != 1 || oacl.Grants[0].Grantee.Type != types.TypeCanonicalUser ||
		aws.ToString(oacl.Grants[0].Grantee.ID) != aws.ToString(oacl.Owner.ID) || oacl.Grants[0].Permission != types.PermissionFullControl {
		t.Fatalf("object acl: %v %+v", err, oacl)
	}
	_, err = e.s3.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String("hdrs"), Key: aws.String("missing")})
	wantCode(t, err, "NoSuchKey")

	// CORS and ownership controls: nothing is configured, nothing can be.
	resp, body := e.rootRaw("GET", "/hdrs?cors", nil, nil)
	wantRawError(t, resp, body, 404, "NoSuchCORSConfiguration")
	if !bytes.Contains(body, []byte("<BucketName>hdrs</BucketName>")) || resp.Header.Get("X-Amz-Bucket-Region") != zone {
		t.Fatalf("cors: %v %s", resp.Header, body)
	}
	resp, body = e.rootRaw("GET", "/hdrs?ownershipControls", nil, nil)
	wantRawError(t, resp, body, 404, "OwnershipControlsNotFoundError")
	_, err = e.s3.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("hdrs"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"*"}}}}})
	if err != nil {
		t.Fatalf("PutBucketCors: %v", err)
	}
	_, err = e.s3.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String("nope-nope")})
	wantCode(t, err, "NoSuchBucket")
}

func TestBucketLocationOfEachZone(t *testing.T) {
	for _, z := range []string{"ch-dk-2", "at-vie-1"} {
		t.Run(z, func(t *testing.T) {
			e := newZoneEnv(t, z, false)
			ctx := context.Background()
			_, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("loc"),
				CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(z)}})
			if err != nil {
				t.Fatal(err)
			}
			loc, err := e.s3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("loc")})
			if err != nil || string(loc.LocationConstraint) != z {
				t.Fatalf("location: %v %+v", err, loc)
			}
			hb, err := e.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("loc")})
			if err != nil || aws.ToString(hb.BucketRegion) != z {
				t.Fatalf("head bucket: %v %+v", err, hb)
			}
			other := map[string]string{"ch-dk-2": "at-vie-1", "at-vie-1": "ch-dk-2"}[z]
			_, err = e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("loc2"),
				CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(other)}})
			wantCode(t, err, "IllegalLocationConstraintException")
			resp, body := e.rootRaw("GET", "/loc?location", nil, nil)
			if resp.StatusCode != 200 || !bytes.Contains(body, []byte(fmt.Sprintf(`<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">%s</LocationConstraint>`, z))) {
				t.Fatalf("location XML: %s", body)
			}
		})
	}
}

func TestConditionalWrites(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("cwrite", true)
	put := func(body string, ifMatch, ifNoneMatch *string) (*s3.PutObjectOutput, error) {
		return e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cwrite"), Key: aws.String("k"), Body: strings.NewReader(body),
			IfMatch: ifMatch, IfNoneMatch: ifNoneMatch})
	}
	first, err := put("one", nil, aws.String("*"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = put("two", nil, aws.String("*"))
	wantCode(t, err, "PreconditionFailed")
	_, err = put("two", aws.String(`"00000000000000000000000000000000"`), nil)
	wantCode(t, err, "PreconditionFailed")
	_, err = put("two", nil, first.ETag)
	wantCode(t, err, "NotImplemented")
	if _, err := put("two", first.ETag, nil); err != nil {
		t.Fatal(err)
	}
	if got, _, err := e.get("cwrite", "k", ""); err != nil || got != "two" {
		t.Fatalf("after If-Match: %v %q", err, got)
	}
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cwrite"), Key: aws.String("new"), Body: strings.NewReader("x"), IfMatch: first.ETag})
	wantCode(t, err, "NoSuchKey")
	resp, body := e.rootRaw("PUT", "/cwrite/k", []byte("three"), map[string]string{"If-None-Match": "*"})
	wantRawError(t, resp, body, 412, "PreconditionFailed")
	if !bytes.Contains(body, []byte("<Condition>If-None-Match</Condition>")) {
		t.Fatalf("412 without the condition: %s", body)
	}
	lv, err := e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("cwrite"), Prefix: aws.String("k")})
	if err != nil || len(lv.Versions) != 2 {
		t.Fatalf("failed conditional writes left versions: %v %+v", err, lv)
	}
}
