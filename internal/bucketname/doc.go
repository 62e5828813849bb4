// Package bucketname holds the one rule for bucket names: S3's rules for
// general purpose buckets, applied by the object service, the S3 handler,
// the control plane's namespace, the console and the CLI alike. Check says
// why a name is refused in words (*Error), and each caller wraps that reason
// into its own kind of error, so a name is refused the same way, for the
// same reason, wherever it is typed.
//
// It is a leaf: it imports nothing of sos.
package bucketname
