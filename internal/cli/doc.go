// Package cli is the sos command tree: IAM roles and API keys through API v2
// (JSON, EXO2-HMAC-SHA256), buckets, objects and replication through each
// zone's S3 endpoint. It talks HTTP only and imports no server package except
// the wire helpers of controlapi. cmd/sos calls Run.
package cli
