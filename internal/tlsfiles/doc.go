// Package tlsfiles serves a TLS certificate kept in PEM files and follows
// the files as the operator replaces them: no restart to rotate a
// certificate.
//
// Load reads a certificate chain (the leaf first, then its intermediates)
// and its private key. The *tls.Config of ServerConfig picks the
// certificate through GetCertificate, which checks the files' modification
// times and sizes at most once per check interval (a few seconds) while
// handshakes happen, and reloads them when they changed; Reload re-reads
// them at once (sosd calls it on SIGHUP). A reload that fails (a file
// missing, a half-written pair whose key does not match its certificate,
// bad PEM) keeps the certificate in use, says why in the log and through
// Reload's error, and is tried again at the next check: a rotation that
// writes the two files one after the other never leaves the server without
// a certificate.
package tlsfiles
