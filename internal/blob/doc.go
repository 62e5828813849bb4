// Package blob defines where object data larger than the inline limit lives:
// a Store of immutable blobs named by opaque IDs. fsblob implements it with
// fsync'd files.
package blob
