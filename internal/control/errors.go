package control

import (
	"errors"
	"fmt"
)

// Sentinel kinds of control-plane errors; match with errors.Is. The error's
// own message is written for a person and names the thing concerned.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrInvalid     = errors.New("invalid")
	ErrNotEditable = errors.New("not editable")
)

// Error is a control-plane error of one of the sentinel kinds.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// BucketAlreadyExistsError: the bucket name is registered by another zone.
type BucketAlreadyExistsError struct {
	Name string
	Zone string
}

func (e *BucketAlreadyExistsError) Error() string {
	return fmt.Sprintf("bucket %q already exists in zone %s", e.Name, e.Zone)
}

// Unwrap makes errors.Is(err, ErrConflict) hold.
func (e *BucketAlreadyExistsError) Unwrap() error { return ErrConflict }

// BucketAlreadyOwnedByYouError: the bucket name is already registered by the
// same zone.
type BucketAlreadyOwnedByYouError struct {
	Name string
	Zone string
}

func (e *BucketAlreadyOwnedByYouError) Error() string {
	return fmt.Sprintf("bucket %q is already registered in zone %s", e.Name, e.Zone)
}

// Unwrap makes errors.Is(err, ErrConflict) hold.
func (e *BucketAlreadyOwnedByYouError) Unwrap() error { return ErrConflict }
