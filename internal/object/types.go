package object

import (
	"io"
	"time"

	"sos/internal/meta"
)

// Limits, as S3 has them.
const (
	MaxKeyLength    = 1024
	MaxObjectSize   = 5 << 40 // 5 TiB (multipart)
	MaxPutSize      = 5 << 30 // 5 GiB in one PUT
	MinPartSize     = 5 << 20 // all parts but the last
	MaxPartNumber   = 10000
	MaxTags         = 10
	MaxUserMetaSize = 2 << 10 // 2 KiB of x-amz-meta-* names and values
)

// Checksum is a checksum the client sent: Algorithm is CRC32, CRC32C, SHA1
// or SHA256; Value is base64, as in x-amz-checksum-*.
type Checksum struct {
	Algorithm string
	Value     string
}

// Conditions are the If-* preconditions of GET, HEAD and copy sources.
type Conditions struct {
	IfMatch           string
	IfNoneMatch       string
	IfModifiedSince   *time.Time
	IfUnmodifiedSince *time.Time
}

// Range is a byte range request: First..Last inclusive, or the last Suffix
// bytes when Suffix > 0. Last < 0 means to the end.
type Range struct {
	First, Last int64
	Suffix      int64
}

// ReplicaInfo carries the source's identity of a version written by
// replication: the destination keeps the source's version ID, last-modified
// time and ETag, and marks the version REPLICA. Only role credentials used
// by replication may set it (the S3 layer checks that).
type ReplicaInfo struct {
	VersionID    string
	LastModified time.Time
	ETag         string
	// PartsCount is the source's: 0 for a single-part source (the only
	// value a PutObject takes); on a CreateUpload of a multipart source,
	// the number of parts its completion must list (see
	// CompleteUpload).
	PartsCount int
}

// PutInput is a PutObject.
type PutInput struct {
	Bucket, Key string
	Body        io.Reader
	// Size is the exact body length, or -1 if unknown (aws-chunked bodies
	// know their decoded length).
	Size       int64
	Attrs      meta.Attrs
	Tags       map[string]string
	ContentMD5 []byte // raw 16 bytes when the client sent Content-MD5
	// Checksum, when set, is verified against the data; a Checksum whose
	// Value is empty means "compute it and store it" (the value arrives in a
	// trailer: TrailerChecksum is called after Body hits EOF).
	Checksum        *Checksum
	TrailerChecksum func() (Checksum, bool)
	// Replica is set only for writes made by replication.
	Replica *ReplicaInfo
	// IsDeleteMarker with Replica set replicates a delete marker.
	IsDeleteMarker bool
	// IfNoneMatch "*" writes only when the key has no current object
	// (ErrPreconditionFailed otherwise); IfMatch (a list of ETags, or "*")
	// only when the current object has one of them (ErrPreconditionFailed,
	// or ErrNoSuchKey when there is none). Both are checked in the commit,
	// under the key's lock.
	IfNoneMatch, IfMatch string
}

// ObjectInfo describes one version.
type ObjectInfo struct {
	Bucket, Key       string
	VersionID         string // "" when the bucket has never been versioned
	IsDeleteMarker    bool
	IsLatest          bool
	Size              int64
	ETag              string // without quotes
	LastModified      time.Time
	Attrs             meta.Attrs
	TagCount          int
	Checksums         map[string]string
	PartsCount        int
	ReplicationStatus string
}

// GetInput is a GetObject or HeadObject.
type GetInput struct {
	Bucket, Key string
	VersionID   string
	Range       *Range
	PartNumber  int
	Conditions  Conditions
}

// GetOutput is an object to send. Body is nil for HEAD; callers close it.
// When a range was asked, RangeFirst/RangeLength say what Body holds.
type GetOutput struct {
	Info        ObjectInfo
	Body        io.ReadCloser
	Ranged      bool
	RangeFirst  int64
	RangeLength int64
}

// DeleteInput is a DeleteObject.
type DeleteInput struct {
	Bucket, Key string
	VersionID   string
}

