package control

import (
	"context"
	"fmt"
	"slices"
	"time"

	"sos/internal/iam"
)

// Access is one API v2 or console request to authorize: an operation of
// service "iam" or "sos", what it acts on (the CEL parameters of an IAM
// operation) and what it would grant, and the context its policy sees.
type Access struct {
	Service   string // iam.ServiceIAM or iam.ServiceSOS
	Operation string // e.g. "create-api-key", "list-sos-buckets-usage"

	// What an IAM operation acts on; Authorize fills role-id and role-name
	// from the plane where they can be known.
	RoleID   string // the role acted on, or the role a new key gets (create-api-key)
	RoleName string // create-iam-role: the new role's name
	Key      string // get-api-key, delete-api-key: the API key acted on
	KeyName  string // create-api-key: the new key's name

	// What the operation writes, which must not exceed the caller's role.
	Policy      *iam.Policy // create-iam-role (nil: deny everything), update-iam-role-policy
	Permissions []string    // create-iam-role, update-iam-role (nil: left as they are)

	SourceIP string // the client's address (iam.SourceIP)
	Now      time.Time
}

// DeniedError is a refused Access. Error() words it for the person who sent
// the request; the console words it from the fields.
type DeniedError struct {
	Key       string // the API key that asked
	Role      string // the name of its role; empty when NoRole
	NoRole    bool   // the key's role is gone
	Operation string
	Reason    string // which part of a policy decided, in words
}

func (e *DeniedError) Error() string {
	if e.NoRole {
		return fmt.Sprintf("API key %s has no role any more", e.Key)
	}
	return fmt.Sprintf("API key %s (role %s) may not %s: %s", e.Key, e.Role, e.Operation, e.Reason)
}

// Authorize is the one authorization decision of API v2 and the web
// console. The root key may do anything. An API key may do a.Operation when
//
//  1. its role's policy allows it for a.Service, with the IAM operation's
//     parameters (role-id, role-name, key, name; see iam.Request), and
//  2. the operation would not hand out more than that role allows: the
//     role a new key gets (create-api-key), the policy of a new role
//     (create-iam-role) or a role's new policy (update-iam-role-policy)
//     must not exceed the caller's role's policy (iam's (*Policy).Exceeds),
//     and the permissions a role gets (create-iam-role, those
//     update-iam-role adds, and those of the role a new key gets) must all
//     be the caller's role's own.
//
// A refusal is *DeniedError.
func (p *Plane) Authorize(ctx context.Context, who Principal, a Access) error {
	if who.Root {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	caller := p.roles[who.RoleID]
	var target *Role
	if a.Key != "" && a.RoleID == "" {
		if k, ok := p.keys[a.Key]; ok {
			a.RoleID = k.RoleID
		}
	}
	if a.RoleID != "" {
		target = p.roles[a.RoleID]
	}
	var c, t Role
	if caller != nil {
		c = caller.clone()
	}
	if target != nil {
		t = target.clone()
		if a.RoleName == "" {
			a.RoleName = t.Name
		}
	}
	p.mu.Unlock()

	if caller == nil {
		return &DeniedError{Key: who.Key, NoRole: true, Operation: a.Operation}
	}
	deny := func(format string, args ...any) error {
		return &DeniedError{Key: who.Key, Role: c.Name, Operation: a.Operation, Reason: fmt.Sprintf(format, args...)}
	}
	d := c.Policy.Evaluate(a.Service, iam.Request{
		Operation: a.Operation,
		Key:       a.Key,
		RoleID:    a.RoleID,
		RoleName:  a.RoleName,
		Name:      a.KeyName,
		APIKey:    who.Key,
		SourceIP:  a.SourceIP,
		Now:       a.Now,
	})
	if !d.Allowed {
		return deny("%s", d.Reason)
	}
	if a.Service != iam.ServiceIAM {
		return nil
	}
	holder := "role " + c.Name + "'s policy"
	switch a.Operation {
	case "create-api-key":
		if target == nil {
			return nil // no such role: CreateAPIKey says so
		}
		if e := t.Policy.Exceeds(c.Policy); e != nil {
			return deny("role %s allows more than role %s: %s", t.Name, c.Name, e.Words(holder))
		}
		if perm, ok := missingPermission(t.Permissions, c.Permissions); ok {
			return deny("role %s has permission %s, which role %s has not", t.Name, perm, c.Name)
		}
	case "create-iam-role":
		if e := a.Policy.Exceeds(c.Policy); e != nil {
			return deny("the policy of the new role %s would allow more than role %s: %s", a.RoleName, c.Name, e.Words(holder))
		}
		if perm, ok := missingPermission(a.Permissions, c.Permissions); ok {
			return deny("the new role %s would have permission %s, which role %s has not", a.RoleName, perm, c.Name)
		}
	case "update-iam-role-policy":
		if a.Policy == nil {
			return nil // no policy: SetRolePolicy refuses it
		}
		if e := a.Policy.Exceeds(c.Policy); e != nil {
			return deny("the new policy of role %s would allow more than role %s: %s", roleWords(a), c.Name, e.Words(holder))
		}
	case "update-iam-role":
		// Only the permissions the update adds: those the role has already
		// are not the caller's doing.
		var added []string
		for _, perm := range a.Permissions {
			if !slices.Contains(t.Permissions, perm) {
				added = append(added, perm)
			}
		}
		if perm, ok := missingPermission(added, c.Permissions); ok {
			return deny("role %s would have permission %s, which role %s has not", roleWords(a), perm, c.Name)
		}
	}
	return nil
}

// roleWords names the role an Access acts on.
func roleWords(a Access) string {
	if a.RoleName != "" {
		return a.RoleName
	}
	return a.RoleID
}

// missingPermission returns the first of perms that have does not hold.
func missingPermission(perms, have []string) (string, bool) {
	for _, perm := range perms {
		if !slices.Contains(have, perm) {
			return perm, true
		}
	}
	return "", false
}
