// Package pebblemeta implements meta.Store on an embedded Pebble database.
//
// Keys are order-preserving encodings of (record kind, bucket, key, ...):
// every variable-length component is escaped (0x00 -> 0x00 0xFF) and
// terminated by 0x00 0x01, so components never collide and byte-wise order
// of the encoded keys equals the order of the components. Versions of an
// object key sort newest first (the stamp is stored inverted), and a
// (bucket, key, versionID) index holds each version's stamp and its inline
// data, so lookups by version ID are direct and listings never read data.
//
// How it meets meta.Store's contract: Update runs fn against an indexed
// batch (reads in fn see the database plus the batch) and commits the batch
// with pebble.Sync, so the write-ahead log is fsync'd before Update returns;
// concurrent Updates share WAL fsyncs through Pebble's group commit. A
// committed batch becomes visible to reads at once (each read or scan
// iterates at one sequence number). Only one Store may have a directory
// open (Pebble locks it), so the Store is the only handle on its data. The
// directory is 0700 and every file Pebble creates in it 0600.
//
// A failed WAL write or fsync (a full disk) is fatal to Pebble: it calls
// Logger.Fatalf or panics during the commit, may have applied the batch to
// its memtable already, and may leave its commit pipeline locked, so that
// every later commit and its Close would wait for ever. The Store therefore
// fails for good at the first such error: the Update gets
// meta.ErrStoreFailed with the cause (its outcome is unknown: whatever the
// WAL holds on disk is what a reopen finds), every later call returns the
// same error at once without touching Pebble, Updates already committing
// give up failGrace after the failure, Failed() is closed for the zone to
// stop, and Close waits at most failGrace for Pebble. Reopening in a new
// process, once the disk has room, replays the WAL: every acknowledged
// Update is there. A fatal error in a Pebble background goroutine ends the
// process like a crash, which loses nothing acknowledged either.
package pebblemeta
