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
// iterates at one sequence number). After a failed WAL write or sync Pebble
// fails every later commit too. Only one Store may have a directory open
// (Pebble locks it), so the Store is the only handle on its data. The
// directory is 0700 and every file Pebble creates in it 0600.
package pebblemeta
