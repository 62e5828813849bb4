// Package controlapi is the HTTP edge of the control plane: API v2 (the
// Exoscale-compatible JSON API under /v2/, authenticated with
// EXO2-HMAC-SHA256, see docs/api-v2.md) and the internal zone API under
// /internal/v1/ (bearer token per zone, see internal/control's doc), both over
// one *control.Plane. Signatures are verified with internal/auth/exo2, the
// leaf package that clients such as the sos CLI sign with.
//
// Handlers return errors; one function (writeError) maps them to HTTP status
// and a JSON {"message": ...} body.
package controlapi
