package object

import (
	"errors"
	"fmt"
)

// Domain errors. The S3 layer maps them to S3 error codes in one table;
// wrap them with fmt.Errorf("%w: ...") to add words for the user.
var (
	ErrNoSuchBucket              = errors.New("no such bucket")
	ErrBucketExists              = errors.New("bucket already exists")       // name taken (any zone, other owner)
	ErrBucketOwnedByYou          = errors.New("bucket already owned by you") // name taken by this account
	ErrBucketNotEmpty            = errors.New("bucket not empty")
	ErrInvalidBucketName         = errors.New("invalid bucket name")
	ErrNoSuchKey                 = errors.New("no such key")
	ErrNoSuchVersion             = errors.New("no such version")
	ErrKeyTooLong                = errors.New("key too long")
	ErrMethodNotAllowed          = errors.New("method not allowed") // e.g. GET of a delete marker by version ID
	ErrPreconditionFailed        = errors.New("precondition failed")
	ErrNotModified               = errors.New("not modified")
	ErrInvalidRange              = errors.New("invalid range")
	ErrBadDigest                 = errors.New("bad digest")     // Content-MD5 or checksum mismatch
	ErrInvalidDigest             = errors.New("invalid digest") // malformed Content-MD5 / checksum value
	ErrEntityTooLarge            = errors.New("entity too large")
	ErrEntityTooSmall            = errors.New("entity too small")
	ErrIncompleteBody            = errors.New("incomplete body")
	ErrNoSuchUpload              = errors.New("no such upload")
	ErrInvalidPart               = errors.New("invalid part")
	ErrInvalidPartOrder          = errors.New("invalid part order")
	ErrInvalidArgument           = errors.New("invalid argument")
	ErrInvalidTag                = errors.New("invalid tag")
	ErrInvalidRequest            = errors.New("invalid request") // e.g. replication on an unversioned bucket
	ErrReplicationConfigNotFound = errors.New("replication configuration not found")
	ErrNoSuchCORSConfiguration   = errors.New("the CORS configuration does not exist")
	ErrNoSuchTagSet              = errors.New("the TagSet does not exist")
	// ErrMalformedConfig: a bucket configuration lacks what S3's schema
	// requires (a CORS rule without AllowedMethod, ...).
	ErrMalformedConfig = errors.New("malformed configuration")
	// ErrUnavailable: a service the operation needs (the control plane,
	// another zone) cannot be reached now; the client may retry.
	ErrUnavailable         = errors.New("service unavailable")
	ErrInvalidStorageState = errors.New("invalid bucket state") // e.g. suspending versioning with replication
	ErrMetadataTooLarge    = errors.New("metadata too large")   // x-amz-meta-* over MaxUserMetaSize
	ErrMalformedPartList   = errors.New("malformed part list")  // CompleteUpload with no parts or too many
)

// ConditionError says which precondition of a GET, HEAD or copy failed.
// Err is ErrPreconditionFailed or ErrNotModified; Header is the request
// header that failed, as S3 names it in <Condition> (If-Match,
// If-Unmodified-Since, x-amz-copy-source-If-None-Match, ...).
type ConditionError struct {
	Header string
	Err    error
}

func (e *ConditionError) Error() string { return fmt.Sprintf("%v: %s", e.Err, e.Header) }

func (e *ConditionError) Unwrap() error { return e.Err }

// BucketTakenError is the refusal of a bucket name that another zone holds
// (the registry knows which): errors.Is(err, ErrBucketExists) holds, and
// Zone names the holder so that the S3 layer can tell the client where the
// bucket is, as S3 names the region of a bucket.
type BucketTakenError struct {
	Bucket string
	Zone   string
}

func (e *BucketTakenError) Error() string {
	return fmt.Sprintf("%v: the name %s is taken in zone %s", ErrBucketExists, e.Bucket, e.Zone)
}

func (e *BucketTakenError) Unwrap() error { return ErrBucketExists }
