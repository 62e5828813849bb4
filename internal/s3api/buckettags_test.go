package s3api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestBucketTagging puts, gets and deletes bucket tags with the SDK, with
// S3's limits and errors.
func TestBucketTagging(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("tagged", false)
	bucket := aws.String("tagged")

	_, err := e.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: bucket})
	wantCode(t, err, "NoSuchTagSet")
	_, err = e.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("nowhere")})
	wantCode(t, err, "NoSuchBucket")

	var fifty []types.Tag
	for i := range 50 {
		fifty = append(fifty, types.Tag{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String(strings.Repeat("v", 256))})
	}
	fifty[0].Key = aws.String(strings.Repeat("k", 128))
	fifty[1].Value = aws.String("")
	if _, err := e.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: bucket, Tagging: &types.Tagging{TagSet: fifty}}); err != nil {
		t.Fatalf("50 tags at the limits: %v", err)
	}
	got, err := e.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.TagSet) != 50 || aws.ToString(got.TagSet[0].Key) != "k01" || aws.ToString(got.TagSet[0].Value) != "" {
		t.Fatalf("GetBucketTagging = %d tags, first %+v", len(got.TagSet), got.TagSet[0])
	}

	tags := func(kv ...string) *types.Tagging {
		tg := &types.Tagging{TagSet: []types.Tag{}}
		for i := 0; i < len(kv); i += 2 {
			tg.TagSet = append(tg.TagSet, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return tg
	}
	for name, c := range map[string]struct {
		tagging *types.Tagging
		word    string
	}{
		"51 tags":       {&types.Tagging{TagSet: append(fifty, types.Tag{Key: aws.String("one-more"), Value: aws.String("")})}, "at most 50"},
		"duplicate key": {tags("team", "a", "team", "b"), "same key"},
		"aws: prefix":   {tags("aws:cloudformation", "x"), "aws:"},
		"long key":      {tags(strings.Repeat("k", 129), "x"), "128"},
		"long value":    {tags("k", strings.Repeat("v", 257)), "256"},
		"empty key":     {tags("", "x"), "empty tag key"},
	} {
		_, err := e.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: bucket, Tagging: c.tagging})
		wantCode(t, err, "InvalidTag")
		if !strings.Contains(err.Error(), c.word) {
			t.Errorf("%s: message does not say %q: %v", name, c.word, err)
		}
	}
	resp, body := e.rootRaw(http.MethodPut, "/tagged?tagging", []byte("<Tagging><TagSet><Tag><Key>a"), nil)
	wantRawError(t, resp, body, 400, "MalformedXML")
	resp, body = e.rootRaw(http.MethodPut, "/tagged?tagging", []byte("<Tagging><TagSet><Tag><Value>a</Value></Tag></TagSet></Tagging>"), nil)
	wantRawError(t, resp, body, 400, "MalformedXML")
	// Nothing bad was stored.
	if got, err := e.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: bucket}); err != nil || len(got.TagSet) != 50 {
		t.Fatalf("after the refusals: %v %v", got, err)
	}

	if _, err := e.s3.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: bucket})
	wantCode(t, err, "NoSuchTagSet")
	if _, err := e.s3.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: bucket}); err != nil {
		t.Fatalf("deleting no tags: %v", err)
	}
	// An empty TagSet removes the tags too.
	if _, err := e.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: bucket, Tagging: tags("a", "1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: bucket, Tagging: tags()}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: bucket})
	wantCode(t, err, "NoSuchTagSet")

	_, err = e.client(readerKey, readerSec, "").PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: bucket, Tagging: tags("a", "1")})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "put-bucket-tagging") {
		t.Errorf("denial does not name put-bucket-tagging: %v", err)
	}
}
