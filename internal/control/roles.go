package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"sos/internal/iam"
)

// Role is an IAM role. Policy is compiled; its JSON form is the document.
type Role struct {
	ID          string
	Name        string
	Description string
	Editable    bool
	Labels      map[string]string
	Permissions []string
	Policy      *iam.Policy
	CreatedAt   time.Time
}

// roleRecord is a Role as stored.
type roleRecord struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Editable    bool              `json:"editable"`
	Labels      map[string]string `json:"labels,omitempty"`
	Permissions []string          `json:"permissions,omitempty"`
	Policy      json.RawMessage   `json:"policy"`
	CreatedAt   time.Time         `json:"created-at"`
}

func encodeRole(r *Role) (roleRecord, error) {
	doc, err := json.Marshal(r.Policy)
	if err != nil {
		return roleRecord{}, fmt.Errorf("control: encoding the policy of role %s: %w", r.ID, err)
	}
	return roleRecord{
		ID: r.ID, Name: r.Name, Description: r.Description, Editable: r.Editable,
		Labels: r.Labels, Permissions: r.Permissions, Policy: doc, CreatedAt: r.CreatedAt,
	}, nil
}

func decodeRole(raw []byte) (*Role, error) {
	var rec roleRecord
	if err := decodeJSON(raw, &rec); err != nil {
		return nil, err
	}
	pol, err := iam.ParsePolicy(rec.Policy)
	if err != nil {
		return nil, fmt.Errorf("policy of role %s no longer compiles: %w", rec.ID, err)
	}
	return &Role{
		ID: rec.ID, Name: rec.Name, Description: rec.Description, Editable: rec.Editable,
		Labels: rec.Labels, Permissions: rec.Permissions, Policy: pol, CreatedAt: rec.CreatedAt,
	}, nil
}

func decodeJSON(raw []byte, v any) error {
	return json.Unmarshal(raw, v)
}

func (r *Role) clone() Role {
	c := *r
	c.Labels = cloneMap(r.Labels)
	c.Permissions = slices.Clone(r.Permissions)
	return c
}

// APIKey is an API key bound to one role. Secret is only filled where the
// secret is needed: in CreateAPIKey's answer and in snapshots for zones.
type APIKey struct {
	Key       string    `json:"key"`
	Name      string    `json:"name"`
	Secret    string    `json:"secret,omitempty"`
	RoleID    string    `json:"role-id"`
	CreatedAt time.Time `json:"created-at"`
}

