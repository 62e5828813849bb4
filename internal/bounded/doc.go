// Package bounded decodes request bodies within limits: an XML document of
// at most so many bytes, elements and levels of nesting (DecodeXML), and
// the nesting depth of a JSON document (CheckJSONDepth). It streams: the
// memory a decode takes is linear in what it has read, and a document that
// breaks a limit is refused as soon as the limit is passed, not after the
// whole body arrived.
//
// It is a leaf: the S3 handler, replication configurations and the control
// plane's API all use it, and it imports nothing of the module.
package bounded
