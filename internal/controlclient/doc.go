// Package controlclient is what a zone runs to talk to the control plane's
// internal API (/internal/v1/, see internal/controlapi): it long-polls the
// IAM and bucket-registry snapshot and keeps an *iam.Authorizer and a
// bucket → zone map loaded (a change reaches the zone as soon as the control
// plane commits it), registers and releases bucket names, fetches temporary
// role credentials (cached until near expiry) and reports bucket usage.
//
// When the control plane cannot be reached the client logs it, keeps serving
// what it last knew, and says so through Healthy and LastSync.
//
// With Options.CacheFile the client also keeps the last snapshot it applied
// on disk (written to a temporary name, synced, renamed), so that a zone
// restarted while the control plane is down serves with what it knew
// rather than refusing every request: Run applies the cached snapshot when
// the control plane does not answer at start, and the control plane's
// snapshot replaces it as soon as it answers (a lower revision included).
// A corrupt or unreadable cache file is logged and ignored.
//
// The cache file holds every API key's secret, the root key's and the key
// that signs temporary credentials, in clear, as the control plane's own
// database does: it is written with mode 0600, and the zone's data folder
// must be protected like the control plane's.
// It authenticates with the zone's bearer token (see internal/control).
package controlclient
