package object

import (
	"context"

	"sos/internal/meta"
)

// BucketUsage is the space a bucket takes: every version counts, the
// noncurrent ones too, as storage is billed.
type BucketUsage struct {
	Bucket  string
	Size    int64 // bytes of all versions
	Objects int64 // number of versions, delete markers excluded
}

// Usage sums the versions of every bucket from metadata (no data is read).
func (s *Service) Usage(ctx context.Context) ([]BucketUsage, error) {
	buckets, err := s.meta.Buckets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]BucketUsage, 0, len(buckets))
	for _, b := range buckets {
		u := BucketUsage{Bucket: b.Name}
		err := s.meta.ScanVersions(ctx, meta.ScanOptions{Bucket: b.Name}, func(v meta.Version) error {
			if !v.IsDeleteMarker {
				u.Size += v.Size
				u.Objects++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}
