package object

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"sos/internal/blob"
	"sos/internal/meta"
	"sos/internal/versionid"
)

// DefaultInlineMax is the largest object kept inline in the metadata store
// when Options.InlineMax is 0. Inline objects commit with their metadata in
// one Update, instead of costing a blob Put as well (with pebblemeta and
// fsblob: a share of one WAL write that concurrent PUTs make together,
// instead of a file, two fsyncs and a rename each; see BenchmarkPut* in this
// package).
const DefaultInlineMax = 64 << 10

// BucketRegistry is the global bucket namespace of the control plane, as
// the object service needs it.
type BucketRegistry interface {
	// Register claims name for this zone. It MUST return an error wrapping
	// ErrBucketExists when another owner holds the name (a
	// *BucketTakenError when it knows the zone that holds it), or
	// ErrBucketOwnedByYou when the caller holds it already.
	Register(ctx context.Context, name string) error
	// Unregister releases name. Releasing a name not held is not an error.
	Unregister(ctx context.Context, name string) error
}

// DestinationChecker checks a replication destination.
type DestinationChecker interface {
	// CheckDestination returns nil when bucket exists (in any zone) and has
	// versioning Enabled, and an error saying what is wrong otherwise.
	CheckDestination(ctx context.Context, bucket string) error
}

// Options configure a Service.
type Options struct {
	Meta  meta.Store // required
	Blobs blob.Store // required
	Zone  string     // required: the zone name (tags version IDs)
	// Clock makes version IDs; nil makes one for Zone reading Now.
	Clock *versionid.Clock
	// Now is the wall clock for last-modified times (time.Now when nil).
	Now func() time.Time
	// InlineMax is the largest object stored inline in metadata:
	// 0 means DefaultInlineMax, < 0 means never inline.
	InlineMax int
	// Registry, when set, is asked before a bucket is created and told when
	// one is deleted.
	Registry BucketRegistry
	// Destinations, when set, vets the destinations of a replication
	// configuration.
	Destinations DestinationChecker
	// OnConflict is called (after commit) when a replica arrives for a key
	// whose latest version is a local version still PENDING or newer than
	// the replica: concurrent writes in two zones.
	OnConflict func(bucket, key string)
	// OnQueued is called after every commit that queued replication outbox
	// entries (whichever write method made them), so that the replication
	// workers can pick them up at once. It may be called with the key's
	// lock held: it must return quickly and not call the Service.
	OnQueued func()
	// OnReplicationChange is called after each successful SetReplication of
	// bucket (outside the bucket's lock), so that replication can act on
	// the new configuration.
	OnReplicationChange func(bucket string)
	Logger              *slog.Logger
}

const (
	keyStripes    = 1024
	bucketStripes = 64
)

// Service is a zone's bucket and object service. It is safe for
// concurrent use.
type Service struct {
	meta       meta.Store
	blobs      blob.Store
	zone       string
	clock      *versionid.Clock
	now        func() time.Time
	inlineMax  int
	registry   BucketRegistry
	dests      DestinationChecker
	onConflict func(bucket, key string)
	onQueued   func()
	onReplChg  func(bucket string)
	log        *slog.Logger

	keyLocks    [keyStripes]sync.Mutex
	bucketLocks [bucketStripes]sync.RWMutex
}

// New makes a Service and collects orphaned blobs (blobs no version or
// part refers to, left by a crash between a blob write and its metadata
// commit). Call it before serving requests.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Meta == nil || opts.Blobs == nil {
		return nil, errors.New("object: Options.Meta and Options.Blobs are required")
	}
	if opts.Zone == "" {
		return nil, errors.New("object: Options.Zone is required")
	}
	s := &Service{
		meta:       opts.Meta,
		blobs:      opts.Blobs,
		zone:       opts.Zone,
		clock:      opts.Clock,
		now:        opts.Now,
		inlineMax:  opts.InlineMax,
		registry:   opts.Registry,
		dests:      opts.Destinations,
		onConflict: opts.OnConflict,
		onQueued:   opts.OnQueued,
		onReplChg:  opts.OnReplicationChange,
		log:        opts.Logger,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.clock == nil {
		s.clock = versionid.New(opts.Zone, s.now)
	}
	if s.inlineMax == 0 {
		s.inlineMax = DefaultInlineMax
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	n, err := s.CollectOrphans(ctx)
	if err != nil {
		return nil, fmt.Errorf("object: collecting orphaned blobs: %w", err)
	}
	s.log.Info("object service started", "orphaned_blobs_removed", n)
	return s, nil
}

// Clock returns the service's hybrid logical clock.
func (s *Service) Clock() *versionid.Clock { return s.clock }

func stripe(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// lockKey takes the bucket's shared lock and the key's stripe lock; the
// returned func releases both.
func (s *Service) lockKey(bucket, key string) func() {
	bl := &s.bucketLocks[stripe(bucket)%bucketStripes]
	kl := &s.keyLocks[stripe(bucket, key)%keyStripes]
	bl.RLock()
	kl.Lock()
	return func() { kl.Unlock(); bl.RUnlock() }
}

// lockBucket takes the bucket's exclusive lock.
func (s *Service) lockBucket(bucket string) func() {
	bl := &s.bucketLocks[stripe(bucket)%bucketStripes]
	bl.Lock()
	return bl.Unlock
}

// bucket reads a bucket, mapping not-found to ErrNoSuchBucket.
func bucketOf(ctx context.Context, r meta.Reader, name string) (meta.Bucket, error) {
	b, err := r.Bucket(ctx, name)
	if errors.Is(err, meta.ErrNotFound) {
		return meta.Bucket{}, fmt.Errorf("%w: %s", ErrNoSuchBucket, name)
	}
	return b, err
}

func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty object key", ErrInvalidArgument)
	}
	if len(key) > MaxKeyLength {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrKeyTooLong, len(key), MaxKeyLength)
	}
	return nil
}

