package object

import (
	"context"

	"sos/internal/meta"
)

// CollectOrphans deletes blobs that no version and no part refers to (left
// by a crash between a blob write and its metadata commit, or between a
// commit and the delete of the blobs it freed) and returns how many it
// deleted. Blob writes in progress would look orphaned too: call it only
// while the service handles no requests (New does, at start-up).
func (s *Service) CollectOrphans(ctx context.Context) (int, error) {
	live := map[string]struct{}{}
	buckets, err := s.meta.Buckets(ctx)
	if err != nil {
		return 0, err
	}
	for _, b := range buckets {
		err := s.meta.ScanVersions(ctx, meta.ScanOptions{Bucket: b.Name}, func(v meta.Version) error {
			for _, id := range blobsOf(v) {
				live[id] = struct{}{}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		var uploads []string
		err = s.meta.ScanUploads(ctx, b.Name, func(u meta.Upload) error {
			uploads = append(uploads, u.UploadID)
			return nil
		})
		if err != nil {
			return 0, err
		}
		for _, id := range uploads {
			parts, err := s.meta.Parts(ctx, b.Name, id, false)
			if err != nil {
				return 0, err
			}
			for _, p := range parts {
				if p.BlobID != "" {
					live[p.BlobID] = struct{}{}
				}
			}
		}
	}
	var orphans []string
	err = s.blobs.Scan(ctx, func(id string) error {
		if _, ok := live[id]; !ok {
			orphans = append(orphans, id)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range orphans {
		if err := s.blobs.Delete(ctx, id); err != nil {
			return 0, err
		}
	}
	return len(orphans), nil
}
