package iam

import (
	"fmt"
	"slices"
)

// enforcedServices are the services sos evaluates policies for: "iam" at the
// control plane (API v2 and the console) and "sos" at the zones. Exceeds
// compares policies on these only: the other services a policy may name
// (compute, dns, ...) grant nothing in sos.
var enforcedServices = []string{ServiceIAM, ServiceSOS}

// Excess is where a policy allows more than another one (see Exceeds).
type Excess struct {
	Service string // "iam" or "sos"
	// Field is the part of the larger policy that allows too much:
	// "services.sos" (type allow), "default-service-strategy" (the service
	// is not listed and the strategy is allow) or a rule,
	// "services.sos.rules[1]".
	Field      string
	Expression string // the rule's expression, when Field is a rule
	// HolderDeny and HolderDenyExpression name the holder's deny rule that
	// keeps the holder from what the rule allows, when the holder has an
	// allow rule of the same expression behind it.
	HolderDeny, HolderDenyExpression string
	// UsesAPIKey: the rule reads api_key, so it decides differently for
	// another key than for the holder's.
	UsesAPIKey bool
}

// Words says the excess for a person; holder names the smaller policy, e.g.
// "role junior's policy".
func (e *Excess) Words(holder string) string {
	switch {
	case e.Field == "default-service-strategy":
		return fmt.Sprintf("default-service-strategy allow lets every %s operation through (service %s is not listed), and %s does not", e.Service, e.Service, holder)
	case e.Expression == "":
		return fmt.Sprintf("%s allows every operation, and %s does not", e.Field, holder)
	case e.UsesAPIKey:
		return fmt.Sprintf("rule %s allows %q, which reads api_key and so decides differently for another key: only a policy that allows every %s operation may hand it out", e.Field, e.Expression, e.Service)
	case e.HolderDeny != "":
		return fmt.Sprintf("rule %s allows %q, which %s allows only after its deny rule %s (%q), missing before it", e.Field, e.Expression, holder, e.HolderDeny, e.HolderDenyExpression)
	}
	return fmt.Sprintf("rule %s allows %q, and no allow rule of services.%s in %s has that expression", e.Field, e.Expression, e.Service, holder)
}

// serviceView is what a policy does for one service.
type serviceView struct {
	allowAll, denyAll bool
	field             string // for allowAll: "services.x" or "default-service-strategy"
	rules             []compiledRule
}

func (p *Policy) view(service string) serviceView {
	if p == nil {
		return serviceView{denyAll: true}
	}
	sp, ok := p.services[service]
	switch {
	case !ok:
		return serviceView{allowAll: p.strategy == StrategyAllow, denyAll: p.strategy != StrategyAllow, field: "default-service-strategy"}
	case sp.typ == TypeAllow:
		return serviceView{allowAll: true, field: "services." + service}
	case sp.typ == TypeDeny:
		return serviceView{denyAll: true}
	}
	return serviceView{rules: sp.rules}
}

// Exceeds reports where p may allow a request that holder refuses, on the
// services sos enforces (iam and sos), or nil when it cannot. It is the check
// that keeps an API key from handing out more than its own role allows. A nil
// policy denies everything.
//
// Policies are compared by their structure, because CEL expressions cannot
// be compared for meaning: the check is sound (nil means that p allows no
// request holder refuses) but not complete (a policy it refuses may in fact
// allow no more). For each service, p is within holder when
//   - holder allows every operation of the service (type allow, or the
//     service not listed under default-service-strategy allow), or
//   - p denies every operation of it (type deny, or not listed under deny), or
//   - p has rules (and holder rules, or denies all) and every allow rule of p,
//     at index i, has a counterpart in holder: an allow rule at some index j
//     with the same expression (as CEL prints it back) such that every deny
//     rule of holder before j has its expression among p's deny rules
//     before i.
//
// Why this is sound: the first rule of p that matches a request p allows is
// an allow rule i, so none of p's deny rules before i matches it; holder's
// deny rules before j are among those, so none matches either, and holder's
// first matching rule is its allow rule j or an allow rule before it.
// A rule whose expression reads api_key never counts as equal to another: it
// decides differently for another key of the same role.
func (p *Policy) Exceeds(holder *Policy) *Excess {
	for _, service := range enforcedServices {
		if e := exceedsService(service, p.view(service), holder.view(service)); e != nil {
			return e
		}
	}
	return nil
}

// exceedsFor is Exceeds for one service only.
func (p *Policy) exceedsFor(service string, holder *Policy) *Excess {
	return exceedsService(service, p.view(service), holder.view(service))
}

func exceedsService(service string, g, h serviceView) *Excess {
	switch {
	case h.allowAll, g.denyAll:
		return nil
	case g.allowAll:
		return &Excess{Service: service, Field: g.field}
	}
	// Both have rules (a holder that denies everything has none).
	for i, gr := range g.rules {
		if gr.action != ActionAllow {
			continue
		}
		e := &Excess{Service: service, Field: gr.field, Expression: gr.expression, UsesAPIKey: gr.usesAPIKey}
		if gr.usesAPIKey {
			return e
		}
		gDenies := denyExpressions(g.rules[:i])
		found := false
		for j, hr := range h.rules {
			if hr.action != ActionAllow || hr.usesAPIKey || hr.canonical != gr.canonical {
				continue
			}
			missing := firstMissingDeny(h.rules[:j], gDenies)
			if missing == nil {
				found = true
				break
			}
			if e.HolderDeny == "" {
				e.HolderDeny, e.HolderDenyExpression = missing.field, missing.expression
			}
		}
		if !found {
			return e
		}
	}
	return nil
}

// denyExpressions lists the canonical expressions of the deny rules among
// rules that do not read api_key.
func denyExpressions(rules []compiledRule) []string {
	var out []string
	for _, r := range rules {
		if r.action == ActionDeny && !r.usesAPIKey {
			out = append(out, r.canonical)
		}
	}
	return out
}

// firstMissingDeny returns the first deny rule of rules whose expression is
// not in denies (a rule reading api_key is never in it), or nil.
func firstMissingDeny(rules []compiledRule, denies []string) *compiledRule {
	for i := range rules {
		r := &rules[i]
		if r.action == ActionDeny && (r.usesAPIKey || !slices.Contains(denies, r.canonical)) {
			return r
		}
	}
	return nil
}
