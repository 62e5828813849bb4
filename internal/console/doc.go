// Package console is sos's web console, served by the control plane at "/"
// next to API v2: sign-in with an API key and its secret, IAM (roles with
// their CEL policies, API keys), and Storage (the buckets of every zone,
// versioning, the replication configuration and its status, and an object
// browser with upload, download, delete and versions).
//
// IAM goes through the control plane in-process (the Plane interface),
// authorized by the plane's Authorize, the same decision API v2 makes. Every bucket and
// object operation goes to the bucket's zone over S3, signed with the
// signed-in key, so that IAM policies apply to console users exactly as to
// any other client.
//
// Pages are html/template with embedded CSS and a little JavaScript (copy
// buttons, upload progress, confirmations); everything works without it.
// Sessions live in memory: a random 256-bit ID in an HttpOnly, SameSite=Strict
// cookie, and a CSRF token per session checked on every POST.
package console
