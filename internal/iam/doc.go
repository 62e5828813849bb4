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
// CEL variables: operation, parameters (bucket, key, prefix, version-id),
// zone, source_ip, api_key, now (a timestamp) and service; the ext strings
// library and Exoscale's source_ip.inIpRange('cidr') are available.
package iam
