package s3api

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sos/internal/iam"
	"sos/internal/meta"
	"sos/internal/object"
	"sos/internal/s3err"
)

// checksumAlgorithms are the x-amz-checksum-* algorithms, as S3 names them.
var checksumAlgorithms = []string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"}

// computeChecksum returns the base64 checksum of data.
func computeChecksum(alg string, data []byte) (string, error) {
	h, err := newChecksumHash(alg)
	if err != nil {
		return "", err
	}
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// newChecksumHash returns the hash of an x-amz-checksum-* algorithm; its
// Sum is the checksum's bytes (CRC64NVME big-endian, as the others).
func newChecksumHash(alg string) (hash.Hash, error) {
	switch alg {
	case "CRC32":
		return crc32.NewIEEE(), nil
	case "CRC32C":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli)), nil
	case "CRC64NVME":
		return crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5)), nil
	case "SHA1":
		return sha1.New(), nil
	case "SHA256":
		return sha256.New(), nil
	}
	return nil, s3err.New(s3err.InvalidRequest, "The checksum algorithm "+alg+" is not supported.")
}

// requestChecksum reads the checksum a PutObject or UploadPart declares: a
// x-amz-checksum-* header, or a checksum announced in x-amz-trailer whose
// value arrives after the body.
func requestChecksum(req *request) (*object.Checksum, func() (object.Checksum, bool), error) {
	var found *object.Checksum
	for _, alg := range checksumAlgorithms {
		v := req.r.Header.Get("X-Amz-Checksum-" + alg)
		if v == "" {
			continue
		}
		if found != nil {
			return nil, nil, s3err.New(s3err.InvalidRequest, "Expecting a single x-amz-checksum- header; multiple checksum types are not allowed.")
		}
		found = &object.Checksum{Algorithm: alg, Value: v}
	}
	if found != nil {
		return found, nil, nil
	}
	for _, t := range req.r.Header.Values("X-Amz-Trailer") {
		for name := range strings.SplitSeq(t, ",") {
			name = strings.TrimSpace(strings.ToLower(name))
			alg, ok := strings.CutPrefix(name, "x-amz-checksum-")
			if !ok {
				continue
			}
			alg = strings.ToUpper(alg)
			if !knownChecksum(alg) {
				return nil, nil, s3err.New(s3err.InvalidRequest, "The trailer "+name+" names an unknown checksum algorithm.")
			}
			res := req.auth
			trailer := func() (object.Checksum, bool) {
				v := res.Trailer().Get("X-Amz-Checksum-" + alg)
				return object.Checksum{Algorithm: alg, Value: v}, v != ""
			}
			return &object.Checksum{Algorithm: alg}, trailer, nil
		}
	}
	return nil, nil, nil
}

func knownChecksum(alg string) bool {
	for _, a := range checksumAlgorithms {
		if a == alg {
			return true
		}
	}
	return false
}

// contentMD5 decodes Content-MD5.
func contentMD5(r *http.Request) ([]byte, error) {
	v := r.Header.Get("Content-Md5")
	if v == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != 16 {
		return nil, s3err.New(s3err.InvalidDigest, "The Content-MD5 you specified is not a base64 MD5 digest.")
	}
	return b, nil
}

// attrsFromHeaders reads the content headers and x-amz-meta-* of a write.
// The object service enforces the size limit of user metadata
// (object.ErrMetadataTooLarge).
func attrsFromHeaders(h http.Header) meta.Attrs {
	a := meta.Attrs{
		ContentType:        contentTypeOf(h),
		CacheControl:       h.Get("Cache-Control"),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentEncoding:    stripAWSChunked(h.Get("Content-Encoding")),
		ContentLanguage:    h.Get("Content-Language"),
		Expires:            h.Get("Expires"),
	}
	for name, vals := range h {
		lower := strings.ToLower(name)
		m, ok := strings.CutPrefix(lower, "x-amz-meta-")
		if !ok || m == "" {
			continue
		}
		if a.UserMeta == nil {
			a.UserMeta = map[string]string{}
		}
		v := strings.Join(vals, ",")
		a.UserMeta[m] = v
	}
	return a
}

// defaultContentType is what an object written without a Content-Type is
// stored (and so served, and replicated) with, as S3 does.
const defaultContentType = "binary/octet-stream"

func contentTypeOf(h http.Header) string {
	if ct := h.Get("Content-Type"); ct != "" {
		return ct
	}
	return defaultContentType
}

// stripAWSChunked removes the aws-chunked token from Content-Encoding: it
// describes the transfer, not the object.
func stripAWSChunked(v string) string {
	if !strings.Contains(v, "aws-chunked") {
		return v
	}
	var keep []string
	for part := range strings.SplitSeq(v, ",") {
		if p := strings.TrimSpace(part); p != "" && p != "aws-chunked" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ",")
}

// tagsFromHeader parses x-amz-tagging (URL query form).
func tagsFromHeader(v string) (map[string]string, error) {
	if v == "" {
		return nil, nil
	}
	q, err := url.ParseQuery(v)
	if err != nil {
		return nil, s3err.New(s3err.InvalidArgument, "The x-amz-tagging header must be URL-encoded key=value pairs joined by &.")
	}
	tags := make(map[string]string, len(q))
	for k, vs := range q {
		if len(vs) > 1 {
			return nil, s3err.New(s3err.InvalidTag, fmt.Sprintf("Cannot provide multiple tags with the same key %q.", clip(k)))
		}
		tags[k] = vs[0]
	}
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	return tags, nil
}

