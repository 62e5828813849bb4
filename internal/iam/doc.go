// Package iam holds sos's identity and access management: Exoscale-style
// policy documents whose rules are CEL expressions (ParsePolicy, Evaluate),
// stateless temporary role credentials (IssueTempCredentials), and the
// in-memory, concurrency-safe Authorizer that every zone keeps: it answers
// "what is the secret of this access key" for SigV4 and "may this principal
// do this S3 operation" for the S3 API, from a Snapshot of roles and API keys
// loaded from the control plane.
//
// Policies are compiled when they are written, and an invalid expression is
// refused then with its position (Exoscale skips it silently). At request
// time an expression whose evaluation errors, such as `parameters.key` on a
// request without a key, counts as not matching and the next rule is tried.
// CEL variables: operation, parameters, zone, source_ip, api_key, now (a
// timestamp) and service; the ext strings library and Exoscale's
// source_ip.inIpRange('cidr') are available. For service sos, parameters
// are bucket, key, prefix and version-id; for service iam (the control
// plane's IAM operations) role-id and role-name (the role acted on, the
// role a new key gets, or the role of the key acted on; for create-iam-role
// the new role's name), key (the API key acted on) and name (the name of
// the key being created): `parameters['role-name'].startsWith('team-')`.
//
// (*Policy).Exceeds tells whether one policy may allow what another refuses,
// on the services sos enforces (iam and sos). It compares structure, as CEL
// expressions cannot be compared for meaning: a policy is within another
// when, for each of those services, the other allows everything, or it
// denies everything, or each of its allow rules is one of the other's allow
// rules (the same expression, as CEL prints it back) and every deny rule the
// other has before that rule, it has too before its own. That is sound
// (whatever it lets through, the other policy allows for the same request)
// but not complete. A rule that reads api_key never counts as equal, as it
// decides differently for another key. The control plane uses it so that no
// API key can hand out more than its own role allows; a zone uses it
// (through (*Authorizer).PassRole, for service sos) so that no key can name
// as a replication configuration's Role, which the zone's workers act as, a
// role that allows more than its own.
package iam
