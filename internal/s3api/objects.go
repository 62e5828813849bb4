package s3api

import (
	"context"

	"sos/internal/meta"
	"sos/internal/object"
	"sos/internal/replconfig"
)

// Objects is what the S3 handler needs of a zone's object service
// (*object.Service implements it). Errors are object.Err* values, possibly
// wrapped; the handler maps them to S3 errors in one table.
type Objects interface {
	// Buckets.
	CreateBucket(ctx context.Context, name string) error
	DeleteBucket(ctx context.Context, name string) error
	Bucket(ctx context.Context, name string) (meta.Bucket, error)
	ListBuckets(ctx context.Context) ([]meta.Bucket, error)
	SetVersioning(ctx context.Context, bucket string, v meta.Versioning) error
	// SetReplication stores a configuration (nil removes it). It refuses
	// with ErrInvalidRequest when the bucket's versioning is not Enabled.
	SetReplication(ctx context.Context, bucket string, cfg *replconfig.Config) error
	// Replication returns the bucket's configuration. It MUST return an
	// error matching ErrReplicationConfigNotFound when there is none.
	Replication(ctx context.Context, bucket string) (*replconfig.Config, error)
	// SetCORS stores a CORS configuration (nil removes it, or answers
	// ErrNoSuchCORSConfiguration when there is none); CORS returns it or
	// ErrNoSuchCORSConfiguration.
	SetCORS(ctx context.Context, bucket string, rules []meta.CORSRule) error
	CORS(ctx context.Context, bucket string) ([]meta.CORSRule, error)
	// SetBucketTags replaces a bucket's tags (nil removes them);
	// BucketTags returns them or ErrNoSuchTagSet.
	SetBucketTags(ctx context.Context, bucket string, tags map[string]string) error
	BucketTags(ctx context.Context, bucket string) (map[string]string, error)

	// Objects.
	PutObject(ctx context.Context, in object.PutInput) (object.ObjectInfo, error)
	GetObject(ctx context.Context, in object.GetInput) (object.GetOutput, error)
	HeadObject(ctx context.Context, in object.GetInput) (object.GetOutput, error)
	DeleteObject(ctx context.Context, in object.DeleteInput) (object.DeleteOutput, error)
	CopyObject(ctx context.Context, in object.CopyInput) (object.CopyOutput, error)
	GetTagging(ctx context.Context, bucket, key, versionID string) (map[string]string, string, error)
	PutTagging(ctx context.Context, bucket, key, versionID string, tags map[string]string) (string, error)
	DeleteTagging(ctx context.Context, bucket, key, versionID string) (string, error)
	// Attributes returns what GetObjectAttributes tells of a version.
	Attributes(ctx context.Context, bucket, key, versionID string) (object.ObjectAttributes, error)

	// Listings.
	ListObjects(ctx context.Context, in object.ListInput) (object.ListOutput, error)
	ListVersions(ctx context.Context, in object.ListVersionsInput) (object.ListVersionsOutput, error)

	// Multipart.
	CreateUpload(ctx context.Context, in object.CreateUploadInput) (string, error)
	UploadPart(ctx context.Context, in object.UploadPartInput) (object.PartInfo, error)
	CompleteUpload(ctx context.Context, bucket, key, uploadID string, parts []object.CompletePart) (object.ObjectInfo, error)
	AbortUpload(ctx context.Context, bucket, key, uploadID string) error
	ListUploads(ctx context.Context, in object.ListUploadsInput) (object.ListUploadsOutput, error)
	ListParts(ctx context.Context, in object.ListPartsInput) (object.ListPartsOutput, error)
}
