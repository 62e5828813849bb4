package meta

import "errors"

// ErrNotFound is returned by every lookup whose record does not exist.
// Implementations MUST return it (possibly wrapped) and callers match it with
// errors.Is.
var ErrNotFound = errors.New("meta: not found")

// ErrStop may be returned by a scan callback to end the scan early without
// error; the scan then returns nil.
var ErrStop = errors.New("meta: stop scan")

// ErrStoreFailed is returned (wrapped, with the cause in words) by a Store
// that can no longer commit: a write-ahead log write or fsync failed (a
// full disk, a failing device), a connection was lost during a commit.
// The Update that met the failure may or may not have taken effect, so a
// caller MUST NOT undo what its writes refer to (it keeps the blobs: the
// orphan collection at the next start-up removes those that nothing
// refers to). Every later call then returns ErrStoreFailed too, quickly
// and without waiting on the failed engine; the process is expected to
// stop and reopen the store. Implementations MUST return it in that case
// and only then.
var ErrStoreFailed = errors.New("meta: store failed")