// conditions reads If-* headers; prefix is "" or "X-Amz-Copy-Source-".
func conditions(h http.Header, prefix string) object.Conditions {
	c := object.Conditions{
		IfMatch:     h.Get(prefix + "If-Match"),
		IfNoneMatch: h.Get(prefix + "If-None-Match"),
	}
	if t, err := http.ParseTime(h.Get(prefix + "If-Modified-Since")); err == nil {
		c.IfModifiedSince = &t
	}
	if t, err := http.ParseTime(h.Get(prefix + "If-Unmodified-Since")); err == nil {
		c.IfUnmodifiedSince = &t
	}
	return c
}

// parseRange parses a single "bytes=" range. ok is false for anything else,
// which HTTP says to ignore (the whole object is sent).
func parseRange(v string) (*object.Range, bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return nil, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return nil, false
	}
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return nil, false
		}
		if n == 0 {
			return nil, false
		}
		return &object.Range{Suffix: n}, true
	}
	f, err := strconv.ParseInt(first, 10, 64)
	if err != nil || f < 0 {
		return nil, false
	}
	if last == "" {
		return &object.Range{First: f, Last: -1}, true
	}
	l, err := strconv.ParseInt(last, 10, 64)
	if err != nil || l < f {
		return nil, false
	}
	return &object.Range{First: f, Last: l}, true
}

// copySource is a parsed x-amz-copy-source.
type copySource struct {
	Bucket, Key, VersionID string
}

// parseCopySource parses "[/]bucket/key[?versionId=V]", URL-encoded.
func parseCopySource(v string) (*copySource, error) {
	bad := func(why string) error {
		return s3err.New(s3err.InvalidArgument, "Invalid x-amz-copy-source: "+why+".")
	}
	if v == "" {
		return nil, bad("the header is empty")
	}
	path, query, _ := strings.Cut(v, "?")
	dec, err := url.PathUnescape(path)
	if err != nil {
		return nil, bad("it is not URL-encoded correctly")
	}
	dec = strings.TrimPrefix(dec, "/")
	bucket, key, ok := strings.Cut(dec, "/")
	if !ok || key == "" {
		return nil, bad("it must be bucket/key")
	}
	if err := checkBucketName(bucket); err != nil {
		return nil, err
	}
	if len(key) > object.MaxKeyLength {
		return nil, s3err.New(s3err.KeyTooLongError, "The source key is longer than 1024 bytes.")
	}
	cs := &copySource{Bucket: bucket, Key: key}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return nil, bad("its query is not URL-encoded correctly")
		}
		for k := range q {
			if k != "versionId" {
				return nil, bad("only versionId may follow the key")
			}
		}
		cs.VersionID = q.Get("versionId")
		if cs.VersionID == "" {
			return nil, bad("versionId is empty")
		}
	}
	return cs, nil
}

// Replica headers (replica.md).
const (
	hdrReplicaPrefix       = "X-Sos-Replica-"
	hdrReplicaVersionID    = "X-Sos-Replica-Version-Id"
	hdrReplicaLastModified = "X-Sos-Replica-Last-Modified"
	hdrReplicaETag         = "X-Sos-Replica-Etag"
	hdrReplicaPartsCount   = "X-Sos-Replica-Parts-Count"
	hdrReplicaDeleteMarker = "X-Sos-Replica-Delete-Marker"
)

func hasReplicaHeaders(h http.Header) bool {
	for name := range h {
		if strings.HasPrefix(http.CanonicalHeaderKey(name), hdrReplicaPrefix) {
			return true
		}
	}
	return false
}

// checkReplicaHeaders refuses x-sos-replica-* headers from anyone but a
// role session.
func (h *Handler) checkReplicaHeaders(req *request) error {
	if !hasReplicaHeaders(req.r.Header) {
		return nil
	}
	if req.principal.Kind != iam.PrincipalRoleSession {
		return s3err.New(s3err.AccessDenied, "x-sos-replica-* headers are reserved to replication.")
	}
	return nil
}

// replicaInfo reads the replica identity of a write made by replication
// (nil when there is none). deleteMarker is X-Sos-Replica-Delete-Marker.
func replicaInfo(req *request) (info *object.ReplicaInfo, deleteMarker bool, err error) {
	hd := req.r.Header
	if !hasReplicaHeaders(hd) || req.principal.Kind != iam.PrincipalRoleSession {
		return nil, false, nil
	}
	bad := func(why string) error {
		return s3err.New(s3err.InvalidArgument, "Invalid replica headers: "+why+".")
	}
	info = &object.ReplicaInfo{VersionID: hd.Get(hdrReplicaVersionID), ETag: strings.Trim(hd.Get(hdrReplicaETag), `"`)}
	if info.VersionID == "" || info.VersionID == meta.NullVersionID {
		return nil, false, bad(hdrReplicaVersionID + " is required and must name a version")
	}
	if v := hd.Get(hdrReplicaLastModified); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, false, bad(hdrReplicaLastModified + " must be an RFC 3339 time")
		}
		info.LastModified = t
	}
	if v := hd.Get(hdrReplicaPartsCount); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > object.MaxPartNumber {
			return nil, false, bad(hdrReplicaPartsCount + " must be a part count")
		}
		info.PartsCount = n
	}
	switch v := hd.Get(hdrReplicaDeleteMarker); v {
	case "":
	case "true":
		deleteMarker = true
	default:
		return nil, false, bad(hdrReplicaDeleteMarker + " must be true when present")
	}
	return info, deleteMarker, nil
}
