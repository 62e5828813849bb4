package object

import (
	"context"
	"errors"
	"fmt"

	"sos/internal/meta"
	"sos/internal/versionid"
)

// newVersion is a version to commit whose data is already durable.
type newVersion struct {
	bucket, key  string
	deleteMarker bool
	inline       []byte
	blobID       string
	parts        []meta.PartRef
	size         int64
	etag         string
	partsCount   int
	checksums    map[string]string
	attrs        meta.Attrs
	tags         map[string]string
	replica      *ReplicaInfo
	// prepare, when set, runs first in the transaction and may fill in the
	// fields above (a completion reads and removes its upload there); it
	// returns blobs to delete after commit.
	prepare func(tx meta.Tx, nv *newVersion) ([]string, error)
}

// commitVersion writes a new version of a key under the key's lock: its
// ID comes from the clock (or the replica), it replaces a version with the
// same ID (the null version, or a replica written again), and it carries
// its replication outbox entries. The replaced version's blobs are deleted
// after the commit. On error nothing is written and the caller still owns
// the new version's blobs.
func (s *Service) commitVersion(ctx context.Context, nv newVersion) (meta.Version, meta.Bucket, error) {
	var (
		v        meta.Version
		b        meta.Bucket
		freed    []string
		conflict bool
	)
	unlock := s.lockKey(nv.bucket, nv.key)
	err := s.update(ctx, func(tx meta.Tx) error {
		freed, conflict = nil, false
		var err error
		if b, err = bucketOf(ctx, tx, nv.bucket); err != nil {
			return err
		}
		if nv.prepare != nil {
			if freed, err = nv.prepare(tx, &nv); err != nil {
				return err
			}
		}
		v = meta.Version{
			Bucket:         nv.bucket,
			Key:            nv.key,
			IsDeleteMarker: nv.deleteMarker,
			Size:           nv.size,
			ETag:           nv.etag,
			PartsCount:     nv.partsCount,
			Attrs:          nv.attrs,
			Tags:           nv.tags,
			Checksums:      nv.checksums,
			Inline:         nv.inline,
			BlobID:         nv.blobID,
			Parts:          nv.parts,
		}
		op := meta.OpPut
		if nv.deleteMarker {
			op = meta.OpDeleteMarker
		}
		if r := nv.replica; r != nil {
			if err := replicaAllowed(b); err != nil {
				return err
			}
			stamp, ok := versionid.Parse(r.VersionID)
			switch {
			case ok && !s.clock.Observe(stamp):
				return fmt.Errorf("%w: replica version ID %s is more than %v ahead of zone %s's clock (are the zones' clocks in step?)",
					ErrInvalidArgument, r.VersionID, versionid.MaxAhead, s.zone)
			case ok:
			case r.VersionID == meta.NullVersionID:
				stamp = s.clock.Now()
			default:
				return fmt.Errorf("%w: invalid replica version ID %q", ErrInvalidArgument, r.VersionID)
			}
			v.VersionID, v.Stamp = r.VersionID, stamp
			v.LastModified = r.LastModified.UTC()
			if r.LastModified.IsZero() {
				v.LastModified = s.now().UTC()
			}
			if r.ETag != "" {
				v.ETag = r.ETag
			}
			v.ReplicationStatus = meta.ReplReplica
			latest, err := tx.Version(ctx, nv.bucket, nv.key, "")
			switch {
			case err == nil:
				conflict = latest.VersionID != v.VersionID && latest.ReplicationStatus != meta.ReplReplica &&
					(latest.ReplicationStatus == meta.ReplPending || latest.Stamp > stamp)
			case !errors.Is(err, meta.ErrNotFound):
				return err
			}
		} else {
			// Mint above the key's newest stored version, whatever the wall
			// clock says now: a zone restarted with its clock behind must
			// still write the version that sorts newest.
			latest, err := tx.Version(ctx, nv.bucket, nv.key, "")
			switch {
			case err == nil:
				v.Stamp = s.clock.NowAfter(latest.Stamp)
			case errors.Is(err, meta.ErrNotFound):
				v.Stamp = s.clock.Now()
			default:
				return err
			}
			v.VersionID = meta.NullVersionID
			if b.Versioning == meta.Enabled {
				v.VersionID = versionid.Format(v.Stamp)
			}
			v.LastModified = s.now().UTC()
		}
		// PutVersion below replaces a version with the same ID; its blobs
		// are freed after the commit.
		old, err := tx.Version(ctx, nv.bucket, nv.key, v.VersionID)
		switch {
		case err == nil:
			freed = append(freed, blobsOf(old)...)
		case !errors.Is(err, meta.ErrNotFound):
			return err
		}
		entries, err := s.planReplication(b, &v, op)
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
		return nil
	})
	unlock()
	if err != nil {
		return meta.Version{}, meta.Bucket{}, err
	}
	s.dropBlobs(ctx, freed)
	if conflict && s.onConflict != nil {
		s.onConflict(nv.bucket, nv.key)
	}
	return v, b, nil
}

