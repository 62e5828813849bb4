package pebblemeta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

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

	// fs, for tests, replaces the operating system's file system (to
	// inject write errors).
	fs vfs.FS
}

// failGrace bounds how long an Update that was already committing when
// the store failed waits for Pebble before it returns ErrStoreFailed
// (Pebble may never finish it: a failed WAL write can leave its commit
// pipeline locked), and how long Close of a failed store waits for
// Pebble's Close.
const failGrace = 2 * time.Second

// Store is a meta.Store on a Pebble database in one directory. It is safe
// for concurrent use.
type Store struct {
	db        *pebble.DB
	log       *slog.Logger
	closeOnce sync.Once
	closeErr  error

	failOnce sync.Once
	failed   chan struct{} // closed when the store fails
	failErr  error         // why; set before failed is closed
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
	s := &Store{log: opts.Logger, failed: make(chan struct{})}
	fs := opts.fs
	if fs == nil {
		fs = vfs.Default
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
		Logger:                      quietLogger{l: opts.Logger, fatal: s.fail},
		FS:                          privateFS{fs},
	}
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	po.EnsureDefaults()
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("pebblemeta: open %s: %w", dir, err)
	}
	s.db = db
	return s, nil
}

// Close releases the database (every Update is already durable when it
// returns). Calling it more than once returns the first result. Closing a
// failed store waits at most failGrace for Pebble, which may be wedged,
// and returns the failure.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.Err() == nil {
			s.closeErr = s.db.Close()
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { _ = recover() }() // a failed Pebble may panic on Close too
			_ = s.db.Close()
		}()
		select {
		case <-done:
		case <-time.After(failGrace):
			s.log.Error("pebblemeta: the failed store did not close; leaving it to the process exit")
		}
		s.closeErr = s.Err()
	})
	return s.closeErr
}

// Failed is closed when the store fails (see meta.ErrStoreFailed); Err
// then says why.
func (s *Store) Failed() <-chan struct{} { return s.failed }

// Err returns nil while the store works, and an error wrapping
// meta.ErrStoreFailed with the cause once it has failed.
func (s *Store) Err() error {
	select {
	case <-s.failed:
		return s.failErr
	default:
		return nil
	}
}

// fail records the first failure and logs it; Updates and reads from then
// on return it.
func (s *Store) fail(cause string) {
	s.failOnce.Do(func() {
		s.failErr = fmt.Errorf("%w: %s; it accepts no more reads or writes until the zone restarts", meta.ErrStoreFailed, cause)
		s.log.Error("pebblemeta: the metadata store failed", "err", cause)
		close(s.failed)
	})
}

// fatalPanic is what quietLogger.Fatalf panics with.
type fatalPanic struct{ msg string }

// Update runs fn against an indexed batch (reads in fn see its writes) and
// commits the batch with fsync. If fn returns an error (or ctx is done
// before commit) nothing is written. Concurrent Updates share WAL syncs.
//
// Pebble treats a failed commit (a WAL write or fsync error) as fatal: it
// calls Logger.Fatalf, or panics, and its commit pipeline may stay locked
// for good. The commit runs in its own goroutine that recovers that panic;
// the store fails (every later call returns meta.ErrStoreFailed at once),
// and an Update whose commit Pebble never finishes returns failGrace after
// the failure rather than hang.
func (s *Store) Update(ctx context.Context, fn func(meta.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.Err(); err != nil {
		return err
	}
	b := s.db.NewIndexedBatch()
	t := &tx{b: b}
	t.reader = reader{r: b, tx: t}
	release := true
	defer func() {
		t.done = true
		if release {
			_ = b.Close() // a batch's Close only returns it to its pool
		}
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
	if err := s.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- s.commit(b) }()
	select {
	case err := <-done:
		return err
	case <-s.failed:
	}
	select {
	case err := <-done:
		return err
	case <-time.After(failGrace):
		release = false // Pebble may still hold it
		return s.Err()
	}
}

// commit commits b, turning Pebble's fatal commit errors into the store's
// failure.
func (s *Store) commit(b *pebble.Batch) (err error) {
	defer func() {
		if v := recover(); v != nil {
			cause := fmt.Sprint(v)
			if f, ok := v.(fatalPanic); ok {
				cause = f.msg
			}
			s.fail(cause)
			err = s.Err()
		}
	}()
	if err := b.Commit(pebble.Sync); err != nil {
		// Not reached in Pebble v2 (a commit error goes to Fatalf), but
		// the outcome of a failed commit is unknown all the same.
		s.fail("commit: " + err.Error())
		return s.Err()
	}
	return nil
}

func (s *Store) r() reader { return reader{r: s.db, failed: s.Err} }

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
// Fatalf fails the store: fatal is Store.fail.
type quietLogger struct {
	l     *slog.Logger
	fatal func(cause string)
}

func (q quietLogger) Infof(string, ...any) {}

func (q quietLogger) Errorf(format string, args ...any) {
	q.l.Error("pebble: " + fmt.Sprintf(format, args...))
}

// Fatalf is called by Pebble on an unrecoverable error; Pebble requires
// that it does not return (a failed commit would otherwise look
// committed). It fails the store and panics: Store.commit recovers the
// panic of a commit; one in a Pebble background goroutine (a MANIFEST
// write on a full disk) ends the process like a crash, after the log line,
// which loses nothing acknowledged (every commit was fsync'd to the WAL).
func (q quietLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	q.fatal(msg)
	panic(fatalPanic{msg: msg})
}
