// Package controlapi is the HTTP edge of the control plane: API v2 (the
// Exoscale-compatible JSON API under /v2/, authenticated with
// EXO2-HMAC-SHA256, see docs/api-v2.md) and the internal zone API under
// /internal/v1/ (bearer token per zone, see internal/control's doc), both over
// one *control.Plane. It also holds the EXO2 signing functions: VerifyEXO2 for
// the server and SignEXO2 for clients such as the sos CLI.
//
// Handlers return errors; one function (writeError) maps them to HTTP status
// and a JSON {"message": ...} body.
package controlapi
