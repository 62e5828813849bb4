// Package cli is the sos command tree: IAM roles and API keys through API v2
// (JSON, EXO2-HMAC-SHA256), buckets, objects and replication through each
// zone's S3 endpoint. It talks HTTP only and imports no server package: it
// signs with internal/auth/exo2 and reaches zones through internal/s3client.
// cmd/sos calls Run.
package cli
