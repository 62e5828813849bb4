// Package s3err holds the S3 error codes a sos zone answers with: a typed
// Error value (code, HTTP status, message, and the extra elements S3 adds
// such as BucketName, Region or Endpoint) and its <Error> XML document.
// Domain errors never leave a package as S3 errors; the S3 handler maps them
// here in one table.
package s3err