// Operation is the record of a change, as Exoscale's API v2 reports it.
type Operation struct {
	ID        string     `json:"id"`
	State     string     `json:"state"`
	Reference *Reference `json:"reference,omitempty"`
	Message   string     `json:"message,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	CreatedAt time.Time  `json:"created-at"`
}

// Reference points an operation at the resource it changed.
type Reference struct {
	ID      string `json:"id"`
	Link    string `json:"link"`
	Command string `json:"command"`
}

// OperationSuccess is the state of every operation: changes are synchronous.
const OperationSuccess = "success"

func (p *Plane) newOperation(ref Reference) Operation {
	return Operation{ID: uuid.NewString(), State: OperationSuccess, Reference: &ref, CreatedAt: p.now().UTC()}
}

func roleRef(id string) Reference {
	return Reference{ID: id, Link: "/v2/iam-role/" + id, Command: "get-iam-role"}
}

func keyRef(key string) Reference {
	return Reference{ID: key, Link: "/v2/api-key/" + key, Command: "get-api-key"}
}

// Operation returns the operation id.
func (p *Plane) Operation(ctx context.Context, id string) (Operation, error) {
	if err := ctx.Err(); err != nil {
		return Operation{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return Operation{}, errClosed
	}
	var op Operation
	ok, err := p.store.getJSON(prefixOperation+id, &op)
	if err != nil {
		return Operation{}, err
	}
	if !ok {
		return Operation{}, errorf(ErrNotFound, "operation %q not found", id)
	}
	return op, nil
}

// RoleSpec describes a role to create.
type RoleSpec struct {
	Name        string
	Description string
	Editable    bool
	Labels      map[string]string
	Permissions []string
	// Policy is the compiled policy (iam.ParsePolicy); nil means a policy that
	// denies everything.
	Policy *iam.Policy
}

// RoleUpdate changes a role's metadata; nil fields are left alone.
type RoleUpdate struct {
	Description *string
	Labels      *map[string]string
	Permissions *[]string
}

const (
	maxNameLen        = 255
	maxDescriptionLen = 1024
	maxLabels         = 64
	maxPermissions    = 64
)

func validateRoleFields(name, description string, labels map[string]string, permissions []string) error {
	if !utf8.ValidString(name) {
		return fieldErrorf("name", ErrInvalid, "role name must be UTF-8 text")
	}
	if !utf8.ValidString(description) {
		return fieldErrorf("description", ErrInvalid, "description must be UTF-8 text")
	}
	if len(description) > maxDescriptionLen {
		return fieldErrorf("description", ErrInvalid, "description is longer than %d bytes", maxDescriptionLen)
	}
	if len(labels) > maxLabels {
		return fieldErrorf("labels", ErrInvalid, "a role may have at most %d labels", maxLabels)
	}
	for k, v := range labels {
		if strings.TrimSpace(k) == "" || len(k) > maxNameLen || len(v) > maxNameLen {
			return fieldErrorf("labels", ErrInvalid, "label %q: keys must be non-empty and keys and values at most %d bytes", k, maxNameLen)
		}
	}
	if len(permissions) > maxPermissions {
		return fieldErrorf("permissions", ErrInvalid, "a role may have at most %d permissions", maxPermissions)
	}
	for _, perm := range permissions {
		if strings.TrimSpace(perm) == "" || len(perm) > maxNameLen {
			return fieldErrorf("permissions", ErrInvalid, "permission %q is not valid", perm)
		}
	}
	return nil
}

func denyAllPolicy() (*iam.Policy, error) {
	return iam.ParsePolicy([]byte(`{"default-service-strategy":"deny","services":{}}`))
}

// CreateRole creates a role. The name must be unique.
func (p *Plane) CreateRole(ctx context.Context, spec RoleSpec) (Role, Operation, error) {
	if err := ctx.Err(); err != nil {
		return Role{}, Operation{}, err
	}
	name := strings.TrimSpace(spec.Name)
	if name == "" {
		return Role{}, Operation{}, fieldErrorf("name", ErrInvalid, "a role needs a name")
	}
	if len(name) > maxNameLen {
		return Role{}, Operation{}, fieldErrorf("name", ErrInvalid, "role name is longer than %d bytes", maxNameLen)
	}
	if err := validateRoleFields(name, spec.Description, spec.Labels, spec.Permissions); err != nil {
		return Role{}, Operation{}, err
	}
	pol := spec.Policy
	if pol == nil {
		var err error
		if pol, err = denyAllPolicy(); err != nil {
			return Role{}, Operation{}, err
		}
	}
	r := &Role{
		ID: uuid.NewString(), Name: name, Description: spec.Description, Editable: spec.Editable,
		Labels: cloneMap(spec.Labels), Permissions: slices.Clone(spec.Permissions), Policy: pol,
		CreatedAt: p.now().UTC(),
	}
	rec, err := encodeRole(r)
	if err != nil {
		return Role{}, Operation{}, err
	}
	op := p.newOperation(roleRef(r.ID))

	p.mu.Lock()
	defer p.mu.Unlock()
	for _, other := range p.roles {
		if other.Name == name {
			return Role{}, Operation{}, fieldErrorf("name", ErrConflict, "a role named %q already exists (%s)", name, other.ID)
		}
	}
	w := p.store.batch()
	w.putJSON(prefixRole+r.ID, rec)
	w.putJSON(prefixOperation+op.ID, op)
	if err := p.commitLocked(w); err != nil {
		return Role{}, Operation{}, err
	}
	p.roles[r.ID] = r
	p.logger.Info("role created", "role", r.ID, "name", r.Name)
	return r.clone(), op, nil
}

// Roles lists every role, by name.
func (p *Plane) Roles(ctx context.Context) ([]Role, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rolesLocked(), nil
}

func (p *Plane) rolesLocked() []Role {
	out := make([]Role, 0, len(p.roles))
	for _, r := range p.roles {
		out = append(out, r.clone())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Role returns role id.
func (p *Plane) Role(ctx context.Context, id string) (Role, error) {
	if err := ctx.Err(); err != nil {
		return Role{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.roles[id]
	if !ok {
		return Role{}, errorf(ErrNotFound, "role %q not found", id)
	}
	return r.clone(), nil
}

// UpdateRole changes a role's description, labels or permissions. A role
// that is not editable refuses with ErrNotEditable.
func (p *Plane) UpdateRole(ctx context.Context, id string, u RoleUpdate) (Operation, error) {
	if err := ctx.Err(); err != nil {
		return Operation{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, ok := p.roles[id]
	if !ok {
		return Operation{}, errorf(ErrNotFound, "role %q not found", id)
	}
	if !cur.Editable {
		return Operation{}, errorf(ErrNotEditable, "role %s (%s) is not editable", cur.Name, cur.ID)
	}
	next := cur.clone()
	if u.Description != nil {
		next.Description = *u.Description
	}
	if u.Labels != nil {
		next.Labels = cloneMap(*u.Labels)
	}
	if u.Permissions != nil {
		next.Permissions = slices.Clone(*u.Permissions)
	}
	if err := validateRoleFields(next.Name, next.Description, next.Labels, next.Permissions); err != nil {
		return Operation{}, err
	}
	return p.saveRoleLocked(&next)
}

// SetRolePolicy replaces a role's policy. A role that is not editable refuses
// with ErrNotEditable.
func (p *Plane) SetRolePolicy(ctx context.Context, id string, pol *iam.Policy) (Operation, error) {
	if err := ctx.Err(); err != nil {
		return Operation{}, err
	}
	if pol == nil {
		return Operation{}, fieldErrorf("policy", ErrInvalid, "a policy document is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, ok := p.roles[id]
	if !ok {
		return Operation{}, errorf(ErrNotFound, "role %q not found", id)
	}
	if !cur.Editable {
		return Operation{}, errorf(ErrNotEditable, "role %s (%s) is not editable", cur.Name, cur.ID)
	}
	next := cur.clone()
	next.Policy = pol
	return p.saveRoleLocked(&next)
}

func (p *Plane) saveRoleLocked(r *Role) (Operation, error) {
	rec, err := encodeRole(r)
	if err != nil {
		return Operation{}, err
	}
	op := p.newOperation(roleRef(r.ID))
	w := p.store.batch()
	w.putJSON(prefixRole+r.ID, rec)
	w.putJSON(prefixOperation+op.ID, op)
	if err := p.commitLocked(w); err != nil {
		return Operation{}, err
	}
	p.roles[r.ID] = r
	p.logger.Info("role updated", "role", r.ID, "name", r.Name)
	return op, nil
}

// DeleteRole deletes a role; it refuses with ErrConflict while API keys use it.
func (p *Plane) DeleteRole(ctx context.Context, id string) (Operation, error) {
	if err := ctx.Err(); err != nil {
		return Operation{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, ok := p.roles[id]
	if !ok {
		return Operation{}, errorf(ErrNotFound, "role %q not found", id)
	}
	var users []string
	for _, k := range p.keys {
		if k.RoleID == id {
			users = append(users, k.Key)
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		return Operation{}, errorf(ErrConflict, "role %s is still used by API key(s) %s: delete them first", cur.Name, strings.Join(users, ", "))
	}
	op := p.newOperation(roleRef(id))
	w := p.store.batch()
	w.delete(prefixRole + id)
	w.putJSON(prefixOperation+op.ID, op)
	if err := p.commitLocked(w); err != nil {
		return Operation{}, err
	}
	delete(p.roles, id)
	p.logger.Info("role deleted", "role", id, "name", cur.Name)
	return op, nil
}

// CreateAPIKey creates an API key for role roleID. The answer is the only
// place its secret is ever returned.
func (p *Plane) CreateAPIKey(ctx context.Context, name, roleID string) (APIKey, error) {
	if err := ctx.Err(); err != nil {
		return APIKey{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return APIKey{}, fieldErrorf("name", ErrInvalid, "an API key needs a name")
	}
	if len(name) > maxNameLen || !utf8.ValidString(name) {
		return APIKey{}, fieldErrorf("name", ErrInvalid, "API key name must be UTF-8 text of at most %d bytes", maxNameLen)
	}
	if roleID == "" {
		return APIKey{}, fieldErrorf("role-id", ErrInvalid, "an API key needs a role-id")
	}
	k := &APIKey{Key: newAPIKeyID(), Name: name, Secret: newSecret(), RoleID: roleID, CreatedAt: p.now().UTC()}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.roles[roleID]; !ok {
		return APIKey{}, fieldErrorf("role-id", ErrNotFound, "role %q not found", roleID)
	}
	if _, clash := p.keys[k.Key]; clash || k.Key == p.rootKey {
		return APIKey{}, errors.New("control: generated API key collides with an existing one; retry")
	}
	w := p.store.batch()
	w.putJSON(prefixKey+k.Key, k)
	if err := p.commitLocked(w); err != nil {
		return APIKey{}, err
	}
	p.keys[k.Key] = k
	p.logger.Info("API key created", "key", k.Key, "name", k.Name, "role", roleID)
	return *k, nil
}

// APIKeys lists the API keys, without secrets, by name.
func (p *Plane) APIKeys(ctx context.Context) ([]APIKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]APIKey, 0, len(p.keys))
	for _, k := range p.keys {
		c := *k
		c.Secret = ""
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// APIKey returns one API key, without its secret.
func (p *Plane) APIKey(ctx context.Context, key string) (APIKey, error) {
	if err := ctx.Err(); err != nil {
		return APIKey{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.keys[key]
	if !ok {
		return APIKey{}, errorf(ErrNotFound, "API key %q not found", key)
	}
	c := *k
	c.Secret = ""
	return c, nil
}

// DeleteAPIKey revokes an API key.
func (p *Plane) DeleteAPIKey(ctx context.Context, key string) (Operation, error) {
	if err := ctx.Err(); err != nil {
		return Operation{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.keys[key]; !ok {
		return Operation{}, errorf(ErrNotFound, "API key %q not found", key)
	}
	op := p.newOperation(keyRef(key))
	w := p.store.batch()
	w.delete(prefixKey + key)
	w.putJSON(prefixOperation+op.ID, op)
	if err := p.commitLocked(w); err != nil {
		return Operation{}, err
	}
	delete(p.keys, key)
	p.logger.Info("API key revoked", "key", key)
	return op, nil
}

// Principal is who signed an API v2 request.
type Principal struct {
	Key    string
	Root   bool
	RoleID string // empty for the root key
}

// LookupKey returns the secret of key (the root key or an API key) and who it
// is, for request verification. ok=false when the key is unknown.
func (p *Plane) LookupKey(key string) (secret string, who Principal, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if key != "" && key == p.rootKey {
		return p.rootSecret, Principal{Key: key, Root: true}, true
	}
	k, found := p.keys[key]
	if !found {
		return "", Principal{}, false
	}
	return k.Secret, Principal{Key: key, RoleID: k.RoleID}, true
}
