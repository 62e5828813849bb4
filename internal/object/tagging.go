package object

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"sos/internal/meta"
)

// GetTagging returns the tags of a version (the latest when versionID is
// "") and the version ID it read.
func (s *Service) GetTagging(ctx context.Context, bucket, key, versionID string) (map[string]string, string, error) {
	v, err := s.lookup(ctx, bucket, key, versionID)
	if err != nil {
		return nil, "", err
	}
	if v.IsDeleteMarker {
		return nil, "", s.markerErr(ctx, v, versionID)
	}
	tags := v.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return tags, info(v, false, s.versioned(ctx, v)).VersionID, nil
}

func (s *Service) markerErr(ctx context.Context, v meta.Version, versionID string) error {
	e := &DeleteMarkerError{Info: info(v, versionID == "", s.versioned(ctx, v)), Err: ErrNoSuchKey}
	if versionID != "" {
		e.Err = ErrMethodNotAllowed
	}
	return e
}

// PutTagging replaces the tags of a version and returns its version ID.
// When the bucket replicates the version, the change is queued for its
// destinations (meta.OpTags) in the same commit.
func (s *Service) PutTagging(ctx context.Context, bucket, key, versionID string, tags map[string]string) (string, error) {
	if err := checkTags(tags); err != nil {
		return "", err
	}
	return s.setTags(ctx, bucket, key, versionID, maps.Clone(tags))
}

// DeleteTagging removes the tags of a version and returns its version ID.
func (s *Service) DeleteTagging(ctx context.Context, bucket, key, versionID string) (string, error) {
	return s.setTags(ctx, bucket, key, versionID, nil)
}

func (s *Service) setTags(ctx context.Context, bucket, key, versionID string, tags map[string]string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	if err := checkVersionID(versionID); err != nil {
		return "", err
	}
	if len(tags) == 0 {
		tags = nil
	}
	var id string
	unlock := s.lockKey(bucket, key)
	defer unlock()
	err := s.update(ctx, func(tx meta.Tx) error {
		b, err := bucketOf(ctx, tx, bucket)
		if err != nil {
			return err
		}
		v, err := tx.Version(ctx, bucket, key, versionID)
		if errors.Is(err, meta.ErrNotFound) {
			if versionID == "" {
				return fmt.Errorf("%w: %s", ErrNoSuchKey, key)
			}
			return fmt.Errorf("%w: %s version %s", ErrNoSuchVersion, key, versionID)
		}
		if err != nil {
			return err
		}
		if v.IsDeleteMarker {
			return s.markerErr(ctx, v, versionID)
		}
		v.Tags = tags
		entries, err := s.planReplication(b, &v, meta.OpTags)
		if err != nil {
			return err
		}
		if err := tx.PutVersion(ctx, v); err != nil {
			return err
		}
		for _, e := range entries {
			if err := tx.PutOutbox(ctx, e); err != nil {
				return err
			}
		}
		id = info(v, false, b.Versioning != meta.Unversioned).VersionID
		return nil
	})
	return id, err
}
