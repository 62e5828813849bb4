package s3api

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"unicode/utf8"

	"sos/internal/bounded"
	"sos/internal/meta"
	"sos/internal/object"
	"sos/internal/s3err"
)

// Limits of XML request bodies, one per document, all decoded by
// bounded.DecodeXML as the body streams in (never read whole first). Where
// S3 documents a count, the element limit leaves room for the largest legal
// document and no more: 10000 parts of a CompleteMultipartUpload (Part,
// PartNumber, ETag, a checksum: 8 elements each allowed), 1000 objects of a
// DeleteObjects (Key of up to 1024 bytes, VersionId, ETag, ...: 8 each),
// 10 tags (replication configurations: replconfig.ReadXML). Sizes: 2 MiB for the 10000
// parts with long ETags and checksums, 4 MiB for 1000 keys of 1024 bytes
// with XML escapes, 1 MiB for configurations, 64 KiB for the small
// documents. No S3 document nests deeper than 7 levels; 32 are allowed.
// A body over its size is refused with MaxMessageLengthExceeded, one that
// nests too deep or has too many elements with MalformedXML.
const (
	maxXMLDepth    = 32
	maxDeleteKeys  = 1000
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

var (
	completeLimits = bounded.Limits{Bytes: 2 << 20, Depth: maxXMLDepth, Elements: 8*object.MaxPartNumber + 8}
	deleteLimits   = bounded.Limits{Bytes: 4 << 20, Depth: maxXMLDepth, Elements: 8*maxDeleteKeys + 8}
	taggingLimits  = bounded.Limits{Bytes: 64 << 10, Depth: maxXMLDepth, Elements: 1000}
	smallLimits    = bounded.Limits{Bytes: 64 << 10, Depth: maxXMLDepth, Elements: 1000}
)

// xmlBody returns the request body of an XML document of at most maxBytes (decoded
// by a parse function as it arrives, never read whole first). The reader
// verifies Content-MD5 and x-amz-checksum-* when the client sent them: at
// the body's end it fails with BadDigest instead of io.EOF on a mismatch,
// and the SigV4 payload hash is checked there too; bounded.DecodeXML reads
// to the end, so no parse function returns a document whose digests are
// wrong.
func xmlBody(req *request, maxBytes int64) (io.Reader, error) {
	if req.r.ContentLength > maxBytes {
		return nil, fmt.Errorf("%w: the XML body is %d bytes, at most %d are allowed", bounded.ErrTooLarge, req.r.ContentLength, maxBytes)
	}
	sums, err := newBodyDigests(req)
	if err != nil {
		return nil, err
	}
	return &digestReader{r: clientBody{req.auth.Body}, d: sums}, nil
}

// digestReader hashes what it reads and verifies the digests at the end.
type digestReader struct {
	r io.Reader
	d *bodyDigests
}

func (r *digestReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.d.Write(p[:n])
	if err == io.EOF {
		if verr := r.d.verify(); verr != nil {
			return n, verr
		}
	}
	return n, err
}

// bodyDigests hashes a body for the digests its request declares.
type bodyDigests struct {
	md5  hash.Hash
	want []byte
	sums []checksum
}

type checksum struct {
	alg, want string
	h         hash.Hash
}

func newBodyDigests(req *request) (*bodyDigests, error) {
	d := &bodyDigests{}
	if v := req.r.Header.Get("Content-Md5"); v != "" {
		want, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(want) != md5.Size {
			return nil, s3err.New(s3err.InvalidDigest, "The Content-MD5 you specified is not a base64 MD5 digest.")
		}
		d.md5, d.want = md5.New(), want
	}
	for _, alg := range checksumAlgorithms {
		v := req.r.Header.Get("X-Amz-Checksum-" + alg)
		if v == "" {
			continue
		}
		h, err := newChecksumHash(alg)
		if err != nil {
			return nil, err
		}
		d.sums = append(d.sums, checksum{alg: alg, want: v, h: h})
	}
	return d, nil
}

func (d *bodyDigests) Write(p []byte) (int, error) {
	if d.md5 != nil {
		d.md5.Write(p)
	}
	for _, c := range d.sums {
		c.h.Write(p)
	}
	return len(p), nil
}

func (d *bodyDigests) verify() error {
	if d.md5 != nil && !bytes.Equal(d.want, d.md5.Sum(nil)) {
		return s3err.New(s3err.BadDigest, "The Content-MD5 you specified did not match what we received.")
	}
	for _, c := range d.sums {
		if base64.StdEncoding.EncodeToString(c.h.Sum(nil)) != c.want {
			return s3err.New(s3err.BadDigest, "The x-amz-checksum-"+strings.ToLower(c.alg)+" you specified did not match what we received.")
		}
	}
	return nil
}

// decodeXML decodes the XML document of r into v within lim. v's XMLName
// names the root element the document must have.
func decodeXML(r io.Reader, root string, v any, lim bounded.Limits) error {
	err := bounded.DecodeXML(r, v, lim)
	if errors.Is(err, bounded.ErrEmpty) {
		return fmt.Errorf("%w: the request body is empty, a %s document is required", errMalformedXML, root)
	}
	if errors.Is(err, bounded.ErrMalformed) {
		return fmt.Errorf("%w: %s: %w", errMalformedXML, root, err)
	}
	return err
}

type completeMultipartXML struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber string `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

// parseCompleteMultipart parses a CompleteMultipartUpload body.
func parseCompleteMultipart(r io.Reader) ([]object.CompletePart, error) {
	var c completeMultipartXML
	if err := decodeXML(r, "CompleteMultipartUpload", &c, completeLimits); err != nil {
		return nil, err
	}
	if len(c.Parts) == 0 {
		return nil, fmt.Errorf("%w: CompleteMultipartUpload lists no Part", errMalformedXML)
	}
	if len(c.Parts) > object.MaxPartNumber {
		return nil, fmt.Errorf("%w: CompleteMultipartUpload lists %d parts, at most %d are allowed", errMalformedXML, len(c.Parts), object.MaxPartNumber)
	}
	parts := make([]object.CompletePart, len(c.Parts))
	for i, p := range c.Parts {
		n, ok := parsePartNumber(strings.TrimSpace(p.PartNumber))
		if !ok {
			return nil, fmt.Errorf("%w: Part %d: PartNumber %q is not a number from 1 to %d", errMalformedXML, i+1, clip(p.PartNumber), object.MaxPartNumber)
		}
		etag := strings.TrimSpace(p.ETag)
		if etag == "" {
			return nil, fmt.Errorf("%w: Part %d: ETag is required", errMalformedXML, n)
		}
		parts[i] = object.CompletePart{Number: n, ETag: etag}
	}
	return parts, nil
}

func parsePartNumber(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n >= 1 && n <= object.MaxPartNumber
}

type deleteXML struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   string   `xml:"Quiet"`
	Objects []struct {
		Key       *string `xml:"Key"`
		VersionID string  `xml:"VersionId"`
	} `xml:"Object"`
}

// deleteEntry is one object of a DeleteObjects request.
type deleteEntry struct {
	Key, VersionID string
}

// parseDelete parses a DeleteObjects body.
func parseDelete(r io.Reader) (quiet bool, entries []deleteEntry, err error) {
	var d deleteXML
	if err := decodeXML(r, "Delete", &d, deleteLimits); err != nil {
		return false, nil, err
	}
	switch strings.TrimSpace(d.Quiet) {
	case "", "false":
	case "true":
		quiet = true
	default:
		return false, nil, fmt.Errorf("%w: Quiet must be true or false, not %q", errMalformedXML, clip(d.Quiet))
	}
	if len(d.Objects) == 0 {
		return false, nil, fmt.Errorf("%w: Delete lists no Object", errMalformedXML)
	}
	if len(d.Objects) > maxDeleteKeys {
		return false, nil, fmt.Errorf("%w: Delete lists %d objects, at most %d are allowed in one request", errMalformedXML, len(d.Objects), maxDeleteKeys)
	}
	entries = make([]deleteEntry, len(d.Objects))
	for i, o := range d.Objects {
		if o.Key == nil || *o.Key == "" {
			return false, nil, fmt.Errorf("%w: Object %d has no Key", errMalformedXML, i+1)
		}
		entries[i] = deleteEntry{Key: *o.Key, VersionID: strings.TrimSpace(o.VersionID)}
	}
	return quiet, entries, nil
}

type versioningXML struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	Status    string   `xml:"Status"`
	MfaDelete string   `xml:"MfaDelete"`
}

// parseVersioning parses a PutBucketVersioning body.
func parseVersioning(r io.Reader) (meta.Versioning, error) {
	var v versioningXML
	if err := decodeXML(r, "VersioningConfiguration", &v, smallLimits); err != nil {
		return "", err
	}
	switch strings.TrimSpace(v.MfaDelete) {
	case "", "Disabled":
	default:
		return "", s3err.New(s3err.NotImplemented, "MFA delete is not supported.")
	}
	switch st := strings.TrimSpace(v.Status); st {
	case string(meta.Enabled):
		return meta.Enabled, nil
	case string(meta.Suspended):
		return meta.Suspended, nil
	case "":
		return "", fmt.Errorf("%w: VersioningConfiguration needs a Status (Enabled or Suspended)", errMalformedXML)
	default:
		return "", fmt.Errorf("%w: versioning Status must be Enabled or Suspended, not %q", errMalformedXML, clip(st))
	}
}

type taggingXML struct {
	XMLName xml.Name `xml:"Tagging"`
	TagSet  struct {
		Tags []struct {
			Key   *string `xml:"Key"`
			Value *string `xml:"Value"`
		} `xml:"Tag"`
	} `xml:"TagSet"`
}

// parseTagging parses a PutObjectTagging body.
func parseTagging(r io.Reader) (map[string]string, error) {
	tags, err := parseTagSet(r)
	if err != nil {
		return nil, err
	}
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	return tags, nil
}

// parseTagSet parses a Tagging document (object or bucket tags), refusing
// duplicate keys; the caller applies its limits.
func parseTagSet(r io.Reader) (map[string]string, error) {
	var t taggingXML
	if err := decodeXML(r, "Tagging", &t, taggingLimits); err != nil {
		return nil, err
	}
	tags := make(map[string]string, len(t.TagSet.Tags))
	for i, tag := range t.TagSet.Tags {
		if tag.Key == nil {
			return nil, fmt.Errorf("%w: Tag %d has no Key", errMalformedXML, i+1)
		}
		v := ""
		if tag.Value != nil {
			v = *tag.Value
		}
		if _, dup := tags[*tag.Key]; dup {
			return nil, s3err.New(s3err.InvalidTag, fmt.Sprintf("Cannot provide multiple tags with the same key %q.", clip(*tag.Key)))
		}
		tags[*tag.Key] = v
	}
	return tags, nil
}

// checkTags applies S3's limits on object tags.
func checkTags(tags map[string]string) error {
	if len(tags) > object.MaxTags {
		return s3err.New(s3err.InvalidTag, fmt.Sprintf("Object tags cannot be greater than %d; %d were given.", object.MaxTags, len(tags)))
	}
	for k, v := range tags {
		if k == "" || utf8.RuneCountInString(k) > maxTagKeyLen || !utf8.ValidString(k) {
			return s3err.New(s3err.InvalidTag, fmt.Sprintf("The tag key %q is not valid: keys are 1 to %d UTF-8 characters.", clip(k), maxTagKeyLen))
		}
		if utf8.RuneCountInString(v) > maxTagValueLen || !utf8.ValidString(v) {
			return s3err.New(s3err.InvalidTag, fmt.Sprintf("The value of tag %q is not valid: values are at most %d UTF-8 characters.", clip(k), maxTagValueLen))
		}
	}
	return nil
}

type createBucketXML struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

// parseCreateBucket parses an optional CreateBucketConfiguration body.
func parseCreateBucket(r io.Reader) (string, error) {
	var c createBucketXML
	err := bounded.DecodeXML(r, &c, smallLimits)
	switch {
	case errors.Is(err, bounded.ErrEmpty):
		return "", nil // the configuration is optional
	case errors.Is(err, bounded.ErrMalformed):
		return "", fmt.Errorf("%w: CreateBucketConfiguration: %w", errMalformedXML, err)
	case err != nil:
		return "", err
	}
	return strings.TrimSpace(c.LocationConstraint), nil
}

// clip shortens user input quoted in a message.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	i := 64
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
