package object

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"sos/internal/meta"
	"sos/internal/versionid"
)

// newUploadID makes an upload ID that sorts by creation time and cannot be
// guessed: the clock's stamp and 64 random bits, in hex.
func (s *Service) newUploadID() string {
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return versionid.Format(s.clock.Now()) + hex.EncodeToString(r[:])
}

// upload reads an upload of bucket/key, telling a missing bucket and upload
// apart.
func upload(ctx context.Context, r meta.Reader, bucket, key, uploadID string) (meta.Upload, error) {
	u, err := r.Upload(ctx, bucket, uploadID)
	if err == nil && u.Key == key {
		return u, nil
	}
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return u, err
	}
	if _, berr := bucketOf(ctx, r, bucket); berr != nil {
		return u, berr
	}
	return u, fmt.Errorf("%w: %s", ErrNoSuchUpload, uploadID)
}

// CreateUpload starts a multipart upload and returns its ID.
func (s *Service) CreateUpload(ctx context.Context, in CreateUploadInput) (string, error) {
	if err := checkKey(in.Key); err != nil {
		return "", err
	}
	if err := checkAttrs(in.Attrs); err != nil {
		return "", err
	}
	if err := checkTags(in.Tags); err != nil {
		return "", err
	}
	alg := ""
	if in.ChecksumAlgorithm != "" {
		var err error
		if _, alg, err = newChecksum(in.ChecksumAlgorithm); err != nil {
			return "", err
		}
	}
	u := meta.Upload{Bucket: in.Bucket, Key: in.Key, UploadID: s.newUploadID(), Initiated: s.now().UTC(),
		Attrs: in.Attrs, Tags: in.Tags, ChecksumAlgorithm: alg}
	if r := in.Replica; r != nil {
		if r.VersionID == "" || checkVersionID(r.VersionID) != nil {
			return "", fmt.Errorf("%w: invalid replica version ID %q", ErrInvalidArgument, r.VersionID)
		}
		if r.PartsCount < 0 || r.PartsCount > MaxPartNumber {
			return "", fmt.Errorf("%w: a replica has 0 to %d parts, not %d", ErrInvalidArgument, MaxPartNumber, r.PartsCount)
		}
		u.ReplicaVersionID, u.ReplicaLastModified, u.ReplicaETag = r.VersionID, r.LastModified.UTC(), r.ETag
		u.ReplicaPartsCount = r.PartsCount
	}
	err := s.update(ctx, func(tx meta.Tx) error {
		b, err := bucketOf(ctx, tx, in.Bucket)
		if err != nil {
			return err
		}
		if in.Replica != nil {
			if err := replicaAllowed(b); err != nil {
				return err
			}
		}
		return tx.PutUpload(ctx, u)
	})
	if err != nil {
		return "", err
	}
	return u.UploadID, nil
}

// UploadPart stores one part (or copies it from CopySource). Parts always
// go to blobs, so that a completed object is a list of blobs.
func (s *Service) UploadPart(ctx context.Context, in UploadPartInput) (PartInfo, error) {
	if err := checkPutSize(in.Size, true); err != nil {
		return PartInfo{}, err
	}
	if err := checkKey(in.Key); err != nil {
		return PartInfo{}, err
	}
	if in.PartNumber < 1 || in.PartNumber > MaxPartNumber {
		return PartInfo{}, fmt.Errorf("%w: part number must be an integer between 1 and %d", ErrInvalidArgument, MaxPartNumber)
	}
	if _, err := upload(ctx, s.meta, in.Bucket, in.Key, in.UploadID); err != nil {
		return PartInfo{}, err
	}
	di := dataIn{body: in.Body, size: in.Size, contentMD5: in.ContentMD5, checksum: in.Checksum,
		trailer: in.TrailerChecksum, noInline: true}
	if in.CopySource != nil {
		if err := checkKey(in.CopySource.SrcKey); err != nil {
			return PartInfo{}, err
		}
		_, body, size, err := s.copySource(ctx, in.CopySource, in.CopyRange)
		if err != nil {
			return PartInfo{}, err
		}
		defer body.Close()
		if err := checkCopySourceSize(size); err != nil {
			return PartInfo{}, err
		}
		di = dataIn{body: body, size: size, noInline: true}
	} else if in.Body == nil {
		return PartInfo{}, fmt.Errorf("%w: missing body", ErrInvalidArgument)
	}
	d, err := s.ingest(ctx, di)
	if err != nil {
		return PartInfo{}, err
	}
	p := meta.Part{Bucket: in.Bucket, UploadID: in.UploadID, Number: in.PartNumber, Size: d.size,
		ETag: d.etag(), LastModified: s.now().UTC(), Checksums: d.checksums, BlobID: d.blobID}
	var freed []string
	unlock := s.lockKey(in.Bucket, in.Key)
	err = s.update(ctx, func(tx meta.Tx) error {
		freed = nil
		if _, err := upload(ctx, tx, in.Bucket, in.Key, in.UploadID); err != nil {
			return err
		}
		parts, err := tx.Parts(ctx, in.Bucket, in.UploadID, false)
		if err != nil {
			return err
		}
		for _, old := range parts {
			if old.Number == p.Number && old.BlobID != "" {
				freed = append(freed, old.BlobID)
			}
		}
		return tx.PutPart(ctx, p)
	})
	unlock()
	if err != nil {
		s.dropUncommitted(ctx, err, d.blobID)
		return PartInfo{}, err
	}
	s.dropBlobs(ctx, freed)
	return PartInfo{Number: p.Number, ETag: p.ETag, Size: p.Size, LastModified: p.LastModified, Checksums: p.Checksums}, nil
}

