// Package server is the composition root of sosd: it builds the stores,
// services, listeners and workers of the control plane and of zones, wires
// them together, and shuts them down. `sosd dev` runs the control plane and
// two zones in one process (StartDev); `sosd control` and `sosd zone` run
// them apart, the zones talking to the control plane over HTTP with their
// bearer token in every case.
//
// # When storage fails
//
// A zone on a full disk never hangs a request. A blob write that finds no
// space (blob.ErrNoSpace) fails its request with 503 ServiceUnavailable
// in words; the zone keeps serving, reads as before and each write trying
// the disk again, so writes resume by themselves once space is freed. A
// failed write-ahead log write or fsync fails the metadata store for good
// (meta.ErrStoreFailed: Pebble cannot recover in the process); every
// request then answers 503, and the zone stops cleanly at once: `sosd
// zone` (and `sosd dev`) logs why and exits non-zero, for its supervisor
// to start it again once the disk has room. Nothing acknowledged is lost
// either way: an acknowledged write's blob and WAL record were fsync'd
// before the answer. Both states show in the log, on /metrics
// (sos_store_failed, sos_disk_full, sos_writes_refused_total by reason)
// and on GET /health (200 "ok", or 503 with the reason in words), which
// the zone serves unauthenticated on its S3 listener. SIGTERM stops a zone
// within the 5 s drain of its requests plus the bounded close of a failed
// store (pebblemeta's grace).
package server
