// Package s3client is sos's one way of talking S3 to a zone as a client.
//
// New builds an aws-sdk-go-v2 *s3.Client from explicit settings only (the
// zone's endpoint, the zone name as region, static credentials, path-style
// addressing): no shared config files and no AWS_* environment, so that
// AWS_CA_BUNDLE and friends cannot change what it does. Replication sends
// what the SDK does not model or should not reshape — the replication
// configuration as sos's XML and the sos-replication-* extensions — as raw
// requests signed with sos's own signer (internal/auth/sigv4). ErrorOf turns
// an S3 error answer, from the SDK or from a raw call, into one *Error with
// its code, message, HTTP status and X-Amz-Bucket-Region.
//
// The CLI, the web console and the tests use it; how errors are worded for
// a person stays with each of them.
package s3client
