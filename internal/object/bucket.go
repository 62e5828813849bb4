package object

import (
	"context"
	"errors"
	"fmt"

	"sos/internal/bucketname"
	"sos/internal/meta"
	"sos/internal/replconfig"
)

// checkBucketName applies S3's rules for general purpose bucket names
// (bucketname.Check) to the name of a new bucket.
func checkBucketName(name string) error {
	var e *bucketname.Error
	if err := bucketname.Check(name); errors.As(err, &e) {
		return fmt.Errorf("%w: %q %s", ErrInvalidBucketName, e.Name, e.Reason)
	} else if err != nil {
		return err
	}
	return nil
}

// CreateBucket registers name in the global namespace (when a Registry is
// set) and then creates the bucket in this zone.
func (s *Service) CreateBucket(ctx context.Context, name string) error {
	if err := checkBucketName(name); err != nil {
		return err
	}
	unlock := s.lockBucket(name)
	defer unlock()
	if _, err := s.meta.Bucket(ctx, name); err == nil {
		return fmt.Errorf("%w: %s", ErrBucketOwnedByYou, name)
	} else if !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	if s.registry != nil {
		if err := s.registry.Register(ctx, name); err != nil {
			return err
		}
	}
	err := s.update(ctx, func(tx meta.Tx) error {
		return tx.PutBucket(ctx, meta.Bucket{Name: name, Zone: s.zone, CreatedAt: s.now().UTC()})
	})
	if err != nil && s.registry != nil {
		if uerr := s.registry.Unregister(context.WithoutCancel(ctx), name); uerr != nil {
			s.log.Error("bucket creation failed and its name could not be released", "bucket", name, "err", uerr)
		}
	}
	return err
}

// DeleteBucket deletes an empty bucket (no version, delete marker or
// upload left) and releases its name.
func (s *Service) DeleteBucket(ctx context.Context, name string) error {
	unlock := s.lockBucket(name)
	defer unlock()
	b, err := bucketOf(ctx, s.meta, name)
	if err != nil {
		return err
	}
	empty := true
	err = s.meta.ScanVersions(ctx, meta.ScanOptions{Bucket: name}, func(meta.Version) error {
		empty = false
		return meta.ErrStop
	})
	if err != nil {
		return err
	}
	if !empty {
		return fmt.Errorf("%w: %s holds objects, versions or delete markers", ErrBucketNotEmpty, name)
	}
	// Multipart uploads in progress do not keep a bucket: as S3 does, they
	// go with it, in the same commit (their part blobs after it).
	var freed []string
	err = s.update(ctx, func(tx meta.Tx) error {
		freed = nil
		var uploads []string
		if err := tx.ScanUploads(ctx, name, func(u meta.Upload) error {
			uploads = append(uploads, u.UploadID)
			return nil
		}); err != nil {
			return err
		}
		for _, id := range uploads {
			parts, err := tx.Parts(ctx, name, id, false)
			if err != nil {
				return err
			}
			for _, p := range parts {
				if p.BlobID != "" {
					freed = append(freed, p.BlobID)
				}
			}
			if err := tx.DeleteUpload(ctx, name, id); err != nil {
				return err
			}
		}
		return tx.DeleteBucket(ctx, name)
	})
	if err != nil {
		return err
	}
	s.dropBlobs(ctx, freed)
	if s.registry != nil {
		// Past the local delete the request's end must not stop half-way:
		// the name is released, or the bucket is put back, whether or not
		// the client is still there.
		ctx := context.WithoutCancel(ctx)
		if err := s.registry.Unregister(ctx, name); err != nil {
			// Put the bucket back so that the caller can retry and the
			// name stays consistent with the registry.
			if rerr := s.update(ctx, func(tx meta.Tx) error { return tx.PutBucket(ctx, b) }); rerr != nil {
				s.log.Error("bucket deleted but its name could not be released", "bucket", name, "err", err, "restore_err", rerr)
			}
			return fmt.Errorf("releasing bucket name %s: %w", name, err)
		}
	}
	return nil
}

