package control

import (
	"context"
	"fmt"
	"time"

	"sos/internal/iam"
)

// Access is one API v2 or console request to authorize: an operation of
// service "iam" or "sos" and the context its policy sees.
type Access struct {
	Service   string // iam.ServiceIAM or iam.ServiceSOS
	Operation string // e.g. "create-api-key", "list-sos-buckets-usage"
	SourceIP  string // the client's address (iam.SourceIP)
	Now       time.Time
}

// DeniedError is a refused Access. Error() words it for the person who sent
// the request; the console words it from the fields.
type DeniedError struct {
	Key       string // the API key that asked
	Role      string // the name of its role; empty when NoRole
	NoRole    bool   // the key's role is gone
	Operation string
	Reason    string // which part of the policy decided, in words
}

func (e *DeniedError) Error() string {
	if e.NoRole {
		return fmt.Sprintf("API key %s has no role any more", e.Key)
	}
	return fmt.Sprintf("API key %s (role %s) may not %s: %s", e.Key, e.Role, e.Operation, e.Reason)
}

// Authorize is the one authorization decision of API v2 and the web
// console: the root key may do anything; an API key may do a.Operation when
// its role's policy allows it for a.Service. A refusal is *DeniedError.
func (p *Plane) Authorize(ctx context.Context, who Principal, a Access) error {
	if who.Root {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	role, err := p.Role(ctx, who.RoleID)
	if err != nil {
		return &DeniedError{Key: who.Key, NoRole: true, Operation: a.Operation}
	}
	d := role.Policy.Evaluate(a.Service, iam.Request{
		Operation: a.Operation,
		APIKey:    who.Key,
		SourceIP:  a.SourceIP,
		Now:       a.Now,
	})
	if !d.Allowed {
		return &DeniedError{Key: who.Key, Role: role.Name, Operation: a.Operation, Reason: d.Reason}
	}
	return nil
}
