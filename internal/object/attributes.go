package object

import (
	"context"
)

// ObjectAttributes is what GetObjectAttributes tells of a version: its
// ObjectInfo and, for a multipart object, the sizes of its parts in order
// (nil for an object of one part, a replica of a large single-part object
// included).
type ObjectAttributes struct {
	Info      ObjectInfo
	PartSizes []int64
}

// Attributes returns the attributes of a version (versionID "" is the
// latest). A delete marker gives a *DeleteMarkerError as GetObject does.
func (s *Service) Attributes(ctx context.Context, bucket, key, versionID string) (ObjectAttributes, error) {
	v, err := s.lookup(ctx, bucket, key, versionID)
	if err != nil {
		return ObjectAttributes{}, err
	}
	if v.IsDeleteMarker {
		return ObjectAttributes{}, s.markerErr(ctx, v, versionID)
	}
	a := ObjectAttributes{Info: info(v, versionID == "", s.versioned(ctx, v))}
	if v.PartsCount > 0 && len(v.Parts) == v.PartsCount {
		a.PartSizes = make([]int64, len(v.Parts))
		for i, p := range v.Parts {
			a.PartSizes[i] = p.Size
		}
	}
	return a, nil
}
