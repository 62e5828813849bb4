package replication

import (
	"sync"

	"sos/internal/iam"
)

// roleChanges notices the roles whose policy changed from one snapshot of
// the roles to the next.
type roleChanges struct {
	mu   sync.Mutex
	last map[string]string // role ID -> policy JSON
}

// changed returns the IDs of the roles whose policy differs from the last
// snapshot (a role seen for the first time has not changed), and
// remembers the new policies.
func (c *roleChanges) changed(roles []iam.Role) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]string{}
	}
	var out []string
	for _, r := range roles {
		var doc []byte // a role without a policy denies everything
		if r.Policy != nil {
			doc, _ = r.Policy.MarshalJSON()
		}
		prev, ok := c.last[r.ID]
		c.last[r.ID] = string(doc)
		if ok && prev != string(doc) {
			out = append(out, r.ID)
		}
	}
	return out
}

// ChangedRoles is told each new snapshot of the IAM roles (as the zone
// learns them from the control plane) and returns the IDs of the roles
// whose policy differs from the snapshot before; a role seen for the first
// time has not changed. The caller runs OnRoleChange for each, off its own
// goroutine: it scans the outbox.
func (r *Replicator) ChangedRoles(roles []iam.Role) []string {
	return r.roles.changed(roles)
}
