// Package meta defines the metadata records of a zone (buckets, object
// versions, multipart uploads and parts, replication outbox entries) and the
// Store/Tx interfaces that persist them. It holds no storage engine types:
// pebblemeta implements it on Pebble, and a PostgreSQL implementation can
// follow. metatest is the conformance suite every implementation must pass.
package meta
