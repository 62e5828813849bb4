// Package transport is the HTTP transport of every client side of sos: a
// zone calling the control plane (controlclient) and other zones
// (replication, destination checks, through s3client), the console calling
// zones, and the sos CLI. It holds the two rules they share, in one place:
//
//   - TLS peers are verified against the system roots, or against the CAs
//     of one PEM bundle when the operator gives one (--ca); a certificate
//     that does not verify is refused with an error that says how to trust
//     its CA.
//   - Every request these clients send carries a credential (a zone's
//     bearer token, a signature of an API key, a temporary role
//     credential) or fetches secrets (API v2, the control plane's snapshot).
//     None is sent over plain HTTP to an address other than loopback
//     (127.0.0.0/8, ::1, localhost) unless the operator allows it
//     (InsecureHTTP, the --insecure-http flag); the refusal names the
//     address and the flag. Redirects are checked too.
//
// Load reads the CA bundle once; each consumer then takes its own
// connection pool (Client or RoundTripper, tuned with Tuning) from the same
// Trust. Cleartext is the decision on its own, for checks at start-up.
package transport
