package s3api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"sos/internal/iam"
	"sos/internal/meta"
	"sos/internal/object"
	"sos/internal/s3err"
)

// bodySize is the decoded length of the request body, -1 when unknown.
func bodySize(req *request) int64 {
	if req.auth.DecodedContentLength >= 0 {
		return req.auth.DecodedContentLength
	}
	return -1
}

// clientBody is a request body whose read errors that map to no S3 error
// (a malformed transfer encoding, a connection cut mid-body) are the
// client's: IncompleteBody, not InternalError.
type clientBody struct{ r io.Reader }

func (b clientBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		if _, known := toS3Error(err); !known {
			err = fmt.Errorf("%w: %w", errReadBody, err)
		}
	}
	return n, err
}

func (h *Handler) putObject(req *request) error {
	hd := req.r.Header
	attrs := attrsFromHeaders(hd)
	tags, err := tagsFromHeader(hd.Get("X-Amz-Tagging"))
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
	replica, deleteMarker, err := replicaInfo(req)
	if err != nil {
		return err
	}
	size := bodySize(req)
	in := object.PutInput{
		Bucket: req.bucket, Key: req.key, Body: clientBody{req.auth.Body}, Size: size,
		Attrs: attrs, Tags: tags, ContentMD5: md5sum, Checksum: sum, TrailerChecksum: trailer,
		Replica: replica, IsDeleteMarker: deleteMarker,
		IfMatch: strings.TrimSpace(hd.Get("If-Match")), IfNoneMatch: strings.TrimSpace(hd.Get("If-None-Match")),
	}
	if in.IfNoneMatch != "" && in.IfNoneMatch != "*" {
		return s3err.New(s3err.NotImplemented, "A conditional write takes If-None-Match: * only.")
	}
	if deleteMarker && size > 0 {
		return s3err.New(s3err.InvalidRequest, "A replicated delete marker has no body.")
	}
	info, err := h.objects.PutObject(req.r.Context(), in)
	if err != nil {
		return err
	}
	w := req.w.Header()
	if !info.IsDeleteMarker {
		w.Set("ETag", quoteETag(info.ETag))
	} else {
		w.Set("X-Amz-Delete-Marker", "true")
	}
	setNewVersionHeader(w, info.VersionID)
	setChecksumHeaders(w, info.Checksums)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func setVersionHeader(w http.Header, v string) {
	if v != "" {
		w.Set("X-Amz-Version-Id", v)
	}
}

// setNewVersionHeader is setVersionHeader for the answer of a write that
// made a version (PUT, copy, complete): S3 says nothing of a null version
// written while versioning is suspended.
func setNewVersionHeader(w http.Header, v string) {
	if v != meta.NullVersionID {
		setVersionHeader(w, v)
	}
}

func setChecksumHeaders(w http.Header, sums map[string]string) {
	for alg, v := range sums {
		w.Set("X-Amz-Checksum-"+strings.ToLower(alg), v)
	}
}

// getInput reads what GetObject and HeadObject share.
func getInput(req *request) (object.GetInput, error) {
	q := req.r.URL.Query()
	in := object.GetInput{
		Bucket: req.bucket, Key: req.key, VersionID: q.Get("versionId"),
		Conditions: conditions(req.r.Header, ""),
	}
	if q.Has("versionId") && in.VersionID == "" {
		return in, s3err.New(s3err.InvalidArgument, "Version id cannot be the empty string.")
	}
	if v := q.Get("partNumber"); v != "" {
		n, ok := parsePartNumber(v)
		if !ok {
			return in, s3err.New(s3err.InvalidArgument, fmt.Sprintf("Part number must be an integer between 1 and %d, inclusive.", object.MaxPartNumber))
		}
		in.PartNumber = n
	}
	if rg := req.r.Header.Get("Range"); rg != "" {
		if r, ok := parseRange(rg); ok {
			if in.PartNumber > 0 {
				return in, s3err.New(s3err.InvalidRequest, "Cannot specify both Range header and partNumber query parameter.")
			}
			in.Range = r
		}
	}
	return in, nil
}

// objectHeaders sets the headers describing a version.
func objectHeaders(w http.Header, info object.ObjectInfo) {
	w.Set("Last-Modified", info.LastModified.UTC().Format(http.TimeFormat))
	if info.IsDeleteMarker {
		w.Set("X-Amz-Delete-Marker", "true")
		setVersionHeader(w, info.VersionID)
		return
	}
	w.Set("ETag", quoteETag(info.ETag))
	w.Set("Accept-Ranges", "bytes")
	ct := info.Attrs.ContentType
	if ct == "" {
		ct = defaultContentType // written before it was stored
	}
	w.Set("Content-Type", ct)
	for name, v := range map[string]string{
		"Cache-Control":       info.Attrs.CacheControl,
		"Content-Disposition": info.Attrs.ContentDisposition,
		"Content-Encoding":    info.Attrs.ContentEncoding,
		"Content-Language":    info.Attrs.ContentLanguage,
		"Expires":             info.Attrs.Expires,
	} {
		if v != "" {
			w.Set(name, v)
		}
	}
	for k, v := range info.Attrs.UserMeta {
		// As stored (lower case), not canonicalised to X-Amz-Meta-Mykey:
		// boto3 and awscli hand the name over as it arrives.
		w["x-amz-meta-"+k] = []string{v}
	}
	setVersionHeader(w, info.VersionID)
	if info.ReplicationStatus != "" {
		w.Set("X-Amz-Replication-Status", info.ReplicationStatus)
	}
	if info.TagCount > 0 {
		w.Set("X-Amz-Tagging-Count", strconv.Itoa(info.TagCount))
	}
}

// validatorHeaders are the headers S3 sends with a 304 Not Modified or a
// 412 Precondition Failed of a GET or HEAD: what the client compares with
// its copy (RFC 9110 15.4.5).
func validatorHeaders(info object.ObjectInfo) http.Header {
	h := http.Header{}
	h.Set("ETag", quoteETag(info.ETag))
	h.Set("Last-Modified", info.LastModified.UTC().Format(http.TimeFormat))
	setVersionHeader(h, info.VersionID)
	if v := info.Attrs.CacheControl; v != "" {
		h.Set("Cache-Control", v)
	}
	if v := info.Attrs.Expires; v != "" {
		h.Set("Expires", v)
	}
	return h
}

// responseOverrides applies the response-* query parameters of GET.
var responseOverrides = []struct{ param, header string }{
	{"response-content-type", "Content-Type"},
	{"response-content-language", "Content-Language"},
	{"response-expires", "Expires"},
	{"response-cache-control", "Cache-Control"},
	{"response-content-disposition", "Content-Disposition"},
	{"response-content-encoding", "Content-Encoding"},
}

func (h *Handler) getOrHead(req *request, head bool) error {
	in, err := getInput(req)
	if err != nil {
		return err
	}
	var out object.GetOutput
	if head {
		out, err = h.objects.HeadObject(req.r.Context(), in)
	} else {
		out, err = h.objects.GetObject(req.r.Context(), in)
	}
	if err != nil {
		switch {
		case out.Info.ETag == "":
		case errors.Is(err, object.ErrNotModified), errors.Is(err, object.ErrPreconditionFailed):
			return &errorWithHeaders{err: err, hdr: validatorHeaders(out.Info)}
		case errors.Is(err, object.ErrInvalidRange):
			// RFC 9110 15.5.17: a 416 tells the current length.
			return &errorWithHeaders{err: err, hdr: http.Header{"Content-Range": {fmt.Sprintf("bytes */%d", out.Info.Size)}}}
		}
		return err
	}
	if out.Body != nil {
		defer out.Body.Close()
	}
	w := req.w.Header()
	info := out.Info
	objectHeaders(w, info)
	if in.PartNumber > 0 && info.PartsCount > 0 {
		w.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(info.PartsCount))
	}
	if strings.EqualFold(req.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") && !out.Ranged {
		setChecksumHeaders(w, info.Checksums)
	}
	q := req.r.URL.Query()
	for _, o := range responseOverrides {
		if v := q.Get(o.param); v != "" {
			w.Set(o.header, v)
		}
	}
	status := http.StatusOK
	length := info.Size
	if out.Ranged {
		status = http.StatusPartialContent
		length = out.RangeLength
		w.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", out.RangeFirst, out.RangeFirst+out.RangeLength-1, info.Size))
	}
	w.Set("Content-Length", strconv.FormatInt(length, 10))
	req.w.WriteHeader(status)
	if head || out.Body == nil {
		return nil
	}
	if _, err := io.Copy(req.w, out.Body); err != nil {
		// The status is sent: all that is left is to cut the response.
		h.log.Warn("s3api: GET body interrupted", "request-id", req.requestID, "bucket", req.bucket, "key", req.key, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (h *Handler) getObject(req *request) error  { return h.getOrHead(req, false) }
func (h *Handler) headObject(req *request) error { return h.getOrHead(req, true) }

func (h *Handler) deleteObject(req *request) error {
	q := req.r.URL.Query()
	if q.Has("versionId") && q.Get("versionId") == "" {
		return s3err.New(s3err.InvalidArgument, "Version id cannot be the empty string.")
	}
	out, err := h.objects.DeleteObject(req.r.Context(), object.DeleteInput{Bucket: req.bucket, Key: req.key, VersionID: q.Get("versionId")})
	if err != nil {
		return err
	}
	w := req.w.Header()
	setVersionHeader(w, out.VersionID)
	if out.IsDeleteMarker {
		w.Set("X-Amz-Delete-Marker", "true")
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) deleteObjects(req *request) error {
	body, err := xmlBody(req, deleteLimits.Bytes)
	if err != nil {
		return err
	}
	quiet, entries, err := parseDelete(body)
	if err != nil {
		return err
	}
	res := deleteResult{NS: s3NS}
	for _, e := range entries {
		ir := iam.Request{
			Operation: "delete-object", Bucket: req.bucket, Key: e.Key, VersionID: e.VersionID,
			Zone: h.zone, SourceIP: iam.SourceIP(req.r), Now: h.now(),
		}
		err := h.decide(req, ir)
		if err == nil {
			if len(e.Key) > object.MaxKeyLength {
				err = s3err.New(s3err.KeyTooLongError, "")
			}
		}
		var out object.DeleteOutput
		if err == nil {
			out, err = h.objects.DeleteObject(req.r.Context(), object.DeleteInput{Bucket: req.bucket, Key: e.Key, VersionID: e.VersionID})
		}
		if err != nil && e.VersionID == "" && errors.Is(err, object.ErrNoSuchKey) {
			err = nil // deleting a missing key is a success, as in S3
		}
		if err != nil {
			se, known := toS3Error(err)
			if !known {
				h.log.Error("s3api: delete-objects", "request-id", req.requestID, "key", e.Key, "err", err)
			}
			if se.Code == s3err.NoSuchBucket {
				return err
			}
			res.Errors = append(res.Errors, deleteErrorXML{Key: e.Key, VersionID: e.VersionID, Code: string(se.Code), Message: se.Message})
			continue
		}
		if quiet {
			continue
		}
		d := struct {
			Key                   string `xml:"Key"`
			VersionID             string `xml:"VersionId,omitempty"`
			DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
			DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
		}{Key: e.Key, VersionID: e.VersionID}
		if out.IsDeleteMarker {
			d.DeleteMarker = true
			d.DeleteMarkerVersionID = out.VersionID
		}
		res.Deleted = append(res.Deleted, d)
	}
	return writeXML(req.w, res)
}

// copyInput builds the CopyInput of CopyObject and UploadPartCopy.
func copyInput(req *request) (object.CopyInput, error) {
	src := req.copySrc
	in := object.CopyInput{
		SrcBucket: src.Bucket, SrcKey: src.Key, SrcVersionID: src.VersionID,
		SrcConditions: conditions(req.r.Header, "X-Amz-Copy-Source-"),
		Bucket:        req.bucket, Key: req.key,
	}
	return in, nil
}

func (h *Handler) copyObject(req *request) error {
	in, err := copyInput(req)
	if err != nil {
		return err
	}
	hd := req.r.Header
	switch d := strings.ToUpper(hd.Get("X-Amz-Metadata-Directive")); d {
	case "", "COPY":
	case "REPLACE":
		in.ReplaceMetadata = true
		in.Attrs = attrsFromHeaders(hd)
	default:
		return s3err.New(s3err.InvalidArgument, "Unknown metadata directive "+clip(d)+": use COPY or REPLACE.")
	}
	switch d := strings.ToUpper(hd.Get("X-Amz-Tagging-Directive")); d {
	case "", "COPY":
	case "REPLACE":
		in.ReplaceTags = true
		if in.Tags, err = tagsFromHeader(hd.Get("X-Amz-Tagging")); err != nil {
			return err
		}
	default:
		return s3err.New(s3err.InvalidArgument, "Unknown tagging directive "+clip(d)+": use COPY or REPLACE.")
	}
	if in.SrcBucket == in.Bucket && in.SrcKey == in.Key && in.SrcVersionID == "" && !in.ReplaceMetadata && !in.ReplaceTags {
		return s3err.New(s3err.InvalidRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	out, err := h.objects.CopyObject(req.r.Context(), in)
	if err != nil {
		return err
	}
	w := req.w.Header()
	setNewVersionHeader(w, out.Info.VersionID)
	if out.SrcVersionID != "" {
		w.Set("X-Amz-Copy-Source-Version-Id", out.SrcVersionID)
	}
	return writeXML(req.w, copyObjectResult{NS: s3NS, LastModified: xmlTime(out.Info.LastModified), ETag: quoteETag(out.Info.ETag)})
}

func versionIDParam(req *request) (string, error) {
	q := req.r.URL.Query()
	if q.Has("versionId") && q.Get("versionId") == "" {
		return "", s3err.New(s3err.InvalidArgument, "Version id cannot be the empty string.")
	}
	return q.Get("versionId"), nil
}

func (h *Handler) getObjectTagging(req *request) error {
	vid, err := versionIDParam(req)
	if err != nil {
		return err
	}
	tags, v, err := h.objects.GetTagging(req.r.Context(), req.bucket, req.key, vid)
	if err != nil {
		return err
	}
	setVersionHeader(req.w.Header(), v)
	out := taggingOutXML{NS: s3NS, Tags: []tagXML{}}
	for k, val := range tags {
		out.Tags = append(out.Tags, tagXML{k, val})
	}
	sort.Slice(out.Tags, func(i, j int) bool { return out.Tags[i].Key < out.Tags[j].Key })
	return writeXML(req.w, out)
}

func (h *Handler) putObjectTagging(req *request) error {
	vid, err := versionIDParam(req)
	if err != nil {
		return err
	}
	body, err := xmlBody(req, taggingLimits.Bytes)
	if err != nil {
		return err
	}
	tags, err := parseTagging(body)
	if err != nil {
		return err
	}
	v, err := h.objects.PutTagging(req.r.Context(), req.bucket, req.key, vid, tags)
	if err != nil {
		return err
	}
	setVersionHeader(req.w.Header(), v)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteObjectTagging(req *request) error {
	vid, err := versionIDParam(req)
	if err != nil {
		return err
	}
	v, err := h.objects.DeleteTagging(req.r.Context(), req.bucket, req.key, vid)
	if err != nil {
		return err
	}
	setVersionHeader(req.w.Header(), v)
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) getObjectACL(req *request) error {
	vid, err := versionIDParam(req)
	if err != nil {
		return err
	}
	out, err := h.objects.HeadObject(req.r.Context(), object.GetInput{Bucket: req.bucket, Key: req.key, VersionID: vid})
	if err != nil {
		return err
	}
	if out.Body != nil {
		out.Body.Close()
	}
	setVersionHeader(req.w.Header(), out.Info.VersionID)
	return writeXML(req.w, privateACL())
}
