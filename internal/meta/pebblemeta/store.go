package pebblemeta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"

	"sos/internal/meta"
)

// Options tunes a Store. The zero value is a good default.
type Options struct {
	// CacheSize is the size in bytes of the block cache (default 64 MiB).
	CacheSize int64
	// MemTableSize is the size in bytes of one memtable (default 32 MiB).
	MemTableSize uint64
	// Logger receives Pebble's error messages; informational messages are
	// dropped. Nil logs errors through slog.Default().
	Logger *slog.Logger
}

// Store is a meta.Store on a Pebble database in one directory. It is safe
// for concurrent use.
type Store struct {
	db        *pebble.DB
	closeOnce sync.Once
	closeErr  error
}

var _ meta.Store = (*Store)(nil)

// Open opens (creating it if needed) the store in dir. Only one Store may
// have dir open at a time: a second Open fails while the first is open.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("pebblemeta: empty directory")
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 64 << 20
	}
	if opts.MemTableSize == 0 {
		opts.MemTableSize = 32 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := preparePrivateDir(dir); err != nil {
		return nil, err
	}
	cache := pebble.NewCache(opts.CacheSize)
	defer cache.Unref() // the DB holds its own reference
	po := &pebble.Options{
		Cache:                       cache,
		MemTableSize:                opts.MemTableSize,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       32,
		LBaseMaxBytes:               64 << 20,
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      quietLogger{l: opts.Logger},
		FS:                          privateFS{vfs.Default},
	}
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	po.EnsureDefaults()
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("pebblemeta: open %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// Close releases the database (every Update is already durable when it
// returns). Calling it more than once returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}

// Update runs fn against an indexed batch (reads in fn see its writes) and
// commits the batch with fsync. If fn returns an error (or ctx is done
// before commit) nothing is written. Concurrent Updates share WAL syncs.
func (s *Store) Update(ctx context.Context, fn func(meta.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := s.db.NewIndexedBatch()
	t := &tx{b: b}
	t.reader = reader{r: b, tx: t}
	defer func() {
		t.done = true
		_ = b.Close() // a batch's Close only returns it to its pool
	}()
	if err := fn(t); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.Empty() {
		return nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("pebblemeta: commit: %w", err)
	}
	return nil
}

func (s *Store) r() reader { return reader{r: s.db} }

// Bucket implements meta.Reader.
func (s *Store) Bucket(ctx context.Context, name string) (meta.Bucket, error) {
	return s.r().Bucket(ctx, name)
}

// Buckets implements meta.Reader.
func (s *Store) Buckets(ctx context.Context) ([]meta.Bucket, error) { return s.r().Buckets(ctx) }

// Version implements meta.Reader.
func (s *Store) Version(ctx context.Context, bucket, key, versionID string) (meta.Version, error) {
	return s.r().Version(ctx, bucket, key, versionID)
}

// ScanVersions implements meta.Reader. LatestOnly skips the older versions
// of a key with one seek.
func (s *Store) ScanVersions(ctx context.Context, opts meta.ScanOptions, fn func(meta.Version) error) error {
	return s.r().ScanVersions(ctx, opts, fn)
}

// Upload implements meta.Reader.
func (s *Store) Upload(ctx context.Context, bucket, uploadID string) (meta.Upload, error) {
	return s.r().Upload(ctx, bucket, uploadID)
}

// ScanUploads implements meta.Reader.
func (s *Store) ScanUploads(ctx context.Context, bucket string, fn func(meta.Upload) error) error {
	return s.r().ScanUploads(ctx, bucket, fn)
}

// Parts implements meta.Reader.
func (s *Store) Parts(ctx context.Context, bucket, uploadID string, withData bool) ([]meta.Part, error) {
	return s.r().Parts(ctx, bucket, uploadID, withData)
}

// OutboxEntry implements meta.Reader.
func (s *Store) OutboxEntry(ctx context.Context, id string) (meta.OutboxEntry, error) {
	return s.r().OutboxEntry(ctx, id)
}

// ScanOutbox implements meta.Reader.
func (s *Store) ScanOutbox(ctx context.Context, afterID string, fn func(meta.OutboxEntry) error) error {
	return s.r().ScanOutbox(ctx, afterID, fn)
}

// quietLogger drops Pebble's informational messages and passes errors on.
type quietLogger struct{ l *slog.Logger }

func (q quietLogger) Infof(string, ...any) {}

func (q quietLogger) Errorf(format string, args ...any) {
	q.l.Error("pebble: " + fmt.Sprintf(format, args...))
}

// Fatalf is called by Pebble on an unrecoverable internal error; Pebble
// requires that it does not return.
func (q quietLogger) Fatalf(format string, args ...any) {
	msg := "pebble: " + fmt.Sprintf(format, args...)
	q.l.Error(msg)
	panic(msg)
}
