package meta

import "errors"

// ErrNotFound is returned by every lookup whose record does not exist.
// Implementations MUST return it (possibly wrapped) and callers match it with
// errors.Is.
var ErrNotFound = errors.New("meta: not found")

// ErrStop may be returned by a scan callback to end the scan early without
// error; the scan then returns nil.
var ErrStop = errors.New("meta: stop scan")
