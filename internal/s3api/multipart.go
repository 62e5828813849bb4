package s3api

import (
	"fmt"
	"strconv"
	"strings"

	"sos/internal/object"
	"sos/internal/s3err"
)

func (h *Handler) createUpload(req *request) error {
	hd := req.r.Header
	attrs := attrsFromHeaders(hd)
	tags, err := tagsFromHeader(hd.Get("X-Amz-Tagging"))
	if err != nil {
		return err
	}
	replica, deleteMarker, err := replicaInfo(req)
	if err != nil {
		return err
	}
	if deleteMarker {
		return s3err.New(s3err.InvalidRequest, "A delete marker is replicated with PUT, not with a multipart upload.")
	}
	alg := strings.ToUpper(hd.Get("X-Amz-Checksum-Algorithm"))
	if alg != "" && !knownChecksum(alg) {
		return s3err.New(s3err.InvalidRequest, "The checksum algorithm "+clip(alg)+" is not supported.")
	}
	id, err := h.objects.CreateUpload(req.r.Context(), object.CreateUploadInput{
		Bucket: req.bucket, Key: req.key, Attrs: attrs, Tags: tags, ChecksumAlgorithm: alg, Replica: replica,
	})
	if err != nil {
		return err
	}
	if alg != "" {
		req.w.Header().Set("X-Amz-Checksum-Algorithm", alg)
	}
	return writeXML(req.w, initiateMultipartUploadResult{NS: s3NS, Bucket: req.bucket, Key: req.key, UploadID: id})
}

// partParams reads uploadId and partNumber.
func partParams(req *request) (string, int, error) {
	q := req.r.URL.Query()
	id := q.Get("uploadId")
	if id == "" {
		return "", 0, s3err.New(s3err.InvalidArgument, "uploadId must not be empty.")
	}
	n, ok := parsePartNumber(q.Get("partNumber"))
	if !ok {
		return "", 0, s3err.New(s3err.InvalidArgument, fmt.Sprintf("Part number must be an integer between 1 and %d, inclusive.", object.MaxPartNumber))
	}
	return id, n, nil
}

func (h *Handler) uploadPart(req *request) error {
	id, n, err := partParams(req)
	if err != nil {
		return err
	}
	md5sum, err := contentMD5(req.r)
	if err != nil {
		return err
	}
	sum, trailer, err := requestChecksum(req)
	if err != nil {
		return err
	}
	size := bodySize(req)
	p, err := h.objects.UploadPart(req.r.Context(), object.UploadPartInput{
		Bucket: req.bucket, Key: req.key, UploadID: id, PartNumber: n,
		Body: clientBody{req.auth.Body}, Size: size, ContentMD5: md5sum, Checksum: sum, TrailerChecksum: trailer,
	})
	if err != nil {
		return err
	}
	req.w.Header().Set("ETag", quoteETag(p.ETag))
	setChecksumHeaders(req.w.Header(), p.Checksums)
	req.w.WriteHeader(200)
	return nil
}

func (h *Handler) uploadPartCopy(req *request) error {
	id, n, err := partParams(req)
	if err != nil {
		return err
	}
	in, err := copyInput(req)
	if err != nil {
		return err
	}
	var rg *object.Range
	if v := req.r.Header.Get("X-Amz-Copy-Source-Range"); v != "" {
		r, ok := parseRange(v)
		if !ok || r.Suffix > 0 || r.Last < 0 {
			return s3err.New(s3err.InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last.")
		}
		rg = r
	}
	p, err := h.objects.UploadPart(req.r.Context(), object.UploadPartInput{
		Bucket: req.bucket, Key: req.key, UploadID: id, PartNumber: n, CopySource: &in, CopyRange: rg,
	})
	if err != nil {
		return err
	}
	if req.copySrc.VersionID != "" {
		req.w.Header().Set("X-Amz-Copy-Source-Version-Id", req.copySrc.VersionID)
	}
	return writeXML(req.w, copyPartResult{NS: s3NS, LastModified: xmlTime(p.LastModified), ETag: quoteETag(p.ETag)})
}

func (h *Handler) completeUpload(req *request) error {
	id := req.r.URL.Query().Get("uploadId")
	if id == "" {
		return s3err.New(s3err.InvalidArgument, "uploadId must not be empty.")
	}
	body, err := xmlBody(req, completeLimits.Bytes)
	if err != nil {
		return err
	}
	parts, err := parseCompleteMultipart(body)
	if err != nil {
		return err
	}
	info, err := h.objects.CompleteUpload(req.r.Context(), req.bucket, req.key, id, parts)
	if err != nil {
		return err
	}
	setNewVersionHeader(req.w.Header(), info.VersionID)
	return writeXML(req.w, completeMultipartUploadResult{
		NS: s3NS, Location: "/" + req.bucket + "/" + req.key, Bucket: req.bucket, Key: req.key, ETag: quoteETag(info.ETag),
	})
}

func (h *Handler) abortUpload(req *request) error {
	id := req.r.URL.Query().Get("uploadId")
	if id == "" {
		return s3err.New(s3err.InvalidArgument, "uploadId must not be empty.")
	}
	if err := h.objects.AbortUpload(req.r.Context(), req.bucket, req.key, id); err != nil {
		return err
	}
	req.w.WriteHeader(204)
	return nil
}

func (h *Handler) listParts(req *request) error {
	q := req.r.URL.Query()
	id := q.Get("uploadId")
	if id == "" {
		return s3err.New(s3err.InvalidArgument, "uploadId must not be empty.")
	}
	maxParts, err := intParam(q, "max-parts", maxListKeys, maxListKeys)
	if err != nil {
		return err
	}
	marker := 0
	if v := q.Get("part-number-marker"); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m < 0 {
			return s3err.New(s3err.InvalidArgument, "part-number-marker must be a non-negative integer.")
		}
		marker = m
	}
	out, err := h.objects.ListParts(req.r.Context(), object.ListPartsInput{Bucket: req.bucket, Key: req.key, UploadID: id, PartNumberMarker: marker, MaxParts: maxParts})
	if err != nil {
		return err
	}
	res := listPartsResult{
		NS: s3NS, Bucket: req.bucket, Key: req.key, UploadID: id, Initiator: theOwner, Owner: theOwner,
		StorageClass: "STANDARD", PartNumberMarker: marker, NextPartNumberMarker: out.NextPartNumberMarker,
		MaxParts: maxParts, IsTruncated: out.IsTruncated,
	}
	for _, p := range out.Parts {
		res.Parts = append(res.Parts, partXML{PartNumber: p.Number, LastModified: xmlTime(p.LastModified), ETag: quoteETag(p.ETag), Size: p.Size})
	}
	return writeXML(req.w, res)
}
