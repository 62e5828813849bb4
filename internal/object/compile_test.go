package object_test

import (
	"sos/internal/object"
	"sos/internal/s3api"
)

// The S3 handler's contract.
var _ s3api.Objects = (*object.Service)(nil)
