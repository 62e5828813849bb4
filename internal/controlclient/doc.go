// Package controlclient is what a zone runs to talk to the control plane's
// internal API (/internal/v1/, see internal/controlapi): it long-polls the
// IAM and bucket-registry snapshot and keeps an *iam.Authorizer and a
// bucket → zone map loaded (a change reaches the zone as soon as the control
// plane commits it), registers and releases bucket names, fetches temporary
// role credentials (cached until near expiry) and reports bucket usage.
//
// When the control plane cannot be reached the client logs it, keeps serving
// what it last knew, and says so through Healthy and LastSync.
// It authenticates with the zone's bearer token (see internal/control).
package controlclient
