package iam

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Role is an IAM role: a name and one policy, that API keys and temporary
// credentials act as.
type Role struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Editable    bool              `json:"editable"`
	Labels      map[string]string `json:"labels,omitempty"`
	Policy      *Policy           `json:"policy"`
}

// APIKey is a long-term credential that belongs to exactly one role.
type APIKey struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	Secret string `json:"secret"`
	RoleID string `json:"role-id"`
}

// Snapshot is everything a zone needs to authenticate and authorize
// requests, as the control plane hands it out. Revision grows with every
// change.
type Snapshot struct {
	Revision   uint64   `json:"revision"`
	Roles      []Role   `json:"roles"`
	Keys       []APIKey `json:"keys"`
	RootKey    string   `json:"root-key"`
	RootSecret string   `json:"root-secret"`
	// TempKey verifies temporary credentials: for a zone, the key derived
	// for that zone alone (ZoneTempKey), named by TempZone, so credentials
	// minted for another zone are refused here and this zone cannot mint
	// credentials another zone accepts.
	TempKey  []byte `json:"temp-key"`
	TempZone string `json:"temp-zone,omitempty"`
}

// PrincipalKind says what kind of credential signed a request.
type PrincipalKind string

const (
	PrincipalRoot        PrincipalKind = "root"
	PrincipalKey         PrincipalKind = "key"
	PrincipalRoleSession PrincipalKind = "role-session"
)

// Principal is who a credential stands for.
type Principal struct {
	Kind     PrincipalKind
	RoleID   string // empty for root
	RoleName string // empty for root, and when the role no longer exists
	KeyName  string // the API key's name, for PrincipalKey
}

// AuthorizerOptions configure an Authorizer.
type AuthorizerOptions struct {
	// Now is the clock used for the expiry of temporary credentials;
	// time.Now when nil.
	Now func() time.Time
}

// Authorizer is the in-memory view of IAM that a zone keeps. Load swaps in a
// new Snapshot atomically; every other method reads the current one without
// locking, and all are safe for concurrent use.
type Authorizer struct {
	now   func() time.Time
	state atomic.Pointer[authState]
}

type authState struct {
	revision   uint64
	roles      map[string]*Role
	keys       map[string]*APIKey
	rootKey    string
	rootSecret string
	tempKey    []byte
	tempZone   string
	policies   map[string]*Policy // canonical document -> compiled policy, for reuse
}

// NewAuthorizer returns an Authorizer with an empty snapshot: every key is
// unknown until the first Load.
func NewAuthorizer(opts AuthorizerOptions) *Authorizer {
	a := &Authorizer{now: opts.Now}
	if a.now == nil {
		a.now = time.Now
	}
	a.state.Store(&authState{roles: map[string]*Role{}, keys: map[string]*APIKey{}, policies: map[string]*Policy{}})
	return a
}

// Load makes s the current snapshot, atomically: a concurrent Authorize sees
// either the old snapshot or the new one, never a mix. A snapshot older than
// the loaded one (lower Revision) is ignored, and Load returns false.
// Compiled policies whose document did not change are reused from the
// previous snapshot. Load copies what it keeps; s may be reused afterwards
// (Labels maps and Policies are shared, and must not be changed).
func (a *Authorizer) Load(s Snapshot) bool { return a.load(s, false) }

// Replace makes s the current snapshot as Load does, whatever its revision:
// for a control plane whose revision went backwards (restored from a
// backup), whose state is then the truth.
func (a *Authorizer) Replace(s Snapshot) { a.load(s, true) }

