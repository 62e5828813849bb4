package s3api_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"sos/internal/object"
)

// TestGetObjectAttributes asks the SDK for the attributes of a single-part
// object with a checksum, of a multipart object with paging through its
// parts, of an older version and of a delete marker, and sends bad
// attribute lists.
func TestGetObjectAttributes(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("attrs", true)
	b := aws.String("attrs")
	all := []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesChecksum, types.ObjectAttributesObjectParts,
		types.ObjectAttributesStorageClass, types.ObjectAttributesObjectSize}

	put, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("one"), Body: strings.NewReader("hello"),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: b, Key: aws.String("one"), ObjectAttributes: all})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(a.ETag) != md5hex("hello") || aws.ToInt64(a.ObjectSize) != 5 || a.StorageClass != types.StorageClassStandard ||
		a.ObjectParts != nil || a.Checksum == nil || aws.ToString(a.Checksum.ChecksumSHA256) != aws.ToString(put.ChecksumSHA256) ||
		aws.ToString(a.VersionId) != aws.ToString(put.VersionId) || a.LastModified == nil {
		t.Fatalf("single part: %+v checksum %+v", a, a.Checksum)
	}
	// Only what is asked for.
	a, err = e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: b, Key: aws.String("one"), ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectSize}})
	if err != nil || a.ETag != nil || a.Checksum != nil || a.StorageClass != "" || aws.ToInt64(a.ObjectSize) != 5 {
		t.Fatalf("ObjectSize only: %+v %v", a, err)
	}

	// Three parts: 5 MiB, 5 MiB, 3 bytes.
	up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("multi")})
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{object.MinPartSize, object.MinPartSize, 3}
	var done []types.CompletedPart
	for i, n := range sizes {
		p, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("multi"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(bytes.Repeat([]byte{byte('a' + i)}, n))})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: p.ETag})
	}
	comp, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("multi"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatal(err)
	}
	a, err = e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: b, Key: aws.String("multi"), ObjectAttributes: all, MaxParts: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	op := a.ObjectParts
	if op == nil || aws.ToInt32(op.TotalPartsCount) != 3 || !aws.ToBool(op.IsTruncated) || aws.ToInt32(op.MaxParts) != 2 ||
		aws.ToString(op.NextPartNumberMarker) != "2" || len(op.Parts) != 2 || aws.ToInt64(op.Parts[1].Size) != int64(object.MinPartSize) ||
		aws.ToInt32(op.Parts[0].PartNumber) != 1 || "\""+aws.ToString(a.ETag)+"\"" != aws.ToString(comp.ETag) ||
		aws.ToInt64(a.ObjectSize) != int64(2*object.MinPartSize+3) {
		t.Fatalf("multipart, first page: %+v parts %+v", a, op)
	}
	a, err = e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: b, Key: aws.String("multi"), ObjectAttributes: all,
		MaxParts: aws.Int32(2), PartNumberMarker: op.NextPartNumberMarker})
	if err != nil {
		t.Fatal(err)
	}
	if op = a.ObjectParts; op == nil || aws.ToBool(op.IsTruncated) || len(op.Parts) != 1 || aws.ToInt32(op.Parts[0].PartNumber) != 3 ||
		aws.ToInt64(op.Parts[0].Size) != 3 || aws.ToString(op.PartNumberMarker) != "2" {
		t.Fatalf("multipart, second page: %+v", op)
	}

	// An older version by ID, then the delete marker on top.
	second := e.put("attrs", "one", "hello, again")
	a, err = e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: b, Key: aws.String("one"), VersionId: put.VersionId, ObjectAttributes: all})
	if err != nil || aws.ToInt64(a.ObjectSize) != 5 || aws.ToString(a.VersionId) != aws.ToString(put.VersionId) {
		t.Fatalf("older version: %+v %v", a, err)
	}
	a, err = e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: b, Key: aws.String("one"), ObjectAttributes: all})
	if err != nil || aws.ToString(a.VersionId) != aws.ToString(second.VersionId) || aws.ToInt64(a.ObjectSize) != 12 {
		t.Fatalf("latest: %+v %v", a, err)
	}
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("one")}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.rootRaw(http.MethodGet, "/attrs/one?attributes", nil, map[string]string{"X-Amz-Object-Attributes": "ETag"})
	wantRawError(t, resp, body, 404, "NoSuchKey")
	if resp.Header.Get("X-Amz-Delete-Marker") != "true" || resp.Header.Get("X-Amz-Version-Id") == "" {
		t.Errorf("delete marker headers: %v", resp.Header)
	}
	_, err = e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: b, Key: aws.String("nothing"), ObjectAttributes: all})
	wantCode(t, err, "NoSuchKey")

	for name, c := range map[string]map[string]string{
		"no attributes":     nil,
		"empty attributes":  {"X-Amz-Object-Attributes": " , "},
		"unknown attribute": {"X-Amz-Object-Attributes": "ETag,Colour"},
		"bad max parts":     {"X-Amz-Object-Attributes": "ObjectParts", "X-Amz-Max-Parts": "many"},
		"negative marker":   {"X-Amz-Object-Attributes": "ObjectParts", "X-Amz-Part-Number-Marker": "-1"},
	} {
		resp, body := e.rootRaw(http.MethodGet, "/attrs/multi?attributes", nil, c)
		t.Run(name, func(t *testing.T) { wantRawError(t, resp, body, 400, "InvalidArgument") })
	}
	_, err = e.client(readerKey, readerSec, "").GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: b, Key: aws.String("multi"), ObjectAttributes: all})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "get-object-attributes") {
		t.Errorf("denial does not name get-object-attributes: %v", err)
	}
}
