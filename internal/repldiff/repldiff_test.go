package repldiff

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// pagedBucket serves a fixed listing two entries per page, as S3 pages.
type pagedBucket struct {
	entries []Version
	calls   int
}

func (b *pagedBucket) ListObjectVersions(_ context.Context, in *s3.ListObjectVersionsInput, _ ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	b.calls++
	start := 0
	if in.KeyMarker != nil {
		for i, e := range b.entries {
			if e.Key == *in.KeyMarker && e.VersionID == aws.ToString(in.VersionIdMarker) {
				start = i + 1
			}
		}
	}
	end := min(start+2, len(b.entries))
	out := &s3.ListObjectVersionsOutput{IsTruncated: aws.Bool(end < len(b.entries))}
	for _, e := range b.entries[start:end] {
		if e.DeleteMarker {
			out.DeleteMarkers = append(out.DeleteMarkers, types.DeleteMarkerEntry{Key: aws.String(e.Key), VersionId: aws.String(e.VersionID)})
		} else {
			out.Versions = append(out.Versions, types.ObjectVersion{Key: aws.String(e.Key), VersionId: aws.String(e.VersionID), ETag: aws.String(`"` + e.ETag + `"`), Size: aws.Int64(e.Size)})
		}
	}
	if end < len(b.entries) {
		out.NextKeyMarker = aws.String(b.entries[end-1].Key)
		out.NextVersionIdMarker = aws.String(b.entries[end-1].VersionID)
	}
	return out, nil
}

func TestCompareSame(t *testing.T) {
	vs := []Version{
		{Key: "a", VersionID: "2", ETag: "e2", Size: 3},
		{Key: "a", VersionID: "1", ETag: "e1", Size: 2},
		{Key: "b", VersionID: "3", DeleteMarker: true},
		{Key: "b", VersionID: "1", ETag: "e3", Size: 9},
		{Key: "c", VersionID: "1", ETag: "e4", Size: 1},
	}
	src, dst := &pagedBucket{entries: vs}, &pagedBucket{entries: vs}
	diffs, err := Compare(context.Background(), src, dst, "s", "d")
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 0 {
		t.Fatalf("same buckets: got differences %v", diffs)
	}
	if src.calls != 3 {
		t.Fatalf("want 3 pages listed, got %d", src.calls)
	}
}

func TestCompareDifferences(t *testing.T) {
	src := &pagedBucket{entries: []Version{
		{Key: "a", VersionID: "1", ETag: "e1", Size: 2},
		{Key: "b", VersionID: "1", ETag: "e2", Size: 5},
		{Key: "c", VersionID: "1", ETag: "e3", Size: 5},
		{Key: "d", VersionID: "2", DeleteMarker: true},
		{Key: "e", VersionID: "1", ETag: "e5", Size: 5},
	}}
	dst := &pagedBucket{entries: []Version{
		{Key: "b", VersionID: "1", ETag: "e2", Size: 6},
		{Key: "c", VersionID: "1", ETag: "zz", Size: 5},
		{Key: "d", VersionID: "2", ETag: "e4", Size: 1},
		{Key: "e", VersionID: "1", ETag: "e5", Size: 5},
		{Key: "f", VersionID: "1", ETag: "e6", Size: 7},
	}}
	diffs, err := Compare(context.Background(), src, dst, "s", "d")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		key  string
		kind Kind
		text string
	}{
		{"a", MissingInDestination, "a (version 1): only in the source (2 bytes, ETag e1), missing in the destination"},
		{"b", SizeDiffers, "b (version 1): size differs: source 5 bytes, destination 6 bytes"},
		{"c", ETagDiffers, "c (version 1): ETag differs: source e3, destination zz"},
		{"d", DeleteMarkerDiffers, "d (version 2): the source holds a delete marker, the destination 1 bytes, ETag e4"},
		{"f", MissingInSource, "f (version 1): only in the destination (7 bytes, ETag e6), missing in the source"},
	}
	if len(diffs) != len(want) {
		t.Fatalf("got %d differences %v, want %d", len(diffs), diffs, len(want))
	}
	for i, w := range want {
		d := diffs[i]
		if d.Key != w.key || d.Kind != w.kind || d.String() != w.text {
			t.Errorf("difference %d: got %s %s %q, want %s %s %q", i, d.Key, d.Kind, d.String(), w.key, w.kind, w.text)
		}
	}
}

type failing struct{}

func (failing) ListObjectVersions(context.Context, *s3.ListObjectVersionsInput, ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	return nil, errors.New("boom")
}

type stuck struct{}

func (stuck) ListObjectVersions(context.Context, *s3.ListObjectVersionsInput, ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	return &s3.ListObjectVersionsOutput{IsTruncated: aws.Bool(true)}, nil
}

func TestCompareErrors(t *testing.T) {
	ok := &pagedBucket{}
	if _, err := Compare(context.Background(), ok, failing{}, "s", "d"); err == nil || !strings.Contains(err.Error(), "list versions of d: boom") {
		t.Fatalf("got %v", err)
	}
	if _, err := Compare(context.Background(), stuck{}, ok, "s", "d"); err == nil || !strings.Contains(err.Error(), "do not advance") {
		t.Fatalf("got %v", err)
	}
}
