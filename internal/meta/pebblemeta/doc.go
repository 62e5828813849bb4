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
// Update commits an indexed batch with pebble.Sync; concurrent Updates share
// WAL fsyncs through Pebble's group commit.
package pebblemeta
