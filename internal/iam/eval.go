package iam

import (
	"fmt"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
)

// Request is what a policy is asked about: one operation and its context.
// Its non-empty target fields are the CEL `parameters` (an empty one is left
// out, so that `'key' in parameters` tells whether the operation has a key).
type Request struct {
	Operation string // kebab-case operation, e.g. "put-object", "create-api-key"

	// Service sos: parameters "bucket", "key", "prefix", "version-id".
	Bucket    string
	Key       string // the object key; for service iam, the API key acted on
	Prefix    string
	VersionID string

	// Service iam: parameters "role-id", "role-name" (the role acted on, the
	// role a new key gets, or the role of the API key acted on; for
	// create-iam-role the new role's name), "key" (Key above) and "name"
	// (the name of the API key being created).
	RoleID   string
	RoleName string
	Name     string

	Zone     string
	SourceIP string
	APIKey   string
	Now      time.Time
}

// Decision is the outcome of an evaluation. Reason says in words which part
// of the policy decided; Role is the name of the role whose policy that is,
// when the Authorizer decided for a role ("" otherwise).
type Decision struct {
	Allowed bool
	Reason  string
	Role    string
}

// Explain is the decision in words for a person: Reason, after the role
// when there is one ("role r: no rule of services.sos matches ...").
func (d Decision) Explain() string {
	if d.Role == "" {
		return d.Reason
	}
	return "role " + d.Role + ": " + d.Reason
}

// Evaluate decides req for service (a zone passes ServiceSOS):
//   - a service not listed in the policy follows default-service-strategy;
//   - type "allow" allows everything, type "deny" denies everything;
//   - type "rules": the rules are tried in order and the first whose
//     expression is true decides with its action; when none is true the
//     request is denied, whatever default-service-strategy says.
//
// An expression whose evaluation errors (for example `parameters.key` on a
// request that has no key, or a cost limit exceeded) counts as not matching,
// and the next rule is tried, as on Exoscale. Evaluate never fails: it always
// returns allow or deny.
func (p *Policy) Evaluate(service string, req Request) Decision {
	if p == nil {
		return Decision{Reason: "no policy"}
	}
	sp, ok := p.services[service]
	if !ok {
		return Decision{
			Allowed: p.strategy == StrategyAllow,
			Reason:  fmt.Sprintf("service %s is not listed: default-service-strategy %s", service, p.strategy),
		}
	}
	if sp.typ != TypeRules {
		return sp.decision
	}
	act := &activation{service: service, req: req}
	var firstErr string
	for i := range sp.rules {
		r := &sp.rules[i]
		out, _, err := r.prg.Eval(act)
		if err != nil {
			if firstErr == "" {
				firstErr = r.field + ": " + err.Error()
			}
			continue
		}
		if out != types.True {
			continue
		}
		return r.decision
	}
	reason := "no rule of services." + service + " matches " + describe(&act.req)
	if firstErr != "" {
		reason += " (evaluation error in " + firstErr + ")"
	}
	return Decision{Reason: reason}
}

// describe names an operation and its target in words, for reasons.
func describe(req *Request) string {
	s := req.Operation
	if s == "" {
		s = "(no operation)"
	}
	switch {
	case req.Bucket != "":
		s += " on bucket " + req.Bucket
		if req.Key != "" {
			s += " key " + req.Key
		}
	case req.Key != "":
		s += " on API key " + req.Key
	case req.RoleName != "":
		s += " on role " + req.RoleName
	case req.RoleID != "":
		s += " on role " + req.RoleID
	}
	return s
}

// activation resolves the policy variables straight from a Request, so that
// no map of bindings is built per evaluation; `parameters` and `now` are
// converted once, on first use, and shared by the rules of one Evaluate.
type activation struct {
	service string
	req     Request
	params  any
	now     any
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case VarOperation:
		return types.String(a.req.Operation), true
	case VarParameters:
		if a.params == nil {
			a.params = types.NewStringStringMap(types.DefaultTypeAdapter, a.parameters())
		}
		return a.params, true
	case VarZone:
		return types.String(a.req.Zone), true
	case VarSourceIP:
		return types.String(a.req.SourceIP), true
	case VarAPIKey:
		return types.String(a.req.APIKey), true
	case VarNow:
		if a.now == nil {
			a.now = types.Timestamp{Time: a.req.Now}
		}
		return a.now, true
	case VarService:
		return types.String(a.service), true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

func (a *activation) parameters() map[string]string {
	m := make(map[string]string, 4)
	if a.req.Bucket != "" {
		m["bucket"] = a.req.Bucket
	}
	if a.req.Key != "" {
		m["key"] = a.req.Key
	}
	if a.req.Prefix != "" {
		m["prefix"] = a.req.Prefix
	}
	if a.req.VersionID != "" {
		m["version-id"] = a.req.VersionID
	}
	if a.req.RoleID != "" {
		m["role-id"] = a.req.RoleID
	}
	if a.req.RoleName != "" {
		m["role-name"] = a.req.RoleName
	}
	if a.req.Name != "" {
		m["name"] = a.req.Name
	}
	return m
}
