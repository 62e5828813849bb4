package replication_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"sos/internal/meta"
	"sos/internal/server/repltest"
)

// partRead is what a GET or HEAD ?partNumber=N answers, for comparing the
// two sides.
type partRead struct {
	code                  string // S3 error code, "" on success
	etag, contentRange    string
	partsCount            int32
	length                int64
	data                  []byte
	headLength, headParts int64
}

func readPart(t *testing.T, z *repltest.Zone, bucket, key string, n int32) partRead {
	t.Helper()
	ctx := context.Background()
	var pr partRead
	g, err := z.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), PartNumber: aws.Int32(n)})
	if err != nil {
		var ae smithy.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("GET %s/%s?partNumber=%d on %s: %v", bucket, key, n, z.Name, err)
		}
		pr.code = ae.ErrorCode()
	} else {
		pr.data, err = io.ReadAll(g.Body)
		g.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		pr.etag, pr.contentRange = aws.ToString(g.ETag), aws.ToString(g.ContentRange)
		pr.partsCount, pr.length = aws.ToInt32(g.PartsCount), aws.ToInt64(g.ContentLength)
	}
	h, err := z.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), PartNumber: aws.Int32(n)})
	if err == nil {
		pr.headLength, pr.headParts = aws.ToInt64(h.ContentLength), int64(aws.ToInt32(h.PartsCount))
	} else if pr.code == "" {
		t.Fatalf("HEAD %s/%s?partNumber=%d on %s: %v, GET answered", bucket, key, n, z.Name, err)
	}
	return pr
}

func (p partRead) String() string {
	if p.code != "" {
		return "error " + p.code
	}
	return fmt.Sprintf("%d bytes (Content-Length %d, HEAD %d), ETag %s, PartsCount %d (HEAD %d), Content-Range %q",
		len(p.data), p.length, p.headLength, p.etag, p.partsCount, p.headParts, p.contentRange)
}

// TestReplicaPartReads uploads multipart objects (one under the multipart
// replication threshold, one over it) and a large single-part one, waits
// for their replicas, and reads every part (and one past the last) on both
// sides: bytes, ETag, PartsCount and Content-Range must be the same, and
// the replica stores the source's part layout (the sizes
// GetObjectAttributes' ObjectParts lists).
func TestReplicaPartReads(t *testing.T) {
	c := repltest.NewCluster(t)
	c.SetRole(roleLeader, "r", policy("src", "dst"))
	a, b := c.AddZone("ch-dk-2", repltest.ZoneOptions{}), c.AddZone("at-vie-1", repltest.ZoneOptions{})
	pair(t, c, a, "src", b, "dst", roleLeader, true)
	ctx := context.Background()
	const mib = 1 << 20
	objects := []struct {
		key   string
		parts []int // nil: one PutObject of size bytes
		size  int
	}{
		{key: "three-parts", parts: []int{5 * mib, 5 * mib, 1 * mib}},            // under the 16 MiB threshold
		{key: "four-parts", parts: []int{6 * mib, 5 * mib, 5 * mib, 3*mib + 17}}, // over it
		{key: "single", size: 20 * mib},                                          // one part, sent in pieces
	}
	for _, o := range objects {
		if o.parts == nil {
			data := make([]byte, o.size)
			rand.Read(data)
			if _, err := a.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String(o.key), Body: bytes.NewReader(data)}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		up, err := a.Client().CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("src"), Key: aws.String(o.key)})
		if err != nil {
			t.Fatal(err)
		}
		var done []types.CompletedPart
		for i, n := range o.parts {
			data := make([]byte, n)
			rand.Read(data)
			p, err := a.Client().UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("src"), Key: aws.String(o.key), UploadId: up.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(data)})
			if err != nil {
				t.Fatal(err)
			}
			done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: p.ETag})
		}
		if _, err := a.Client().CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("src"), Key: aws.String(o.key),
			UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range objects {
		waitStatus(t, a, "src", o.key, "", meta.ReplCompleted)
	}
	for _, o := range objects {
		t.Run(o.key, func(t *testing.T) {
			for n := int32(1); n <= int32(max(len(o.parts), 1))+1; n++ {
				src, dst := readPart(t, a, "src", o.key, n), readPart(t, b, "dst", o.key, n)
				if src.code != dst.code || src.etag != dst.etag || src.contentRange != dst.contentRange || src.partsCount != dst.partsCount ||
					src.length != dst.length || src.headLength != dst.headLength || src.headParts != dst.headParts || !bytes.Equal(src.data, dst.data) {
					t.Errorf("part %d: source %v, replica %v", n, src, dst)
				}
				if n <= int32(len(o.parts)) && len(src.data) != o.parts[n-1] {
					t.Errorf("part %d: %d bytes, uploaded %d", n, len(src.data), o.parts[n-1])
				}
			}
			// What GetObjectAttributes' ObjectParts is made of.
			sv, err := a.Meta().Version(ctx, "src", o.key, "")
			if err != nil {
				t.Fatal(err)
			}
			rv, err := b.Meta().Version(ctx, "dst", o.key, "")
			if err != nil {
				t.Fatal(err)
			}
			if sv.PartsCount != rv.PartsCount || sv.ETag != rv.ETag || fmt.Sprint(partSizes(sv)) != fmt.Sprint(partSizes(rv)) && sv.PartsCount > 0 {
				t.Errorf("stored layout: source %d parts %v ETag %s, replica %d parts %v ETag %s",
					sv.PartsCount, partSizes(sv), sv.ETag, rv.PartsCount, partSizes(rv), rv.ETag)
			}
		})
	}
}

func partSizes(v meta.Version) []int64 {
	var s []int64
	for _, p := range v.Parts {
		s = append(s, p.Size)
	}
	return s
}
