package object

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"sos/internal/blob"
	"sos/internal/meta"
)

// copySource reads a copy source: the version (never a delete marker) and
// its data in the range asked (nil: all). The caller closes the stream.
func (s *Service) copySource(ctx context.Context, in *CopyInput, rng *Range) (meta.Version, io.ReadCloser, int64, error) {
	for attempt := 0; ; attempt++ {
		v, err := s.lookup(ctx, in.SrcBucket, in.SrcKey, in.SrcVersionID)
		if err != nil {
			return v, nil, 0, err
		}
		if v.IsDeleteMarker {
			if in.SrcVersionID != "" {
				return v, nil, 0, fmt.Errorf("%w: the source of a copy request may not specifically refer to a delete marker by version id", ErrInvalidRequest)
			}
			return v, nil, 0, fmt.Errorf("%w: %s", ErrNoSuchKey, in.SrcKey)
		}
		if err := checkConditions(in.SrcConditions, v); err != nil {
			// A copy answers every failed condition with 412, naming the
			// x-amz-copy-source-* header.
			var ce *ConditionError
			if errors.As(err, &ce) {
				err = &ConditionError{Header: "x-amz-copy-source-" + ce.Header, Err: ErrPreconditionFailed}
			}
			return v, nil, 0, err
		}
		first, length := int64(0), v.Size
		if rng != nil {
			// A copy range must lie within the source (S3 refuses it
			// rather than clipping it as a GET's Range is).
			// (Last < 0 means to the end.)
			if rng.Suffix > 0 || rng.First < 0 || rng.First >= v.Size || (rng.Last >= 0 && (rng.Last < rng.First || rng.Last >= v.Size)) {
				return v, nil, 0, fmt.Errorf("%w: range specified is not valid for source object of size %d", ErrInvalidRange, v.Size)
			}
			if first, length, err = resolveRange(*rng, v.Size); err != nil {
				return v, nil, 0, err
			}
		}
		body, err := s.openRange(ctx, v, first, length)
		if errors.Is(err, blob.ErrNotFound) && attempt < 2 {
			continue
		}
		if err != nil {
			return v, nil, 0, err
		}
		return v, body, length, nil
	}
}

// CopyObject copies a version (the latest unless SrcVersionID is set) to a
// new object, with the source's metadata and tags (COPY) or the given ones
// (REPLACE). Copying an object onto itself without REPLACE of the metadata
// is refused with ErrInvalidRequest, as S3 does.
func (s *Service) CopyObject(ctx context.Context, in CopyInput) (CopyOutput, error) {
	for _, k := range []string{in.SrcKey, in.Key} {
		if err := checkKey(k); err != nil {
			return CopyOutput{}, err
		}
	}
	if in.SrcBucket == in.Bucket && in.SrcKey == in.Key && in.SrcVersionID == "" && !in.ReplaceMetadata {
		return CopyOutput{}, fmt.Errorf("%w: this copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes", ErrInvalidRequest)
	}
	if in.ReplaceMetadata {
		if err := checkAttrs(in.Attrs); err != nil {
			return CopyOutput{}, err
		}
	}
	if in.ReplaceTags {
		if err := checkTags(in.Tags); err != nil {
			return CopyOutput{}, err
		}
	}
	if _, err := bucketOf(ctx, s.meta, in.Bucket); err != nil {
		return CopyOutput{}, err
	}
	src, body, size, err := s.copySource(ctx, &in, nil)
	if err != nil {
		return CopyOutput{}, err
	}
	defer body.Close()
	if err := checkCopySourceSize(size); err != nil {
		return CopyOutput{}, err
	}
	di := dataIn{body: body, size: size}
	if src.Parts == nil && len(src.Checksums) > 0 {
		// Carry the source's checksum over, verifying the copy with it.
		algs := make([]string, 0, len(src.Checksums))
		for a := range src.Checksums {
			algs = append(algs, a)
		}
		sort.Strings(algs)
		di.checksum = &Checksum{Algorithm: algs[0], Value: src.Checksums[algs[0]]}
	}
	d, err := s.ingest(ctx, di)
	if err != nil {
		return CopyOutput{}, err
	}
	nv := newVersion{bucket: in.Bucket, key: in.Key, inline: d.inline, blobID: d.blobID, size: d.size,
		etag: d.etag(), checksums: d.checksums, attrs: src.Attrs, tags: src.Tags}
	if in.ReplaceMetadata {
		nv.attrs = in.Attrs
	}
	if in.ReplaceTags {
		nv.tags = in.Tags
	}
	v, b, err := s.commitVersion(ctx, nv)
	if err != nil {
		s.dropUncommitted(ctx, err, d.blobID)
		return CopyOutput{}, err
	}
	return CopyOutput{Info: info(v, true, b.Versioning != meta.Unversioned), SrcVersionID: info(src, false, s.versioned(ctx, src)).VersionID}, nil
}
