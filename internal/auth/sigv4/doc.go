// Package sigv4 verifies and creates AWS Signature Version 4 signatures for
// the S3 endpoints of a sos zone.
//
// Verify authenticates an incoming request (Authorization header, presigned
// URL, or none at all) and returns a Result whose Body yields the decoded
// payload: it checks x-amz-content-sha256, decodes aws-chunked bodies,
// verifies every chunk signature and the signed trailer, and fails the final
// Read when anything does not match. Callers read the body to EOF before they
// commit anything.
//
// Sign and Presign are the client side, for sos's own S3 clients.
//
// Everything here is a pure function of the request, the options and the
// secret returned by the caller's Secrets; the clock is injected. Errors wrap
// the sentinel errors of errors.go, named after the S3 error codes the S3 layer
// maps them to.
package sigv4
