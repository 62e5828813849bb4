package object

import "errors"

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
	ErrInvalidStorageState       = errors.New("invalid bucket state") // e.g. suspending versioning with replication
)