func checkAttrs(a meta.Attrs) error {
	n := 0
	for k, v := range a.UserMeta {
		n += len(k) + len(v)
	}
	if n > MaxUserMetaSize {
		return fmt.Errorf("%w: your metadata headers (x-amz-meta-*) hold %d bytes, at most %d are allowed", ErrMetadataTooLarge, n, MaxUserMetaSize)
	}
	return nil
}

// checkTags applies S3's tag rules to object tags.
func checkTags(tags map[string]string) error { return checkTagSet(tags, MaxTags) }

// checkTagSet applies S3's tag rules with at most max tags.
func checkTagSet(tags map[string]string, max int) error {
	if len(tags) > max {
		return fmt.Errorf("%w: %d tags, at most %d are allowed", ErrInvalidTag, len(tags), max)
	}
	for k, v := range tags {
		switch {
		case k == "":
			return fmt.Errorf("%w: empty tag key", ErrInvalidTag)
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return fmt.Errorf("%w: tags must be UTF-8", ErrInvalidTag)
		case utf8.RuneCountInString(k) > 128:
			return fmt.Errorf("%w: tag key longer than 128 characters", ErrInvalidTag)
		case utf8.RuneCountInString(v) > 256:
			return fmt.Errorf("%w: tag value longer than 256 characters", ErrInvalidTag)
		case len(k) >= 4 && k[:4] == "aws:":
			return fmt.Errorf("%w: tag keys starting with aws: are reserved", ErrInvalidTag)
		}
		if !tagChars(k) || !tagChars(v) {
			return fmt.Errorf("%w: tags may hold letters, digits, spaces and + - = . _ : / @", ErrInvalidTag)
		}
	}
	return nil
}

func tagChars(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == ' ' || r == '+' || r == '-' || r == '=' || r == '.' || r == '_' || r == ':' || r == '/' || r == '@':
		case r > 127 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\u00a0'):
		default:
			return false
		}
	}
	return true
}

// info converts a version to the ObjectInfo the API returns. versioned
// says whether the bucket has ever been versioned ("null" IDs are shown
// then).
func info(v meta.Version, latest, versioned bool) ObjectInfo {
	id := v.VersionID
	if id == meta.NullVersionID && !versioned {
		id = ""
	}
	return ObjectInfo{
		Bucket:            v.Bucket,
		Key:               v.Key,
		VersionID:         id,
		IsDeleteMarker:    v.IsDeleteMarker,
		IsLatest:          latest,
		Size:              v.Size,
		ETag:              v.ETag,
		LastModified:      v.LastModified,
		Attrs:             v.Attrs,
		TagCount:          len(v.Tags),
		Checksums:         v.Checksums,
		PartsCount:        v.PartsCount,
		ReplicationStatus: v.ReplicationStatus,
	}
}

// blobsOf lists the blobs a version holds.
func blobsOf(v meta.Version) []string {
	var ids []string
	if v.BlobID != "" {
		ids = append(ids, v.BlobID)
	}
	for _, p := range v.Parts {
		if p.BlobID != "" {
			ids = append(ids, p.BlobID)
		}
	}
	return ids
}

// dropBlobs deletes blobs whose last reference is gone (after the commit
// that removed it). A failure only leaves an orphan that the next start-up
// collects, so it is logged, not returned.
func (s *Service) dropBlobs(ctx context.Context, ids []string) {
	for _, id := range ids {
		if err := s.blobs.Delete(context.WithoutCancel(ctx), id); err != nil {
			s.log.Warn("deleting blob", "blob", id, "err", err)
		}
	}
}

// dropUncommitted deletes the blob of a write whose commit failed with
// err, unless the metadata store failed during that commit: then the
// commit may have taken effect (meta.ErrStoreFailed), and the blob stays
// for the orphan collection at the next start-up to judge.
func (s *Service) dropUncommitted(ctx context.Context, err error, id string) {
	if id == "" {
		return
	}
	if errors.Is(err, meta.ErrStoreFailed) {
		s.log.Warn("keeping the blob of a write whose commit failed with the metadata store", "blob", id)
		return
	}
	s.dropBlobs(ctx, []string{id})
}

// DeleteMarkerError is returned (wrapping ErrNoSuchKey or
// ErrMethodNotAllowed) when a GET or HEAD hits a delete marker; Info
// describes the marker so that the S3 layer can send x-amz-delete-marker and
// x-amz-version-id.
type DeleteMarkerError struct {
	Info ObjectInfo
	Err  error
}

func (e *DeleteMarkerError) Error() string {
	return fmt.Sprintf("%v: %s is a delete marker (version %s)", e.Err, e.Info.Key, e.Info.VersionID)
}

func (e *DeleteMarkerError) Unwrap() error { return e.Err }
