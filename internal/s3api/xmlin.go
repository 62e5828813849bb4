package s3api

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"sos/internal/meta"
	"sos/internal/object"
	"sos/internal/s3err"
)

// Limits of XML request bodies.
const (
	maxXMLBody      = 1 << 20 // 1 MiB
	maxDeleteKeys   = 1000
	maxTagKeyLen    = 128
	maxTagValueLen  = 256
	maxCompleteBody = 2 << 20 // 10000 parts with long ETags
)

// readXMLBody reads a small request body (at most limit bytes) and verifies
// Content-MD5 and x-amz-checksum-* when the client sent them.
func readXMLBody(req *request, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(req.auth.Body, limit+1))
	if err != nil {
		var se *s3err.Error
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", errReadBody, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: the XML body is larger than %d bytes", errBodyTooLarge, limit)
	}
	if v := req.r.Header.Get("Content-Md5"); v != "" {
		want, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(want) != md5.Size {
			return nil, s3err.New(s3err.InvalidDigest, "The Content-MD5 you specified is not a base64 MD5 digest.")
		}
		got := md5.Sum(data)
		if !bytes.Equal(want, got[:]) {
			return nil, s3err.New(s3err.BadDigest, "The Content-MD5 you specified did not match what we received.")
		}
	}
	for _, alg := range checksumAlgorithms {
		v := req.r.Header.Get("X-Amz-Checksum-" + alg)
		if v == "" {
			continue
		}
		got, err := computeChecksum(alg, data)
		if err != nil {
			return nil, err
		}
		if got != v {
			return nil, s3err.New(s3err.BadDigest, "The x-amz-checksum-"+strings.ToLower(alg)+" you specified did not match what we received.")
		}
	}
	return data, nil
}

// decodeXML decodes data into v and checks the root element's name.
func decodeXML(data []byte, root string, v any, rootName func() string) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%w: the request body is empty, a %s document is required", errMalformedXML, root)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %v", errMalformedXML, root, err)
	}
	if got := rootName(); got != root {
		return fmt.Errorf("%w: the root element must be %s, not %s", errMalformedXML, root, got)
	}
	return nil
}

type completeMultipartXML struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber string `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

// parseCompleteMultipart parses a CompleteMultipartUpload body.
func parseCompleteMultipart(data []byte) ([]object.CompletePart, error) {
	var c completeMultipartXML
	if err := decodeXML(data, "CompleteMultipartUpload", &c, func() string { return c.XMLName.Local }); err != nil {
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
func parseDelete(data []byte) (quiet bool, entries []deleteEntry, err error) {
	var d deleteXML
	if err := decodeXML(data, "Delete", &d, func() string { return d.XMLName.Local }); err != nil {
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
func parseVersioning(data []byte) (meta.Versioning, error) {
	var v versioningXML
	if err := decodeXML(data, "VersioningConfiguration", &v, func() string { return v.XMLName.Local }); err != nil {
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
func parseTagging(data []byte) (map[string]string, error) {
	var t taggingXML
	if err := decodeXML(data, "Tagging", &t, func() string { return t.XMLName.Local }); err != nil {
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
	if err := checkTags(tags); err != nil {
		return nil, err
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
func parseCreateBucket(data []byte) (string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return "", nil
	}
	var c createBucketXML
	if err := decodeXML(data, "CreateBucketConfiguration", &c, func() string { return c.XMLName.Local }); err != nil {
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
