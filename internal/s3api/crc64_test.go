package s3api_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// CRC64NVME is one of S3's checksum algorithms (the SDKs' choice for
// full-object checksums): a PUT that names it is stored and verified.
func TestCRC64NVMEChecksum(t *testing.T) {
	e := newEnv(t, false)
	e.mkBucket("crcbkt", false)
	ctx := context.Background()
	out, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("crcbkt"), Key: aws.String("k"),
		Body: strings.NewReader("hello world"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc64nvme})
	if err != nil {
		t.Fatal(err)
	}
	if out.ChecksumCRC64NVME == nil || *out.ChecksumCRC64NVME == "" {
		t.Fatalf("no CRC64NVME in the answer")
	}
	g, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("crcbkt"), Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(g.Body) // the SDK verifies the checksum at EOF
	g.Body.Close()
	if err != nil || string(b) != "hello world" {
		t.Fatalf("%q %v", b, err)
	}
	if aws.ToString(g.ChecksumCRC64NVME) != aws.ToString(out.ChecksumCRC64NVME) {
		t.Fatalf("GET says %v, PUT said %v", aws.ToString(g.ChecksumCRC64NVME), aws.ToString(out.ChecksumCRC64NVME))
	}
	resp, body := e.rootRaw("PUT", "/crcbkt/bad", []byte("abc"), map[string]string{"X-Amz-Checksum-Crc64nvme": "AAAAAAAAAAA="})
	wantRawError(t, resp, body, 400, "BadDigest")
}