// CompleteUpload makes the object of an upload from the listed parts, with
// S3's checks: 1 to MaxPartNumber parts (ErrMalformedPartList), part numbers ascending
// (ErrInvalidPartOrder), each part uploaded with the listed ETag
// (ErrInvalidPart), every part but the last at least MinPartSize
// (ErrEntityTooSmall). The ETag is the MD5 of the parts' binary MD5s and
// "-N". The version keeps the parts' blobs as its manifest; parts not
// listed are deleted. A replica upload of a multipart source must list the
// source's parts (ErrInvalidPart otherwise: as many, making its ETag); one
// of a single-part source makes a version of one part whatever pieces it
// was sent in.
func (s *Service) CompleteUpload(ctx context.Context, bucket, key, uploadID string, parts []CompletePart) (ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, err
	}
	if len(parts) == 0 {
		return ObjectInfo{}, fmt.Errorf("%w: you must specify at least one part", ErrMalformedPartList)
	}
	if len(parts) > MaxPartNumber {
		return ObjectInfo{}, fmt.Errorf("%w: at most %d parts", ErrMalformedPartList, MaxPartNumber)
	}
	for i := 1; i < len(parts); i++ {
		if parts[i].Number <= parts[i-1].Number {
			return ObjectInfo{}, fmt.Errorf("%w: the list of parts was not in ascending order", ErrInvalidPartOrder)
		}
	}
	nv := newVersion{bucket: bucket, key: key}
	nv.prepare = func(tx meta.Tx, nv *newVersion) ([]string, error) {
		u, err := upload(ctx, tx, bucket, key, uploadID)
		if err != nil {
			return nil, err
		}
		stored, err := tx.Parts(ctx, bucket, uploadID, false)
		if err != nil {
			return nil, err
		}
		byNum := make(map[int]meta.Part, len(stored))
		for _, p := range stored {
			byNum[p.Number] = p
		}
		h := md5.New()
		manifest := make([]meta.PartRef, 0, len(parts))
		var total int64
		for i, cp := range parts {
			p, ok := byNum[cp.Number]
			if !ok || strings.Trim(cp.ETag, `"`) != p.ETag {
				return nil, fmt.Errorf("%w: part %d was not found or its ETag does not match", ErrInvalidPart, cp.Number)
			}
			if i < len(parts)-1 && p.Size < MinPartSize {
				return nil, fmt.Errorf("%w: part %d is %d bytes; all parts but the last must be at least %d", ErrEntityTooSmall, p.Number, p.Size, MinPartSize)
			}
			sum, err := hex.DecodeString(p.ETag)
			if err != nil {
				return nil, fmt.Errorf("object: part %d of upload %s has a malformed ETag %q", p.Number, uploadID, p.ETag)
			}
			h.Write(sum)
			manifest = append(manifest, meta.PartRef{BlobID: p.BlobID, Size: p.Size})
			total += p.Size
			delete(byNum, cp.Number)
		}
		if total > MaxObjectSize {
			return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrEntityTooLarge, total, int64(MaxObjectSize))
		}
		var unused []string
		for _, p := range byNum {
			if p.BlobID != "" {
				unused = append(unused, p.BlobID)
			}
		}
		nv.parts, nv.size, nv.partsCount = manifest, total, len(parts)
		nv.etag = fmt.Sprintf("%x-%d", h.Sum(nil), len(parts))
		nv.attrs, nv.tags = u.Attrs, u.Tags
		if u.ReplicaVersionID != "" {
			if err := checkReplicaLayout(u, nv); err != nil {
				return nil, err
			}
			// A single-part source's replica keeps the pieces it was sent
			// in as its data, but has one part, as the source.
			nv.partsCount = u.ReplicaPartsCount
			nv.replica = &ReplicaInfo{VersionID: u.ReplicaVersionID, LastModified: u.ReplicaLastModified, ETag: u.ReplicaETag,
				PartsCount: u.ReplicaPartsCount}
		}
		return unused, tx.DeleteUpload(ctx, bucket, uploadID)
	}
	v, b, err := s.commitVersion(ctx, nv)
	if err != nil {
		return ObjectInfo{}, err
	}
	return info(v, true, b.Versioning != meta.Unversioned), nil
}