func (a *Authorizer) load(s Snapshot, force bool) bool {
	for {
		old := a.state.Load()
		if s.Revision < old.revision && !force {
			return false
		}
		next := &authState{
			revision:   s.Revision,
			roles:      make(map[string]*Role, len(s.Roles)),
			keys:       make(map[string]*APIKey, len(s.Keys)),
			rootKey:    s.RootKey,
			rootSecret: s.RootSecret,
			tempKey:    append([]byte(nil), s.TempKey...),
			tempZone:   s.TempZone,
			policies:   make(map[string]*Policy, len(s.Roles)),
		}
		for i := range s.Roles {
			r := s.Roles[i]
			if r.Policy != nil {
				canon := string(r.Policy.canonical)
				if prev, ok := next.policies[canon]; ok {
					r.Policy = prev
				} else if prev, ok := old.policies[canon]; ok {
					r.Policy = prev
				}
				next.policies[canon] = r.Policy
			}
			next.roles[r.ID] = &r
		}
		for i := range s.Keys {
			k := s.Keys[i]
			next.keys[k.Key] = &k
		}
		if a.state.CompareAndSwap(old, next) {
			return true
		}
	}
}

// Revision is the revision of the loaded snapshot.
func (a *Authorizer) Revision() uint64 { return a.state.Load().revision }

// CompilePolicy parses a policy document like ParsePolicy, but returns the
// already compiled policy of the loaded snapshot when the document is the
// same, so that a zone decoding a new snapshot only compiles what changed.
func (a *Authorizer) CompilePolicy(data []byte) (*Policy, error) {
	if len(data) <= MaxPolicySize && checkJSON(data) == nil {
		if doc, err := decodeDocument(data); err == nil {
			if canon, err := canonicalJSON(doc); err == nil {
				if p, ok := a.state.Load().policies[canon]; ok {
					return p, nil
				}
			}
		}
	}
	return ParsePolicy(data)
}

// canonicalJSON encodes doc as MarshalJSON of its Policy would.
func canonicalJSON(doc Document) (string, error) {
	if doc.Services == nil {
		doc.Services = map[string]ServiceDocument{}
	}
	b, err := json.Marshal(doc)
	return string(b), err
}

// Role returns the role with that ID in the loaded snapshot.
func (a *Authorizer) Role(id string) (Role, bool) {
	r, ok := a.state.Load().roles[id]
	if !ok {
		return Role{}, false
	}
	return *r, true
}

// PassRole decides whether who may have the zone act as role roleID, as
// the Role of a replication configuration does: the zone's workers then
// read and write with that role's policy. The root key may name any role;
// an API key or a role session only a role whose policy allows nothing for
// service sos that its own role's policy does not ((*Policy).Exceeds), so
// that put-bucket-replication cannot lend a key the rights of a stronger
// role. exists is false when there is no such role; refusal, when not
// empty, says in words why who may not name it.
func (a *Authorizer) PassRole(who Principal, roleID string) (exists bool, refusal string) {
	st := a.state.Load()
	target, ok := st.roles[roleID]
	if !ok {
		return false, ""
	}
	if who.Kind == PrincipalRoot {
		return true, ""
	}
	own, ok := st.roles[who.RoleID]
	if !ok {
		return true, fmt.Sprintf("your role %s no longer exists", who.RoleID)
	}
	holder := "role " + own.Name + "'s policy"
	if e := target.Policy.exceedsFor(ServiceSOS, own.Policy); e != nil {
		return true, fmt.Sprintf("role %s allows more than role %s: %s", target.Name, own.Name, e.Words(holder))
	}
	return true, ""
}

// Secret returns the secret that signs requests of accessKey, for SigV4
// verification: the root key's, an API key's, or a temporary credential's
// (derived, after checking its session token). A session token given with a
// long-term key is refused. Errors wrap ErrUnknownKey, ErrInvalidToken or
// ErrExpiredToken.
func (a *Authorizer) Secret(ctx context.Context, accessKey, sessionToken string) (string, error) {
	st := a.state.Load()
	if strings.HasPrefix(accessKey, TempKeyPrefix) {
		sess, err := a.verifySession(st, accessKey, sessionToken)
		if err != nil {
			return "", err
		}
		return tempSecret(st.tempKey, sess.accessKey), nil
	}
	if sessionToken != "" {
		return "", fmt.Errorf("%w: a session token goes only with temporary credentials (%s...)", ErrInvalidToken, TempKeyPrefix)
	}
	if st.isRoot(accessKey) {
		return st.rootSecret, nil
	}
	if k, ok := st.keys[accessKey]; ok {
		return k.Secret, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownKey, accessKey)
}

