// Package fsblob is a blob.Store of files in one directory (a local disk or
// a mount that several nodes share): each blob is a file named by a random
// 128-bit hex ID, fanned out into 256 subdirectories. Paths are built from
// IDs only, never from object keys or other user input.
//
// How it meets blob.Store's contract: Put writes to a temporary name in the
// blob's folder, fsyncs the file, renames it to its ID and fsyncs the
// folder before it returns, so a crash leaves a temporary file or a complete
// blob, and a failed Put removes its temporary file. Scan removes every
// temporary file it finds, those of Puts still running included. A Reader
// is an open file, which keeps reading after the blob's file is removed.
package fsblob
