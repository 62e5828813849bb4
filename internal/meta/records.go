package meta

import "time"

// Versioning is a bucket's versioning state as S3 names it.
type Versioning string

const (
	Unversioned Versioning = ""
	Enabled     Versioning = "Enabled"
	Suspended   Versioning = "Suspended"
)

// NullVersionID is the version ID of objects written while versioning is
// unversioned or suspended.
const NullVersionID = "null"

// Bucket is one bucket of a zone.
type Bucket struct {
	Name       string
	Zone       string
	CreatedAt  time.Time
	Versioning Versioning
	// Replication is the bucket's replication configuration, nil when none
	// is set.
	Replication *ReplicationConfig
	// CORS is the bucket's CORS configuration, its rules in order; nil when
	// none is set (S3 has no empty configuration).
	CORS []CORSRule
	// Tags are the bucket's tags (S3's bucket tagging); nil when none are
	// set.
	Tags map[string]string
}

// CORSRule is one rule of a bucket's CORS configuration, the elements of
// S3's CORSRule as given, checked by the object service before they are
// stored. A Store gives them back in order, element for element.
type CORSRule struct {
	ID             string // "" when absent
	AllowedOrigins []string
	AllowedMethods []string
	AllowedHeaders []string
	ExposeHeaders  []string
	// MaxAgeSeconds is nil when absent.
	MaxAgeSeconds *int
}

// ReplicationConfig is a bucket's replication configuration as a zone
// stores it: the elements of S3's ReplicationConfiguration, checked with
// S3's rules by the object service before it is stored (the S3 XML and JSON
// forms and the rules live in package replconfig, which meta does not
// know). A Store keeps it in an encoding of its own that carries a format
// version (pebblemeta: bucket records of format 2), and MUST give it back
// element for element, absent (nil) and empty values apart: a GET of the
// configuration renders it back as it was put.
type ReplicationConfig struct {
	Role  string // the IAM role replication runs under, as given
	Rules []ReplicationRule
}

// ReplicationRule is one rule of a ReplicationConfig. Optional S3 elements
// are nil pointers when absent, and the Enabled/Disabled blocks are empty
// strings when absent.
type ReplicationRule struct {
	ID       string
	Priority *int
	Status   string  // "Enabled" or "Disabled"
	Prefix   *string // the legacy (V1) prefix of a rule without a Filter
	Filter   *ReplicationFilter
	// DeleteMarkerReplication and ExistingObjectReplication are the Status
	// of those blocks: "Enabled", "Disabled", or "" when the block is absent.
	DeleteMarkerReplication   string
	ExistingObjectReplication string
	Destination               string // Destination.Bucket as given: a name or arn:aws:s3:::name
	StorageClass              string // Destination.StorageClass, "" when absent
}

// ReplicationFilter selects the objects of a rule: at most one of its
// fields is set (an empty Filter selects every object).
type ReplicationFilter struct {
	Prefix *string
	Tag    *ReplicationTag
	And    *ReplicationAnd
}

// ReplicationAnd combines an optional prefix and tags.
type ReplicationAnd struct {
	Prefix *string
	Tags   []ReplicationTag
}

// ReplicationTag is an object tag a filter asks for.
type ReplicationTag struct {
	Key   string
	Value string
}

// Attrs are the content headers and user metadata stored with an object.
type Attrs struct {
	ContentType        string
	CacheControl       string
	ContentDisposition string
	ContentEncoding    string
	ContentLanguage    string
	Expires            string
	// UserMeta holds x-amz-meta-* values, keyed by the lower-case name
	// without the prefix.
	UserMeta map[string]string
}

// Replication statuses of an object version, as S3 reports them in
// x-amz-replication-status. Empty means the version is not subject to
// replication.
const (
	ReplPending   = "PENDING"
	ReplCompleted = "COMPLETED"
	ReplFailed    = "FAILED"
	ReplReplica   = "REPLICA"
)

// ReplTarget is the replication state of one version towards one
// destination bucket.
type ReplTarget struct {
	RuleID     string
	DestBucket string
	Status     string // ReplPending, ReplCompleted or ReplFailed
	Reason     string // why it failed, in words a user can read
}

