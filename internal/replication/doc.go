// Package replication is a zone's bucket replication engine. Writes that
// match a replication rule are committed by the object service together with
// one meta.OutboxEntry per destination; the Replicator's workers read the
// durable outbox in ID order (in bounded batches, keeping a scan cursor, so
// the outbox may hold any number of entries; entries do not commit in ID
// order, so full passes from the start, at least every RescanInterval, find
// those committed behind the cursor), and copy each version to its
// destination bucket in another zone over S3, signed with temporary
// credentials of the rule's IAM role and marked with the X-Sos-Replica-*
// headers (see docs/replica-writes.md). Large objects stream as multipart uploads.
//
// Outcomes: success marks the version's target COMPLETED and deletes the
// entry; a permanent refusal (AccessDenied, NoSuchBucket, unversioned
// destination, invalid argument) marks it FAILED with a reason and keeps the
// entry as failed until RetryFailed, a config change or a role change; any
// other error (network, timeout, 5xx, SlowDown, expired credentials, a
// destination certificate that does not verify or a plain-HTTP endpoint
// the zone may not send credentials to: reason "tls") is
// retried with capped exponential backoff and jitter, the entry staying
// PENDING for as long as it takes. A destination that answers with network
// errors is paused as a whole, with a growing pause (capped at 30s), so that
// a long outage costs nothing per queued entry: no entry for it starts while
// it is paused; when the pause ends its queued entries start again (up to
// Workers at once), and the first network error pauses it again.
//
// Entries of one key and destination run one at a time, in ID order. An
// entry skipped because an earlier one of its key is in flight is
// remembered by that key (one scan cursor per in-flight key, not the
// entries): when the in-flight one finishes, only that key is scanned
// again, from just before it, so a hot key costs no full outbox passes.
//
// Crash safety: the target is set COMPLETED before the entry is deleted; a
// crash between the two runs the entry again, which is harmless because a
// replica write carries the source's version ID and the destination replaces
// a version with the same ID (replica writes are idempotent).
//
// Status, Resync and RetryFailed back the zone's ?sos-replication-status,
// ?sos-replication-resync and ?sos-replication-retry endpoints; metrics per
// bucket, rule and destination are registered on the given Registerer.
package replication