func (st *authState) isRoot(accessKey string) bool {
	return st.rootKey != "" && subtle.ConstantTimeCompare([]byte(st.rootKey), []byte(accessKey)) == 1
}

func (a *Authorizer) verifySession(st *authState, accessKey, sessionToken string) (tempSession, error) {
	sess, err := verifyTempToken(st.tempKey, st.tempZone, accessKey, sessionToken, a.now())
	if err != nil {
		return sess, err
	}
	if _, ok := st.roles[sess.roleID]; !ok {
		return sess, fmt.Errorf("%w: role %s no longer exists", ErrInvalidToken, sess.roleID)
	}
	return sess, nil
}

// Principal says who accessKey (with sessionToken, for temporary
// credentials) stands for. Errors are those of Secret.
func (a *Authorizer) Principal(accessKey, sessionToken string) (Principal, error) {
	st := a.state.Load()
	if strings.HasPrefix(accessKey, TempKeyPrefix) {
		sess, err := a.verifySession(st, accessKey, sessionToken)
		if err != nil {
			return Principal{}, err
		}
		return Principal{Kind: PrincipalRoleSession, RoleID: sess.roleID, RoleName: st.roles[sess.roleID].Name}, nil
	}
	if sessionToken != "" {
		return Principal{}, fmt.Errorf("%w: a session token goes only with temporary credentials", ErrInvalidToken)
	}
	if st.isRoot(accessKey) {
		return Principal{Kind: PrincipalRoot}, nil
	}
	k, ok := st.keys[accessKey]
	if !ok {
		return Principal{}, fmt.Errorf("%w: %q", ErrUnknownKey, accessKey)
	}
	p := Principal{Kind: PrincipalKey, RoleID: k.RoleID, KeyName: k.Name}
	if r, ok := st.roles[k.RoleID]; ok {
		p.RoleName = r.Name
	}
	return p, nil
}

// Authorize decides whether the holder of accessKey may do req on sos. It
// does not check signatures (SigV4 did that with Secret), but it does check
// session tokens again, since they carry the role. The root key may do
// anything; an API key and a temporary credential are held to their role's
// policy for service "sos"; anything else is denied. req.APIKey is set to
// accessKey when empty.
func (a *Authorizer) Authorize(ctx context.Context, accessKey, sessionToken string, req Request) Decision {
	st := a.state.Load()
	if req.APIKey == "" {
		req.APIKey = accessKey
	}
	if strings.HasPrefix(accessKey, TempKeyPrefix) {
		sess, err := a.verifySession(st, accessKey, sessionToken)
		if err != nil {
			return Decision{Reason: err.Error()}
		}
		return st.authorizeRole(sess.roleID, req)
	}
	if sessionToken != "" {
		return Decision{Reason: "a session token goes only with temporary credentials"}
	}
	if st.isRoot(accessKey) {
		return Decision{Allowed: true, Reason: "root key"}
	}
	k, ok := st.keys[accessKey]
	if !ok {
		return Decision{Reason: fmt.Sprintf("unknown access key %q", accessKey)}
	}
	return st.authorizeRole(k.RoleID, req)
}

// AuthorizeRole decides req for a role directly (the replication workers act
// as the role of a replication configuration).
func (a *Authorizer) AuthorizeRole(roleID string, req Request) Decision {
	return a.state.Load().authorizeRole(roleID, req)
}

func (st *authState) authorizeRole(roleID string, req Request) Decision {
	r, ok := st.roles[roleID]
	if !ok {
		return Decision{Reason: fmt.Sprintf("role %s does not exist", roleID)}
	}
	if r.Policy == nil {
		return Decision{Reason: fmt.Sprintf("role %s has no policy", r.Name)}
	}
	d := r.Policy.Evaluate(ServiceSOS, req)
	d.Role = r.Name
	return d
}

// RootCredentials returns the root key and secret of the loaded snapshot
// (empty before the first Load). Zones use them for their own calls to
// other zones, such as checking a replication destination.
func (a *Authorizer) RootCredentials() (key, secret string) {
	st := a.state.Load()
	return st.rootKey, st.rootSecret
}