// Bucket returns a bucket of this zone, or ErrNoSuchBucket.
func (s *Service) Bucket(ctx context.Context, name string) (meta.Bucket, error) {
	return bucketOf(ctx, s.meta, name)
}

// ListBuckets returns the buckets of this zone ordered by name.
func (s *Service) ListBuckets(ctx context.Context) ([]meta.Bucket, error) {
	return s.meta.Buckets(ctx)
}

// SetVersioning sets a bucket's versioning to Enabled or Suspended. A
// bucket never goes back to Unversioned, and a bucket with a replication
// configuration cannot be suspended.
func (s *Service) SetVersioning(ctx context.Context, bucket string, v meta.Versioning) error {
	if v != meta.Enabled && v != meta.Suspended {
		return fmt.Errorf("%w: versioning status must be Enabled or Suspended, not %q", ErrInvalidArgument, v)
	}
	unlock := s.lockBucket(bucket)
	defer unlock()
	return s.update(ctx, func(tx meta.Tx) error {
		b, err := bucketOf(ctx, tx, bucket)
		if err != nil {
			return err
		}
		if v == meta.Suspended && b.Replication != nil {
			return fmt.Errorf("%w: replication requires versioning Enabled; delete the replication configuration of %s first", ErrInvalidRequest, bucket)
		}
		if b.Versioning == v {
			return nil
		}
		b.Versioning = v
		return tx.PutBucket(ctx, b)
	})
}

// SetReplication stores a replication configuration (nil removes it). It
// checks cfg with S3's rules (ErrInvalidArgument), the bucket must have
// versioning Enabled, and each destination must pass the
// DestinationChecker when one is set. OnReplicationChange hears of each
// success.
func (s *Service) SetReplication(ctx context.Context, bucket string, cfg *replconfig.Config) error {
	if err := s.setReplication(ctx, bucket, cfg); err != nil {
		return err
	}
	if s.onReplChg != nil {
		s.onReplChg(bucket)
	}
	return nil
}

func (s *Service) setReplication(ctx context.Context, bucket string, cfg *replconfig.Config) error {
	if cfg != nil {
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
		}
	}
	unlock := s.lockBucket(bucket)
	defer unlock()
	b, err := bucketOf(ctx, s.meta, bucket)
	if err != nil {
		return err
	}
	if cfg != nil {
		if b.Versioning != meta.Enabled {
			return fmt.Errorf("%w: replication requires versioning Enabled on %s", ErrInvalidRequest, bucket)
		}
		if s.dests != nil {
			seen := map[string]bool{}
			for _, r := range cfg.Rules {
				d := r.DestBucket()
				if seen[d] {
					continue
				}
				seen[d] = true
				if d == bucket {
					return fmt.Errorf("%w: a bucket cannot replicate to itself", ErrInvalidRequest)
				}
				if err := s.dests.CheckDestination(ctx, d); err != nil {
					if errors.Is(err, ErrUnavailable) {
						return err // cannot tell now: not the configuration's fault
					}
					return fmt.Errorf("%w: destination bucket %s: %v", ErrInvalidRequest, d, err)
				}
			}
		}
	} else if b.Replication == nil {
		return nil
	}
	rec := replicationRecord(cfg)
	return s.update(ctx, func(tx meta.Tx) error {
		b, err := bucketOf(ctx, tx, bucket)
		if err != nil {
			return err
		}
		b.Replication = rec
		return tx.PutBucket(ctx, b)
	})
}

// Replication returns a bucket's replication configuration, or
// ErrReplicationConfigNotFound.
func (s *Service) Replication(ctx context.Context, bucket string) (*replconfig.Config, error) {
	b, err := bucketOf(ctx, s.meta, bucket)
	if err != nil {
		return nil, err
	}
	cfg := ReplicationOf(b)
	if cfg == nil {
		return nil, fmt.Errorf("%w: %s", ErrReplicationConfigNotFound, bucket)
	}
	return cfg, nil
}
