package object

import (
	"context"
	"errors"

	"sos/internal/meta"
)

// DeleteObject deletes as S3 does. Without a version ID it adds a delete
// marker (versioning Enabled), replaces the null version with a null
// delete marker (Suspended), or removes the null version (Unversioned).
// With a version ID it removes exactly that version (a well-formed ID that
// does not exist is not an error), and the output says whether it was a
// delete marker.
func (s *Service) DeleteObject(ctx context.Context, in DeleteInput) (DeleteOutput, error) {
	if err := checkKey(in.Key); err != nil {
		return DeleteOutput{}, err
	}
	if err := checkVersionID(in.VersionID); err != nil {
		return DeleteOutput{}, err
	}
	b, err := bucketOf(ctx, s.meta, in.Bucket)
	if err != nil {
		return DeleteOutput{}, err
	}
	if in.VersionID == "" && b.Versioning != meta.Unversioned {
		// Enabled: a new delete marker; Suspended: the null delete marker
		// replaces the null version (commitVersion frees its data).
		v, b, err := s.commitVersion(ctx, newVersion{bucket: in.Bucket, key: in.Key, deleteMarker: true})
		if err != nil {
			return DeleteOutput{}, err
		}
		return DeleteOutput{VersionID: info(v, true, b.Versioning != meta.Unversioned).VersionID, IsDeleteMarker: true}, nil
	}
	id := in.VersionID
	if id == "" {
		id = meta.NullVersionID
	}
	var (
		out   DeleteOutput
		freed []string
	)
	unlock := s.lockKey(in.Bucket, in.Key)
	err = s.update(ctx, func(tx meta.Tx) error {
		out, freed = DeleteOutput{}, nil
		if _, err := bucketOf(ctx, tx, in.Bucket); err != nil {
			return err
		}
		v, err := tx.Version(ctx, in.Bucket, in.Key, id)
		if errors.Is(err, meta.ErrNotFound) {
			out.VersionID = in.VersionID
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteVersion(ctx, in.Bucket, in.Key, id); err != nil {
			return err
		}
		out.VersionID, out.IsDeleteMarker, freed = in.VersionID, v.IsDeleteMarker, blobsOf(v)
		return nil
	})
	unlock()
	if err != nil {
		return DeleteOutput{}, err
	}
	s.dropBlobs(ctx, freed)
	return out, nil
}
