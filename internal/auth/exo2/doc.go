// Package exo2 signs and verifies EXO2-HMAC-SHA256, the request signature of
// API v2 (Exoscale's scheme, see docs/api-v2.md): Sign for clients such as the
// sos CLI, Verify for the control plane. Both are pure functions of the
// request, the body, the secret and an injected clock; the signature is
// compared in constant time.
//
// It is a leaf: it imports only the standard library, so a client that signs
// links nothing of the server.
package exo2
