// Package iam holds sos's identity and access management: Exoscale-style
// policy documents whose rules are CEL expressions (ParsePolicy, Evaluate),
// stateless temporary role credentials (IssueTempCredentials), and the
// in-memory, concurrency-safe Authorizer that every zone keeps: it answers
// "what is the secret of this access key" for SigV4 and "may this principal
// do this S3 operation" for the S3 API, from a Snapshot of roles and API keys
// loaded from the control plane.
package iam
