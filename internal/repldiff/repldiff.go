package repldiff

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Lister lists object versions of a bucket. *s3.Client implements it. An
// implementation MUST page like S3 does: IsTruncated with NextKeyMarker and
// NextVersionIdMarker when more versions follow.
type Lister interface {
	ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
}

// Kind says what differs between the two sides for one version.
type Kind int

const (
	// MissingInDestination: the version exists in the source only.
	MissingInDestination Kind = iota + 1
	// MissingInSource: the version exists in the destination only.
	MissingInSource
	// DeleteMarkerDiffers: one side holds a delete marker, the other an object.
	DeleteMarkerDiffers
	// ETagDiffers: both sides hold the object version with different ETags.
	ETagDiffers
	// SizeDiffers: both sides hold the object version with different sizes.
	SizeDiffers
)

func (k Kind) String() string {
	switch k {
	case MissingInDestination:
		return "missing-in-destination"
	case MissingInSource:
		return "missing-in-source"
	case DeleteMarkerDiffers:
		return "delete-marker-differs"
	case ETagDiffers:
		return "etag-differs"
	case SizeDiffers:
		return "size-differs"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Version is one object version or delete marker as listed.
type Version struct {
	Key          string
	VersionID    string
	DeleteMarker bool
	ETag         string // without quotes
	Size         int64
	LastModified time.Time
}

func (v Version) describe() string {
	if v.DeleteMarker {
		return "a delete marker"
	}
	return fmt.Sprintf("%d bytes, ETag %s", v.Size, v.ETag)
}

// Difference is one version that is not the same on both sides. Source or
// Destination is nil when the version is missing on that side.
type Difference struct {
	Key         string
	VersionID   string
	Kind        Kind
	Source      *Version
	Destination *Version
}

// String says in words what differs.
func (d Difference) String() string {
	what := fmt.Sprintf("%s (version %s)", d.Key, d.VersionID)
	switch d.Kind {
	case MissingInDestination:
		return fmt.Sprintf("%s: only in the source (%s), missing in the destination", what, d.Source.describe())
	case MissingInSource:
		return fmt.Sprintf("%s: only in the destination (%s), missing in the source", what, d.Destination.describe())
	case DeleteMarkerDiffers:
		return fmt.Sprintf("%s: the source holds %s, the destination %s", what, d.Source.describe(), d.Destination.describe())
	case ETagDiffers:
		return fmt.Sprintf("%s: ETag differs: source %s, destination %s", what, d.Source.ETag, d.Destination.ETag)
	case SizeDiffers:
		return fmt.Sprintf("%s: size differs: source %d bytes, destination %d bytes", what, d.Source.Size, d.Destination.Size)
	}
	return what + ": " + d.Kind.String()
}

// List returns every version and delete marker of bucket, ordered by key
// (within a key: its versions newest first, then its delete markers newest
// first; Diff matches them by version ID, so the order within a key does
// not matter).
func List(ctx context.Context, l Lister, bucket string) ([]Version, error) {
	var out []Version
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)}
	for page := 0; ; page++ {
		res, err := l.ListObjectVersions(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list versions of %s: %w", bucket, err)
		}
		for _, v := range res.Versions {
			out = append(out, Version{
				Key:          aws.ToString(v.Key),
				VersionID:    aws.ToString(v.VersionId),
				ETag:         strings.Trim(aws.ToString(v.ETag), `"`),
				Size:         aws.ToInt64(v.Size),
				LastModified: aws.ToTime(v.LastModified),
			})
		}
		for _, m := range res.DeleteMarkers {
			out = append(out, Version{
				Key:          aws.ToString(m.Key),
				VersionID:    aws.ToString(m.VersionId),
				DeleteMarker: true,
				LastModified: aws.ToTime(m.LastModified),
			})
		}
		if !aws.ToBool(res.IsTruncated) {
			break
		}
		next := &s3.ListObjectVersionsInput{
			Bucket:          in.Bucket,
			KeyMarker:       res.NextKeyMarker,
			VersionIdMarker: res.NextVersionIdMarker,
		}
		if aws.ToString(next.KeyMarker) == aws.ToString(in.KeyMarker) && aws.ToString(next.VersionIdMarker) == aws.ToString(in.VersionIdMarker) {
			return nil, fmt.Errorf("list versions of %s: the listing is truncated but its markers do not advance", bucket)
		}
		in = next
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

type versionKey struct{ key, id string }

// Compare lists every version of srcBucket (through src) and dstBucket
// (through dst) and returns the versions that differ, ordered by key and
// version ID. Versions are matched by key and version ID, which replication
// keeps. An empty result means both buckets hold the same versions.
func Compare(ctx context.Context, src, dst Lister, srcBucket, dstBucket string) ([]Difference, error) {
	sv, err := List(ctx, src, srcBucket)
	if err != nil {
		return nil, err
	}
	dv, err := List(ctx, dst, dstBucket)
	if err != nil {
		return nil, err
	}
	return Diff(sv, dv), nil
}

// Diff compares two listings (as List returns them).
func Diff(src, dst []Version) []Difference {
	dm := make(map[versionKey]*Version, len(dst))
	for i := range dst {
		dm[versionKey{dst[i].Key, dst[i].VersionID}] = &dst[i]
	}
	seen := make(map[versionKey]bool, len(src))
	var diffs []Difference
	for i := range src {
		s := &src[i]
		k := versionKey{s.Key, s.VersionID}
		seen[k] = true
		d, ok := dm[k]
		diff := Difference{Key: s.Key, VersionID: s.VersionID, Source: s, Destination: d}
		switch {
		case !ok:
			diff.Kind = MissingInDestination
		case s.DeleteMarker != d.DeleteMarker:
			diff.Kind = DeleteMarkerDiffers
		case s.DeleteMarker:
			continue
		case s.Size != d.Size:
			diff.Kind = SizeDiffers
		case s.ETag != d.ETag:
			diff.Kind = ETagDiffers
		default:
			continue
		}
		diffs = append(diffs, diff)
	}
	for i := range dst {
		d := &dst[i]
		if !seen[versionKey{d.Key, d.VersionID}] {
			diffs = append(diffs, Difference{Key: d.Key, VersionID: d.VersionID, Kind: MissingInSource, Destination: d})
		}
	}
	sort.SliceStable(diffs, func(i, j int) bool {
		if diffs[i].Key != diffs[j].Key {
			return diffs[i].Key < diffs[j].Key
		}
		return diffs[i].VersionID < diffs[j].VersionID
	})
	return diffs
}
