package meta

import "context"

// ScanOptions selects versions for Reader.ScanVersions.
type ScanOptions struct {
	Bucket string
	// Prefix restricts the scan to keys that start with it.
	Prefix string
	// StartKey, when set, makes the scan begin at this key (inclusive).
	StartKey string
	// AfterStamp, when non-zero and StartKey is set, skips the versions of
	// StartKey whose Stamp is >= AfterStamp (they were seen already): the
	// scan resumes with the next older version of StartKey.
	AfterStamp uint64
	// LatestOnly yields only the newest version of each key (which may be a
	// delete marker).
	LatestOnly bool
	// WithData asks for Inline data to be loaded; without it, Inline is nil
	// in the yielded versions (listings never need it).
	WithData bool
}

// Reader reads metadata. All methods take ctx first.
type Reader interface {
	// Bucket MUST return ErrNotFound when the bucket does not exist.
	Bucket(ctx context.Context, name string) (Bucket, error)
	// Buckets returns every bucket ordered by name.
	Buckets(ctx context.Context) ([]Bucket, error)

	// Version returns one version of a key; versionID "" means the newest
	// version (which may be a delete marker). MUST return ErrNotFound when
	// there is no such version. Inline data is loaded.
	Version(ctx context.Context, bucket, key, versionID string) (Version, error)
	// ScanVersions calls fn for versions in key order (byte-wise ascending),
	// and within a key from newest to oldest. fn may return ErrStop to end
	// the scan early (ScanVersions then returns nil); any other error ends
	// the scan and is returned.
	ScanVersions(ctx context.Context, opts ScanOptions, fn func(Version) error) error

	// Upload MUST return ErrNotFound when the upload does not exist in bucket.
	Upload(ctx context.Context, bucket, uploadID string) (Upload, error)
	// ScanUploads calls fn for the uploads of bucket ordered by key, then
	// initiation time, then upload ID.
	ScanUploads(ctx context.Context, bucket string, fn func(Upload) error) error
	// Parts returns the parts of an upload ordered by part number (without
	// Inline data unless withData).
	Parts(ctx context.Context, bucket, uploadID string, withData bool) ([]Part, error)

	// OutboxEntry MUST return ErrNotFound when the entry does not exist.
	OutboxEntry(ctx context.Context, id string) (OutboxEntry, error)
	// ScanOutbox calls fn for outbox entries with ID > afterID, in ID order.
	ScanOutbox(ctx context.Context, afterID string, fn func(OutboxEntry) error) error
}

// Tx is the reads and writes of one Update, valid only until its fn returns.
// Its writes commit together (see Store). Reads through a Tx see committed
// records and the Tx's own writes, which nothing outside the Tx sees before
// the commit.
type Tx interface {
	Reader
	PutBucket(ctx context.Context, b Bucket) error
	// DeleteBucket removes the bucket record only; callers check emptiness.
	DeleteBucket(ctx context.Context, name string) error
	// PutVersion inserts or replaces the version (bucket, key, VersionID).
	PutVersion(ctx context.Context, v Version) error
	// DeleteVersion MUST return ErrNotFound when there is no such version.
	DeleteVersion(ctx context.Context, bucket, key, versionID string) error
	PutUpload(ctx context.Context, u Upload) error
	// DeleteUpload removes the upload and all its parts.
	DeleteUpload(ctx context.Context, bucket, uploadID string) error
	// PutPart inserts or replaces a part (same bucket, upload and number).
	PutPart(ctx context.Context, p Part) error
	PutOutbox(ctx context.Context, e OutboxEntry) error
	DeleteOutbox(ctx context.Context, id string) error
}

// Store persists metadata and is safe for concurrent use. Update runs fn
// with a Tx and commits fn's writes. What callers rely on, and so what every
// implementation MUST give (metatest checks what a test can):
//
//   - Atomic: Update commits all of fn's writes or none of them. When fn
//     returns an error, or ctx is done before the commit, nothing is written
//     and Update returns that error (errors.Is finds it). Callers take any
//     error of Update but ErrStoreFailed for "nothing written" (they delete
//     the blobs the writes referred to). A commit that fails after it may
//     have taken effect (a failed WAL write or fsync, a connection lost
//     during the commit) is a broken store, not a failed Update: the
//     implementation returns ErrStoreFailed for it (callers then keep the
//     blobs) and for every later call rather than go on. No call hangs on
//     a failed store.
//   - Durable: once Update returns nil, its writes survive a crash of the
//     process or of the machine.
//   - Visible: no read outside fn sees fn's writes before the commit; every
//     read that starts after Update returned nil sees all of them, through
//     this Store or any other handle on the same data (another process or
//     node of the zone).
//   - Not isolated: reads in fn see the records committed so far, and other
//     Updates may commit between those reads and fn's commit. Callers that
//     read and then write the same records serialize those Updates
//     themselves (the object service holds a lock per key around each).
//   - Concurrent: Updates from many goroutines proceed together; one does not
//     wait for the durable commit of another before making its own (the rate
//     of small writes a zone sustains depends on it).
//
// Close releases the store; after it the only call allowed is another
// Close, which implementations tolerate.
type Store interface {
	Reader
	Update(ctx context.Context, fn func(Tx) error) error
	Close() error
}