// DeleteOutput says what a delete did.
type DeleteOutput struct {
	VersionID      string // the delete marker made, or the version removed
	IsDeleteMarker bool   // a delete marker was made (or the removed version was one)
}

// CopyInput is a CopyObject (or UploadPartCopy source).
type CopyInput struct {
	SrcBucket, SrcKey, SrcVersionID string
	SrcConditions                   Conditions
	Bucket, Key                     string
	// ReplaceMetadata is x-amz-metadata-directive: REPLACE (Attrs used);
	// otherwise the source's attributes are copied.
	ReplaceMetadata bool
	Attrs           meta.Attrs
	// ReplaceTags is x-amz-tagging-directive: REPLACE (Tags used).
	ReplaceTags bool
	Tags        map[string]string
}

// CopyOutput is the result of a copy.
type CopyOutput struct {
	Info         ObjectInfo
	SrcVersionID string
}

// ListInput is ListObjects (v1 and v2).
type ListInput struct {
	Bucket     string
	Prefix     string
	Delimiter  string
	StartAfter string // v1 marker, v2 start-after or decoded continuation token
	MaxKeys    int
}

// ListOutput is a page of keys and common prefixes.
type ListOutput struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	IsTruncated    bool
	// NextMarker is the last key or common prefix returned, to resume from.
	NextMarker string
}

// ListVersionsInput is ListObjectVersions.
type ListVersionsInput struct {
	Bucket          string
	Prefix          string
	Delimiter       string
	KeyMarker       string
	VersionIDMarker string
	MaxKeys         int
}

// ListVersionsOutput is a page of versions and delete markers, in key order
// and newest first within a key.
type ListVersionsOutput struct {
	Versions            []ObjectInfo // IsDeleteMarker tells markers apart
	CommonPrefixes      []string
	IsTruncated         bool
	NextKeyMarker       string
	NextVersionIDMarker string
}

// CreateUploadInput starts a multipart upload.
type CreateUploadInput struct {
	Bucket, Key       string
	Attrs             meta.Attrs
	Tags              map[string]string
	ChecksumAlgorithm string
	Replica           *ReplicaInfo
}

// UploadPartInput uploads one part (Body) or copies it (CopySource).
type UploadPartInput struct {
	Bucket, Key, UploadID string
	PartNumber            int
	Body                  io.Reader
	Size                  int64
	ContentMD5            []byte
	Checksum              *Checksum
	TrailerChecksum       func() (Checksum, bool)
	// CopySource, when set, makes this an UploadPartCopy of the source's
	// CopyRange (nil: the whole object).
	CopySource *CopyInput
	CopyRange  *Range
}

// PartInfo describes an uploaded part.
type PartInfo struct {
	Number       int
	ETag         string
	Size         int64
	LastModified time.Time
	Checksums    map[string]string
}

// CompletePart is one entry of CompleteMultipartUpload's body.
type CompletePart struct {
	Number int
	ETag   string // quotes allowed; compared without them
}

// UploadInfo describes an upload in progress.
type UploadInfo struct {
	Key, UploadID string
	Initiated     time.Time
}

// ListUploadsInput is ListMultipartUploads.
type ListUploadsInput struct {
	Bucket, Prefix, Delimiter, KeyMarker, UploadIDMarker string
	MaxUploads                                           int
}

// ListUploadsOutput is a page of uploads.
type ListUploadsOutput struct {
	Uploads                           []UploadInfo
	CommonPrefixes                    []string
	IsTruncated                       bool
	NextKeyMarker, NextUploadIDMarker string
}

// ListPartsInput is ListParts.
type ListPartsInput struct {
	Bucket, Key, UploadID string
	PartNumberMarker      int
	MaxParts              int
}

// ListPartsOutput is a page of parts.
type ListPartsOutput struct {
	Parts                []PartInfo
	IsTruncated          bool
	NextPartNumberMarker int
	Initiated            time.Time
}
