// Package object is a zone's bucket and object service: buckets, versioning
// (Enabled/Suspended, null versions, delete markers), object data inline in
// metadata or in blobs, conditional and ranged reads, copies, tagging,
// multipart uploads, listings, and the replication outbox entries that a
// write commits together with its version.
package object
