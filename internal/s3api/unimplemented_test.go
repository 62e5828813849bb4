package s3api_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// A header that would change what S3 stores or who may read it, and that
// sos does not implement, is refused with NotImplemented: nothing is stored,
// and a value that is what sos does anyway (STANDARD, private) still works.
func TestUnimplementedHeadersAreRefused(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("plain", true)
	key := make([]byte, 32)
	sum := md5.Sum(key)
	sseKey, sseMD5 := base64.StdEncoding.EncodeToString(key), base64.StdEncoding.EncodeToString(sum[:])
	body := func() *strings.Reader { return strings.NewReader("secret data") }

	refused := []struct {
		name string
		call func(k string) error
		want string // part of the message
	}{
		{"SSE-C put", func(k string) error {
			_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String(k), Body: body(),
				SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(sseKey), SSECustomerKeyMD5: aws.String(sseMD5)})
			return err
		}, "x-amz-server-side-encryption-customer-algorithm"},
		{"SSE-S3 put", func(k string) error {
			_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String(k), Body: body(),
				ServerSideEncryption: types.ServerSideEncryptionAes256})
			return err
		}, "server-side encryption"},
		{"KMS multipart", func(k string) error {
			_, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("plain"), Key: aws.String(k),
				ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("k1")})
			return err
		}, "server-side encryption"},
		{"retention on put", func(k string) error {
			_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String(k), Body: body(),
				ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(time.Hour))})
			return err
		}, "Object Lock retention"},
		{"legal hold on copy", func(k string) error {
			_, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("plain"), Key: aws.String(k), CopySource: aws.String("plain/source"),
				ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
			return err
		}, "legal hold"},
		{"glacier", func(k string) error {
			_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String(k), Body: body(),
				StorageClass: types.StorageClassGlacier})
			return err
		}, "storage class"},
		{"redirect", func(k string) error {
			_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String(k), Body: body(),
				WebsiteRedirectLocation: aws.String("/elsewhere")})
			return err
		}, "website redirects"},
		{"public-read", func(k string) error {
			_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String(k), Body: body(),
				ACL: types.ObjectCannedACLPublicRead})
			return err
		}, "canned ACL"},
		{"grant", func(k string) error {
			_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String(k), Body: body(),
				GrantRead: aws.String(`uri="http://acs.amazonaws.com/groups/global/AllUsers"`)})
			return err
		}, "ACL grants"},
	}
	e.put("plain", "source", "copy me")
	for _, c := range refused {
		k := "refused-" + strings.ReplaceAll(c.name, " ", "-")
		err := c.call(k)
		var ae smithy.APIError
		if err == nil || !errors.As(err, &ae) || ae.ErrorCode() != "NotImplemented" || !strings.Contains(ae.ErrorMessage(), c.want) {
			t.Errorf("%s: want NotImplemented mentioning %q, got %v", c.name, c.want, err)
			continue
		}
		if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("plain"), Key: aws.String(k)}); err == nil {
			t.Errorf("%s: refused, yet %s was stored", c.name, k)
		}
	}

	// A GET with an SSE-C key is refused too: it must not be served as if
	// the stored object had been encrypted with it.
	_, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("plain"), Key: aws.String("source"),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(sseKey), SSECustomerKeyMD5: aws.String(sseMD5)})
	wantCode(t, err, "NotImplemented")

	// CreateBucket with Object Lock is refused; without it (false) works.
	_, err = e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("locked"), ObjectLockEnabledForBucket: aws.Bool(true)})
	wantCode(t, err, "NotImplemented")
	if _, err := e.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("locked")}); err == nil {
		t.Error("a refused Object Lock bucket was created")
	}
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("unlocked"), ObjectLockEnabledForBucket: aws.Bool(false)}); err != nil {
		t.Errorf("lock disabled: %v", err)
	}

	// What sos does anyway is accepted.
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String("std"), Body: body(),
		StorageClass: types.StorageClassStandard, ACL: types.ObjectCannedACLPrivate}); err != nil {
		t.Errorf("STANDARD, private: %v", err)
	}
}
