// Package s3client is sos's one way of talking S3 to a zone as a client.
//
// New builds an aws-sdk-go-v2 *s3.Client from explicit settings only (the
// zone's endpoint, the zone name as region, static credentials, path-style
// addressing): no shared config files and no AWS_* environment, so that
// AWS_CA_BUNDLE and friends cannot change what it does. Replicas writes
// replica versions over that client with the X-Sos-Replica-* headers of
// docs/replica-writes.md, once per request and signed per call with a role
// session (the replication workers use it). Raw sends single requests
// signed with sos's own signer (internal/auth/sigv4) over plain net/http:
// for what the SDK does not model or should not reshape (the replication
// configuration as sos's XML and the sos-replication-* extensions, in
// Replication) and where the SDK's work per request would be measured
// instead of the server's (the load generator). ErrorOf turns an S3 error
// answer, from the SDK or from a raw call, into one *Error with its code,
// message, HTTP status, X-Amz-Bucket-Region and the elements of the <Error>
// document beyond code and message (for SDK calls a middleware keeps the
// document, which the SDK otherwise drops): the zone of a taken bucket name
// and what an access decision refused are fields, never parsed from the
// message.
//
// The CLI, the web console, the zones (replication, destination checks),
// sosload and the tests use it; how errors are worded for a person stays
// with each of them, but for Error.Denied, the one wording of a refusal
// that the CLI shows and the replication workers record.
package s3client
