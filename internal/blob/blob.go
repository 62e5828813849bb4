package blob

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound is returned when a blob does not exist. Implementations MUST
// return it (possibly wrapped).
var ErrNotFound = errors.New("blob: not found")

// Reader reads one blob.
type Reader interface {
	io.ReaderAt
	io.ReadSeekCloser
	Size() int64
}

// Store holds immutable blobs.
type Store interface {
	// Put writes all of r to a new blob and returns its ID and size once the
	// data is durable (written to a temporary name, fsync'd, renamed, and the
	// directory fsync'd). On error nothing is left behind.
	Put(ctx context.Context, r io.Reader) (id string, size int64, err error)
	// Open MUST return ErrNotFound for an unknown ID.
	Open(ctx context.Context, id string) (Reader, error)
	// Delete removes a blob; deleting an unknown ID is not an error.
	Delete(ctx context.Context, id string) error
	// Scan calls fn with the ID of every blob, and removes temporary files
	// left by a crash. Used at start-up to collect orphans.
	Scan(ctx context.Context, fn func(id string) error) error
}
