// Package localca is a small certificate authority kept in PEM files, for
// `sosd dev --tls` and for tests: New makes a CA (ECDSA P-256), Issue signs
// server certificates for host names and IP addresses with it, and Ensure
// keeps a CA and one server certificate in a folder, reusing them on the
// next start while they are valid and name the hosts asked for (the
// server certificate is issued again from the same CA otherwise, so that
// clients keep trusting the same CA file).
//
// It is not for production: a real deployment's certificates come from the
// operator's own CA or a public one.
package localca