// TargetIndex returns the index in ts of the target towards dest, or -1.
func TargetIndex(ts []ReplTarget, dest string) int {
	for i, t := range ts {
		if t.DestBucket == dest {
			return i
		}
	}
	return -1
}

// Version is one version of an object, or a delete marker.
type Version struct {
	Bucket    string
	Key       string
	VersionID string // NullVersionID for the null version
	// Stamp orders the versions of a key: a greater Stamp is newer. It is the
	// hybrid logical clock value the version ID was made from (for the null
	// version, the clock value at the time it was written).
	Stamp          uint64
	IsDeleteMarker bool
	LastModified   time.Time
	Size           int64
	ETag           string // without quotes; multipart: "<md5 of md5s>-N"
	PartsCount     int    // 0 for single-part uploads
	Attrs          Attrs
	Tags           map[string]string
	// Checksums maps an algorithm name (CRC32, CRC32C, SHA1, SHA256) to its
	// base64 value, for checksums a client sent and the server verified.
	Checksums map[string]string
	// Inline holds the data of small objects; BlobID names the blob of
	// larger ones. At most one of them is set (neither for empty objects
	// and delete markers).
	Inline []byte
	BlobID string
	// Parts lists, in order, where the data of a completed multipart object
	// lives (Inline and BlobID are then unset); nil for single-part objects.
	// For a multipart object they are its parts (PartsCount is len(Parts));
	// a replica of a large single-part object keeps its data in the pieces
	// replication sent it in, with PartsCount 0: it has one part.
	Parts []PartRef
	// ReplicationStatus is the aggregate status (Repl* constants).
	ReplicationStatus string
	ReplTargets       []ReplTarget
}

// PartRef is one part of a completed multipart object: the blob holding it
// (empty for an empty part) and its size.
type PartRef struct {
	BlobID string
	Size   int64
}

// Upload is a multipart upload in progress.
type Upload struct {
	Bucket    string
	Key       string
	UploadID  string
	Initiated time.Time
	Attrs     Attrs
	Tags      map[string]string
	// ChecksumAlgorithm is set when the upload was created with one.
	ChecksumAlgorithm string
	// ReplicaVersionID, ReplicaLastModified and ReplicaETag are set when
	// replication creates the upload: the completed object takes this
	// identity (source version ID, last-modified time and ETag) and is
	// marked REPLICA. ReplicaPartsCount is the source's PartsCount: a
	// multipart source is replicated part for part (the completion must
	// list that many parts), a single-part one (0) in pieces that are not
	// parts of the replica.
	ReplicaVersionID    string
	ReplicaLastModified time.Time
	ReplicaETag         string
	ReplicaPartsCount   int
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	Bucket       string
	UploadID     string
	Number       int
	Size         int64
	ETag         string // without quotes
	LastModified time.Time
	Checksums    map[string]string
	Inline       []byte
	BlobID       string
}

// Outbox operations.
const (
	OpPut          = "put"           // copy the version (object data or delete marker) to the destination
	OpDeleteMarker = "delete-marker" // create the delete marker on the destination
	OpTags         = "tags"          // set the version's tags on the destination
)

// Outbox states.
const (
	OutboxPending = "pending"
	OutboxFailed  = "failed"
)

// OutboxEntry is one replication operation still to do: copy one source
// version to one destination bucket. It is written in the same transaction
// as the version it refers to and deleted when the operation is done.
type OutboxEntry struct {
	// ID is a stamp of the zone's version clock (versionid.Format; backfill
	// entries add an "r" suffix, see replication's Resync), so IDs sort by
	// when the entries were made and are unique within the zone while its
	// clock does not repeat a stamp (a restarted clock starts again from the
	// wall clock). Entries do not commit in ID order: writes of different
	// keys take their stamps and commit in either order, so an entry can
	// commit behind one with a greater ID, and a scan that resumes after an
	// ID can miss it. The object service's entries of one key commit in ID
	// order (it holds the key's lock from stamp to commit).
	ID         string
	Bucket     string
	Key        string
	VersionID  string
	Op         string
	RuleID     string
	DestBucket string
	Role       string // IAM role UUID the operation runs under
	Size       int64
	CreatedAt  time.Time
	State      string // OutboxPending or OutboxFailed
	Attempts   int
	NextTry    time.Time
	LastError  string
}
