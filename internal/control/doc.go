// Package control is the sos control plane service: the one global place for
// IAM (roles with their compiled policies, API keys, the root key), the zones
// and their S3 endpoints, the global bucket namespace (bucket name → zone),
// Exoscale-style operations, bucket usage reported by the zones, and the key
// that signs short-lived role credentials.
//
// State lives in a small Pebble database under Options.DataDir (JSON values,
// every write synced) and is mirrored in memory. Every IAM or bucket-registry
// change bumps a revision counter; (*Plane).WaitSnapshot blocks until the
// revision moves past the one a zone already has, which is how zones learn a
// change well under a second after it is committed.
//
// This package has no HTTP: internal/controlapi serves API v2 and the internal
// zone API (/internal/v1/) over a *Plane, and internal/controlclient is what a
// zone runs to talk to it.
//
// (*Plane).Authorize is the one authorization decision of API v2 and the web
// console (both call it; neither evaluates a policy itself): the root key may
// do anything, an API key what its role's policy allows, given the IAM
// operation's CEL parameters (role-id, role-name, key, name).
//
// # No escalation
//
// An API key may not hand out more than its own role allows, whatever its
// policy says: Authorize refuses with a *DeniedError (403 in API v2 and the
// console) that names the operation and both roles:
//   - create-api-key when the role the key would get exceeds the caller's,
//   - create-iam-role when the new role's policy exceeds the caller's
//     (a role can be given to keys later, by someone else),
//   - update-iam-role-policy when the new policy exceeds the caller's,
//   - a role permission (create-iam-role, update-iam-role adding one, the
//     role of a new key) that the caller's role does not have.
//
// "Exceeds" is iam's (*Policy).Exceeds on services iam and sos: sound, so a
// refusal may be cautious (an equivalent policy written differently), and a
// caller whose role allows a whole service may grant anything for it. What a
// role may do to roles and keys it does not grant (get, delete, revoke) is
// left to its policy, through the parameters.
//
// # Zone credentials
//
// A zone authenticates to the control plane's internal API with a bearer
// token, "Authorization: Bearer <token>". The control plane generates one
// random token per configured zone (32 random bytes, base64url) the first time
// it opens its data folder, stores it, and keeps it across restarts.
// In-process (sosd dev) the token is read with (*Plane).ZoneToken(name);
// `sosd control` prints each zone's token so that an operator passes it to
// `sosd zone --token`. Tokens are compared in constant time
// ((*Plane).ZoneForToken). A token identifies exactly one zone: a zone can
// only register, release and report usage for buckets in its own name.
// To rotate a token, call (*Plane).RotateZoneToken and restart that zone with
// the new one.
//
// # What a zone's token gets (trust model)
//
// A zone's token fetches the snapshot (GET /internal/v1/snapshot; the zone
// also caches it on its disk) and asks for role credentials (POST
// /internal/v1/role-credentials). What it gets is scoped to that zone where
// this is done today:
//   - Temporary credentials: the control plane keeps the master key that
//     signs session tokens (TempKey). A zone's snapshot (Snapshot.ForZone)
//     carries only iam.ZoneTempKey(TempKey, zone) =
//     HMAC-SHA256(TempKey, "sos-temp-credentials/" + zone), with TempZone
//     naming the zone. Role credentials are minted for an audience zone
//     (the destination whose S3 endpoint they are presented to; the request
//     names it, it must be a configured zone, and the session token carries
//     it) with that zone's derived key, so only the audience zone accepts
//     them; any other zone refuses them, saying for which zone they were
//     issued.
//   - Still in clear in every zone's snapshot: every API key's secret and
//     the root key's secret (SigV4 verification needs them), and role
//     credentials of any existing role may be asked for (audience: any
//     configured zone).
//
// So a compromised zone (its token, its process or its disk) cannot mint
// temporary credentials that another zone accepts, nor learn the master
// key. It can still sign requests as any API key or as root towards any zone
// and the control plane, and obtain credentials of any role valid in any
// zone through the role-credentials endpoint.
package control
