// Package repldiff compares two buckets version by version over S3, to prove
// (or disprove) that replication made them hold the same versions: same
// version IDs, ETags, sizes and delete markers. It is used by
// `sos storage bucket replication diff` and by the replication tests.
package repldiff