// PutObject stores an object (a new version under versioning Enabled, the
// null version otherwise) or, for replication, a replica of a source
// version or delete marker.
func (s *Service) PutObject(ctx context.Context, in PutInput) (ObjectInfo, error) {
	if err := checkPutSize(in.Size, false); err != nil {
		return ObjectInfo{}, err
	}
	if err := checkKey(in.Key); err != nil {
		return ObjectInfo{}, err
	}
	if err := checkAttrs(in.Attrs); err != nil {
		return ObjectInfo{}, err
	}
	if err := checkTags(in.Tags); err != nil {
		return ObjectInfo{}, err
	}
	if in.IsDeleteMarker && in.Replica == nil {
		return ObjectInfo{}, fmt.Errorf("%w: only replication writes delete markers", ErrInvalidArgument)
	}
	if in.Replica != nil && in.Replica.VersionID == "" {
		return ObjectInfo{}, fmt.Errorf("%w: a replica needs its source version ID", ErrInvalidArgument)
	}
	if in.Replica != nil && in.Replica.PartsCount != 0 {
		return ObjectInfo{}, fmt.Errorf("%w: a replica of a multipart object (%d parts) is written as a multipart upload of its source's parts, not with one PUT, so that its part boundaries are the source's",
			ErrInvalidArgument, in.Replica.PartsCount)
	}
	// The commit reads the bucket under the key lock. Before a body that
	// may become a blob is read, a missing bucket fails early; a small body
	// is read first, saving the commit's bucket read a twin.
	if in.Size < 0 || in.Size > int64(s.inlineMax) {
		if _, err := bucketOf(ctx, s.meta, in.Bucket); err != nil {
			return ObjectInfo{}, err
		}
	}
	nv := newVersion{bucket: in.Bucket, key: in.Key, attrs: in.Attrs, tags: in.Tags, replica: in.Replica}
	if in.IfMatch != "" || in.IfNoneMatch != "" {
		if in.IfNoneMatch != "" && in.IfNoneMatch != "*" {
			return ObjectInfo{}, fmt.Errorf("%w: a write takes If-None-Match: * only", ErrInvalidArgument)
		}
		check := func(ctx context.Context, r versionReader) error {
			return checkWriteConditions(ctx, r, in)
		}
		// Fail early, before the body is read; the commit checks again.
		if err := check(ctx, s.meta); err != nil {
			return ObjectInfo{}, err
		}
		nv.prepare = func(tx meta.Tx, _ *newVersion) ([]string, error) { return nil, check(ctx, tx) }
	}
	if in.IsDeleteMarker {
		nv.deleteMarker = true
		nv.attrs, nv.tags = meta.Attrs{}, nil
	} else {
		if in.Body == nil {
			return ObjectInfo{}, fmt.Errorf("%w: missing body", ErrInvalidArgument)
		}
		d, err := s.ingest(ctx, dataIn{body: in.Body, size: in.Size, contentMD5: in.ContentMD5,
			checksum: in.Checksum, trailer: in.TrailerChecksum})
		if err != nil {
			return ObjectInfo{}, err
		}
		nv.inline, nv.blobID, nv.size, nv.etag, nv.checksums = d.inline, d.blobID, d.size, d.etag(), d.checksums
	}
	v, b, err := s.commitVersion(ctx, nv)
	if err != nil {
		s.dropUncommitted(ctx, err, nv.blobID)
		return ObjectInfo{}, err
	}
	return info(v, true, b.Versioning != meta.Unversioned), nil
}

// versionReader reads the latest version of a key (meta.Store and meta.Tx
// both do).
type versionReader interface {
	Version(ctx context.Context, bucket, key, versionID string) (meta.Version, error)
}

// checkWriteConditions applies If-None-Match: * and If-Match of a PUT to
// the key's current object (a delete marker counts as none).
func checkWriteConditions(ctx context.Context, r versionReader, in PutInput) error {
	latest, err := r.Version(ctx, in.Bucket, in.Key, "")
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	exists := err == nil && !latest.IsDeleteMarker
	if in.IfNoneMatch != "" && exists {
		return &ConditionError{Header: "If-None-Match", Err: ErrPreconditionFailed}
	}
	if in.IfMatch != "" {
		if !exists {
			return fmt.Errorf("%w: %s (If-Match needs a current object)", ErrNoSuchKey, in.Key)
		}
		if !etagListMatches(in.IfMatch, latest.ETag) {
			return &ConditionError{Header: "If-Match", Err: ErrPreconditionFailed}
		}
	}
	return nil
}

// replicaAllowed refuses replicas into a bucket whose versioning is not
// Enabled, as S3 fails replication to an unversioned destination: the
// source version goes FAILED with this reason instead of silently
// overwriting a null version.
func replicaAllowed(b meta.Bucket) error {
	if b.Versioning != meta.Enabled {
		return fmt.Errorf("%w: destination bucket %s must have versioning Enabled to receive replicas (it is %s)",
			ErrInvalidRequest, b.Name, versioningName(b.Versioning))
	}
	return nil
}

func versioningName(v meta.Versioning) string {
	if v == meta.Unversioned {
		return "unversioned"
	}
	return string(v)
}
