package blob

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound is returned when a blob does not exist. Implementations MUST
// return it (possibly wrapped).
var ErrNotFound = errors.New("blob: not found")

// ErrNoSpace is returned (wrapped, with the cause in words) by a Put that
// failed because the storage under the Store is full or over its quota.
// Implementations MUST return it in that case (and only then), so that
// callers can tell a full disk, which passes, from a broken one.
var ErrNoSpace = errors.New("no space left to store object data")

// Reader reads one blob. Size is the blob's size in bytes.
type Reader interface {
	io.ReaderAt
	io.ReadSeekCloser
	Size() int64
}

// Store holds immutable blobs named by opaque IDs that it makes. It is safe
// for concurrent use. What callers rely on, and so what every implementation
// MUST give (blobtest checks it):
//
//   - Put reads r to its end and stores what it read as a new blob. Once Put
//     returns the ID, the blob is durable (it survives a crash of the process
//     or of the machine) and every handle on the same storage (this Store,
//     a reopened one, another process or node sharing it) can Open it. IDs
//     are never handed out twice, and their bytes never change.
//   - A Put that fails leaves nothing behind: Open and Scan never see a blob
//     for it. An error from r, or ctx's error when ctx is done first, is
//     returned so that errors.Is finds it. A crash during Put leaves nothing
//     or a complete blob (which Scan lists: an orphan for the caller to
//     collect), never a partial one.
//   - A Put that fails for lack of space returns ErrNoSpace, and the Store
//     keeps working: Puts succeed again once space is freed.
//   - Open MUST return ErrNotFound for an ID that Put did not return or that
//     was deleted; any string is a valid argument.
//   - Delete removes a blob; deleting an unknown ID is not an error. A
//     Reader opened before the Delete still reads the whole blob until it is
//     closed (a GET that began before an overwrite finishes).
//   - Scan calls fn with the ID of every blob, in no given order, and may
//     clear what Puts that never returned left behind. It is meant for
//     start-up: a blob whose Put is still running, through any handle, may
//     be listed or its Put disturbed. The first error of fn ends the scan
//     and is returned.
type Store interface {
	Put(ctx context.Context, r io.Reader) (id string, size int64, err error)
	Open(ctx context.Context, id string) (Reader, error)
	Delete(ctx context.Context, id string) error
	Scan(ctx context.Context, fn func(id string) error) error
}
