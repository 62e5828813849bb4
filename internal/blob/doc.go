// Package blob defines where object data larger than the inline limit lives:
// a Store of immutable blobs named by opaque IDs, with the contract its
// users rely on. fsblob implements it with files in a directory (local disk
// or a shared mount); blobtest is the conformance suite every
// implementation must pass, and a fault-injecting Store for other packages'
// tests.
package blob
