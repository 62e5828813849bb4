package object

import (
	"context"
	"fmt"
	"maps"

	"sos/internal/meta"
)

// MaxBucketTags is S3's limit on the tags of a bucket.
const MaxBucketTags = 50

// SetBucketTags replaces a bucket's tags (nil or empty removes them) after
// S3's rules: at most 50, keys of 1 to 128 and values of at most 256
// characters, no aws: prefix (ErrInvalidTag).
func (s *Service) SetBucketTags(ctx context.Context, bucket string, tags map[string]string) error {
	if err := checkTagSet(tags, MaxBucketTags); err != nil {
		return err
	}
	if len(tags) == 0 {
		tags = nil
	}
	tags = maps.Clone(tags)
	unlock := s.lockBucket(bucket)
	defer unlock()
	return s.update(ctx, func(tx meta.Tx) error {
		b, err := bucketOf(ctx, tx, bucket)
		if err != nil {
			return err
		}
		if tags == nil && b.Tags == nil {
			return nil
		}
		b.Tags = tags
		return tx.PutBucket(ctx, b)
	})
}

// BucketTags returns a bucket's tags, or ErrNoSuchTagSet when it has none.
func (s *Service) BucketTags(ctx context.Context, bucket string) (map[string]string, error) {
	b, err := bucketOf(ctx, s.meta, bucket)
	if err != nil {
		return nil, err
	}
	if len(b.Tags) == 0 {
		return nil, fmt.Errorf("%w: bucket %s has no tags", ErrNoSuchTagSet, bucket)
	}
	return maps.Clone(b.Tags), nil
}
