package object

import (
	"fmt"

	"sos/internal/bytesize"
)

// TooLargeError is a body larger than one PUT of an object, or of a part,
// may carry (MaxPutSize). errors.Is(err, ErrEntityTooLarge) holds.
type TooLargeError struct {
	// Size is the declared size; -1 when no size was declared and reading
	// the body went past the limit.
	Size int64
	Part bool // a part of a multipart upload
}

func (e *TooLargeError) Error() string {
	limit := fmt.Sprintf("%d bytes (%s)", int64(MaxPutSize), bytesize.Human(MaxPutSize))
	switch {
	case e.Size < 0:
		return "your upload exceeds the " + limit + " allowed in one PUT"
	case e.Part:
		return fmt.Sprintf("your proposed part of %d bytes exceeds the %s allowed in one part", e.Size, limit)
	}
	return fmt.Sprintf("your proposed upload of %d bytes exceeds the %s allowed in one PUT: use a multipart upload", e.Size, limit)
}

func (e *TooLargeError) Unwrap() error { return ErrEntityTooLarge }

// checkPutSize is the one check of a declared body size against
// MaxPutSize, for PutObject and UploadPart. They run it before anything
// else, so that a body too large is refused before a byte of it is read
// (ingest stops a body that runs past the limit without a declared size).
func checkPutSize(size int64, part bool) error {
	if size > MaxPutSize {
		return &TooLargeError{Size: size, Part: part}
	}
	return nil
}

// checkCopySourceSize refuses a copy source larger than one PUT may carry,
// for CopyObject and UploadPartCopy. S3 answers InvalidRequest here, not
// EntityTooLarge: the request itself is small.
func checkCopySourceSize(size int64) error {
	if size > MaxPutSize {
		return fmt.Errorf("%w: the copy source is %d bytes, larger than the %d bytes (%s) allowed for a copy source",
			ErrInvalidRequest, size, int64(MaxPutSize), bytesize.Human(MaxPutSize))
	}
	return nil
}
