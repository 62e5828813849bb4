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

// Error is a control-plane error of one of the sentinel kinds. Field, when
// set, names the request field at fault as API v2 spells it ("name",
// "description", "labels", "permissions", "policy", "role-id", "zone"), so
// that a form can show the message beside that field.
type Error struct {
	Kind    error
	Message string
	Field   string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// fieldErrorf is errorf for an error about one request field.
func fieldErrorf(field string, kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Field: field}
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
