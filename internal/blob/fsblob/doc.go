// Package fsblob is a blob.Store of files in one directory: each blob is a
// file named by a random 128-bit hex ID, fanned out into 256
// subdirectories, written to a temporary name in its folder, fsync'd,
// renamed and the folder fsync'd. Paths are built from IDs only, never from
// object keys or other user input.
package fsblob