// checkReplicaLayout checks that the completion of a replica upload of a
// multipart source lists the source's parts: as many, and making the
// source's ETag (the MD5 of the parts' MD5s), so that part reads answer the
// same on both sides.
func checkReplicaLayout(u meta.Upload, nv *newVersion) error {
	if u.ReplicaPartsCount == 0 {
		return nil
	}
	if len(nv.parts) != u.ReplicaPartsCount {
		return fmt.Errorf("%w: the replica's source has %d parts, the completion lists %d", ErrInvalidPart, u.ReplicaPartsCount, len(nv.parts))
	}
	if u.ReplicaETag != "" && u.ReplicaETag != nv.etag {
		return fmt.Errorf("%w: the replica's parts make the ETag %s, its source's is %s (the parts differ from the source's)", ErrInvalidPart, nv.etag, u.ReplicaETag)
	}
	return nil
}

// AbortUpload removes an upload and its parts' data.
func (s *Service) AbortUpload(ctx context.Context, bucket, key, uploadID string) error {
	var freed []string
	unlock := s.lockKey(bucket, key)
	err := s.update(ctx, func(tx meta.Tx) error {
		freed = nil
		if _, err := upload(ctx, tx, bucket, key, uploadID); err != nil {
			return err
		}
		parts, err := tx.Parts(ctx, bucket, uploadID, false)
		if err != nil {
			return err
		}
		for _, p := range parts {
			if p.BlobID != "" {
				freed = append(freed, p.BlobID)
			}
		}
		return tx.DeleteUpload(ctx, bucket, uploadID)
	})
	unlock()
	if err != nil {
		return err
	}
	s.dropBlobs(ctx, freed)
	return nil
}

// ListParts lists the parts of an upload after PartNumberMarker.
func (s *Service) ListParts(ctx context.Context, in ListPartsInput) (ListPartsOutput, error) {
	var out ListPartsOutput
	u, err := upload(ctx, s.meta, in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return out, err
	}
	out.Initiated = u.Initiated
	parts, err := s.meta.Parts(ctx, in.Bucket, in.UploadID, false)
	if err != nil {
		return out, err
	}
	limit := clampMax(in.MaxParts)
	for _, p := range parts {
		if p.Number <= in.PartNumberMarker {
			continue
		}
		if len(out.Parts) == limit {
			out.IsTruncated = true
			break
		}
		out.Parts = append(out.Parts, PartInfo{Number: p.Number, ETag: p.ETag, Size: p.Size, LastModified: p.LastModified, Checksums: p.Checksums})
		out.NextPartNumberMarker = p.Number
	}
	return out, nil
}

// ListUploads lists uploads in progress ordered by key, then initiation.
func (s *Service) ListUploads(ctx context.Context, in ListUploadsInput) (ListUploadsOutput, error) {
	var out ListUploadsOutput
	if _, err := bucketOf(ctx, s.meta, in.Bucket); err != nil {
		return out, err
	}
	limit := clampMax(in.MaxUploads)
	count := 0
	lastCP := ""
	err := s.meta.ScanUploads(ctx, in.Bucket, func(u meta.Upload) error {
		if !strings.HasPrefix(u.Key, in.Prefix) {
			return nil
		}
		if in.KeyMarker != "" {
			if u.Key < in.KeyMarker || (u.Key == in.KeyMarker && (in.UploadIDMarker == "" || u.UploadID <= in.UploadIDMarker)) {
				return nil
			}
		}
		if cp := commonPrefix(u.Key, in.Prefix, in.Delimiter); cp != "" {
			if cp == lastCP || (in.KeyMarker != "" && strings.HasPrefix(in.KeyMarker, cp)) {
				return nil
			}
			if count == limit {
				out.IsTruncated = true
				return meta.ErrStop
			}
			lastCP = cp
			out.CommonPrefixes = append(out.CommonPrefixes, cp)
			out.NextKeyMarker, out.NextUploadIDMarker = cp, ""
			count++
			return nil
		}
		if count == limit {
			out.IsTruncated = true
			return meta.ErrStop
		}
		out.Uploads = append(out.Uploads, UploadInfo{Key: u.Key, UploadID: u.UploadID, Initiated: u.Initiated})
		out.NextKeyMarker, out.NextUploadIDMarker = u.Key, u.UploadID
		count++
		return nil
	})
	if err != nil {
		return ListUploadsOutput{}, err
	}
	return out, nil
}
