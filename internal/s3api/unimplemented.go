package s3api

import (
	"net/http"
	"strings"

	"sos/internal/s3err"
)

// unimplementedHeader is a request header that, on S3, changes what is
// stored or who may read it, and that sos does not implement yet. Accepting
// it and storing the object as if it had not been sent would be a silent
// lie (an object the client asked to have encrypted stored in plaintext, a
// "locked" version that can be deleted), so the request is refused instead.
type unimplementedHeader struct {
	name string
	// allowed reports whether a value is what sos does anyway (nil: any
	// value is refused).
	allowed func(v string) bool
	// feature names what the header asks for, in words.
	feature string
}

var unimplementedHeaders = []unimplementedHeader{
	{"X-Amz-Server-Side-Encryption", nil, "server-side encryption"},
	{"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", nil, "server-side encryption with KMS keys"},
	{"X-Amz-Server-Side-Encryption-Context", nil, "server-side encryption with KMS keys"},
	{"X-Amz-Server-Side-Encryption-Bucket-Key-Enabled", nil, "server-side encryption with bucket keys"},
	{"X-Amz-Server-Side-Encryption-Customer-Algorithm", nil, "server-side encryption with customer keys (SSE-C)"},
	{"X-Amz-Server-Side-Encryption-Customer-Key", nil, "server-side encryption with customer keys (SSE-C)"},
	{"X-Amz-Server-Side-Encryption-Customer-Key-Md5", nil, "server-side encryption with customer keys (SSE-C)"},
	{"X-Amz-Copy-Source-Server-Side-Encryption-Customer-Algorithm", nil, "copying from an SSE-C object"},
	{"X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key", nil, "copying from an SSE-C object"},
	{"X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key-Md5", nil, "copying from an SSE-C object"},
	{"X-Amz-Object-Lock-Mode", nil, "Object Lock retention"},
	{"X-Amz-Object-Lock-Retain-Until-Date", nil, "Object Lock retention"},
	{"X-Amz-Object-Lock-Legal-Hold", nil, "Object Lock legal hold"},
	{"X-Amz-Bucket-Object-Lock-Enabled", isFalse, "Object Lock on the bucket"},
	{"X-Amz-Storage-Class", isStandard, "a storage class other than STANDARD"},
	{"X-Amz-Website-Redirect-Location", nil, "website redirects"},
	{"X-Amz-Acl", isOwnerOnly, "a canned ACL that grants access to others"},
	{"X-Amz-Grant-Full-Control", nil, "ACL grants"},
	{"X-Amz-Grant-Read", nil, "ACL grants"},
	{"X-Amz-Grant-Read-Acp", nil, "ACL grants"},
	{"X-Amz-Grant-Write", nil, "ACL grants"},
	{"X-Amz-Grant-Write-Acp", nil, "ACL grants"},
}

func isFalse(v string) bool    { return strings.EqualFold(strings.TrimSpace(v), "false") }
func isStandard(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "STANDARD") }

// isOwnerOnly accepts the canned ACLs that grant nothing beyond what the
// bucket's owner has anyway, which is what sos does without ACLs.
func isOwnerOnly(v string) bool {
	switch strings.TrimSpace(v) {
	case "private", "bucket-owner-full-control":
		return true
	}
	return false
}

// refuseUnimplementedHeaders answers NotImplemented, naming the header and
// the feature, for the first header of unimplementedHeaders a request
// carries with a value sos cannot honour.
func refuseUnimplementedHeaders(h http.Header) error {
	for _, u := range unimplementedHeaders {
		for _, v := range h.Values(u.name) {
			if u.allowed != nil && u.allowed(v) {
				continue
			}
			return s3err.New(s3err.NotImplemented, "sos does not implement "+u.feature+
				" yet: the request carries "+strings.ToLower(u.name)+", and sos refuses it rather than store the object without it.")
		}
	}
	return nil
}
