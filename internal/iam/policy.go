package iam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Strategy values of "default-service-strategy".
const (
	StrategyAllow = "allow"
	StrategyDeny  = "deny"
)

// Service policy types ("type").
const (
	TypeAllow = "allow"
	TypeDeny  = "deny"
	TypeRules = "rules"
)

// Rule actions ("action").
const (
	ActionAllow = "allow"
	ActionDeny  = "deny"
)

// ServiceSOS is the one service a zone evaluates.
const ServiceSOS = "sos"

// ServiceIAM is the service of IAM operations (roles and API keys), which the
// control plane evaluates for API v2 and the console.
const ServiceIAM = "iam"

// Services lists the service class names a policy may name. They are
// Exoscale's (so that a policy written for Exoscale loads unchanged); sos only
// ever evaluates "sos", the others simply are not consulted.
var knownServices = []string{
	"compute", "compute-legacy", "dbaas", "dns", "iam", "partner", "sks", "sos",
}

// KnownServices returns the service class names a policy may name, sorted.
func KnownServices() []string { return slices.Clone(knownServices) }

// Document is the JSON shape of a policy, as Exoscale has it. It is what
// (*Policy).Document returns and what NewPolicy takes.
type Document struct {
	DefaultServiceStrategy string                     `json:"default-service-strategy"`
	Services               map[string]ServiceDocument `json:"services"`
}

// ServiceDocument is one entry of Document.Services.
type ServiceDocument struct {
	Type  string         `json:"type"`
	Rules []RuleDocument `json:"rules,omitempty"`
}

// RuleDocument is one rule of a service with type "rules".
type RuleDocument struct {
	Action     string `json:"action"`
	Expression string `json:"expression"`
}

// PolicyError says what is wrong with a policy document and where: Field is
// the path of the offending value (e.g. "services.sos.rules[1].expression"),
// Line and Column (1-based, 0 when unknown) the position inside the
// expression, or inside the document for a JSON syntax error.
type PolicyError struct {
	Field        string
	Line, Column int
	Msg          string
}

func (e *PolicyError) Error() string {
	var b strings.Builder
	if e.Field != "" {
		b.WriteString(e.Field)
	} else {
		b.WriteString("policy")
	}
	b.WriteString(": ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d: ", e.Line, e.Column)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Policy is a validated policy whose rule expressions are compiled once, when
// it is parsed. A Policy is immutable and safe for concurrent use.
type Policy struct {
	strategy  string
	services  map[string]*servicePolicy
	canonical []byte // the document as MarshalJSON gives it; identity for reuse
}

type servicePolicy struct {
	name     string
	typ      string
	rules    []compiledRule
	decision Decision // for type allow and deny
}

type compiledRule struct {
	field      string // "services.sos.rules[0]"
	action     string
	expression string
	compiled
	decision Decision // when the expression is true
}

// ParsePolicy parses and validates a policy document and compiles its rules.
// It is strict: unknown fields, duplicate keys, trailing data, unknown
// strategies, types, actions and services are refused, and so is every
// expression that does not compile to a bool. Errors are *PolicyError.
func ParsePolicy(data []byte) (*Policy, error) {
	if len(data) > MaxPolicySize {
		return nil, &PolicyError{Msg: fmt.Sprintf("document is %d bytes, more than the %d allowed", len(data), MaxPolicySize)}
	}
	if err := checkJSON(data); err != nil {
		return nil, err
	}
	doc, err := decodeDocument(data)
	if err != nil {
		return nil, err
	}
	return NewPolicy(doc)
}

// NewPolicy validates doc and compiles its rules, as ParsePolicy does after
// decoding JSON.
func NewPolicy(doc Document) (*Policy, error) {
	switch doc.DefaultServiceStrategy {
	case StrategyAllow, StrategyDeny:
	case "":
		return nil, &PolicyError{Field: "default-service-strategy", Msg: `missing: must be "allow" or "deny"`}
	default:
		return nil, &PolicyError{Field: "default-service-strategy", Msg: fmt.Sprintf(`unknown strategy %q: must be "allow" or "deny"`, doc.DefaultServiceStrategy)}
	}
	p := &Policy{strategy: doc.DefaultServiceStrategy, services: make(map[string]*servicePolicy, len(doc.Services))}
	names := make([]string, 0, len(doc.Services))
	for name := range doc.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		sd := doc.Services[name]
		field := "services." + name
		if !slices.Contains(knownServices, name) {
			return nil, &PolicyError{Field: field, Msg: fmt.Sprintf("unknown service %q: must be one of %s", name, strings.Join(knownServices, ", "))}
		}
		sp := &servicePolicy{name: name, typ: sd.Type}
		switch sd.Type {
		case TypeAllow, TypeDeny:
			sp.decision = Decision{Allowed: sd.Type == TypeAllow, Reason: field + " allows every operation"}
			if sd.Type == TypeDeny {
				sp.decision.Reason = field + " denies every operation"
			}
			if len(sd.Rules) > 0 {
				return nil, &PolicyError{Field: field + ".rules", Msg: fmt.Sprintf(`rules are only allowed with type "rules", not %q`, sd.Type)}
			}
		case TypeRules:
			if len(sd.Rules) == 0 {
				return nil, &PolicyError{Field: field + ".rules", Msg: `type "rules" needs at least one rule`}
			}
		case "":
			return nil, &PolicyError{Field: field + ".type", Msg: `missing: must be "allow", "deny" or "rules"`}
		default:
			return nil, &PolicyError{Field: field + ".type", Msg: fmt.Sprintf(`unknown type %q: must be "allow", "deny" or "rules"`, sd.Type)}
		}
		for i, rd := range sd.Rules {
			rfield := field + ".rules[" + strconv.Itoa(i) + "]"
			switch rd.Action {
			case ActionAllow, ActionDeny:
			case "":
				return nil, &PolicyError{Field: rfield + ".action", Msg: `missing: must be "allow" or "deny"`}
			default:
				return nil, &PolicyError{Field: rfield + ".action", Msg: fmt.Sprintf(`unknown action %q: must be "allow" or "deny"`, rd.Action)}
			}
			if strings.TrimSpace(rd.Expression) == "" {
				return nil, &PolicyError{Field: rfield + ".expression", Msg: "missing: a CEL expression is needed"}
			}
			c, err := compileExpression(rfield+".expression", rd.Expression)
			if err != nil {
				return nil, err
			}
			d := Decision{Allowed: rd.Action == ActionAllow, Reason: "rule " + rfield + " allows"}
			if !d.Allowed {
				d.Reason = "rule " + rfield + " denies"
			}
			sp.rules = append(sp.rules, compiledRule{field: rfield, action: rd.Action, expression: rd.Expression, compiled: c, decision: d})
		}
		p.services[name] = sp
	}
	canonical, err := json.Marshal(p.Document())
	if err != nil {
		return nil, fmt.Errorf("iam: encoding policy: %w", err)
	}
	p.canonical = canonical
	return p, nil
}

// Document returns a copy of the policy's document.
func (p *Policy) Document() Document {
	doc := Document{DefaultServiceStrategy: p.strategy, Services: make(map[string]ServiceDocument, len(p.services))}
	for name, sp := range p.services {
		sd := ServiceDocument{Type: sp.typ}
		for _, r := range sp.rules {
			sd.Rules = append(sd.Rules, RuleDocument{Action: r.action, Expression: r.expression})
		}
		doc.Services[name] = sd
	}
	return doc
}

// MarshalJSON gives back the policy document (services sorted by name).
func (p *Policy) MarshalJSON() ([]byte, error) {
	return bytes.Clone(p.canonical), nil
}

// UnmarshalJSON parses a policy document as ParsePolicy does, so that a
// Policy can sit in a JSON-decoded struct (a Role on the wire).
func (p *Policy) UnmarshalJSON(data []byte) error {
	parsed, err := ParsePolicy(data)
	if err != nil {
		return err
	}
	*p = *parsed
	return nil
}

// Equal reports whether two policies have the same document.
func (p *Policy) Equal(q *Policy) bool {
	if p == nil || q == nil {
		return p == q
	}
	return bytes.Equal(p.canonical, q.canonical)
}

// checkJSON checks that data is exactly one JSON value with no duplicate
// object keys, and reports syntax errors with their line and column.
func checkJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walkJSON(dec, data, "", 0); err != nil {
		return err
	}
	end := int(dec.InputOffset())
	if rest := bytes.TrimLeft(data[end:], " \t\r\n"); len(rest) > 0 {
		line, col := lineCol(data, len(data)-len(rest))
		return &PolicyError{Line: line, Column: col, Msg: "unexpected data after the document"}
	}
	return nil
}

const maxJSONDepth = 16

func walkJSON(dec *json.Decoder, data []byte, path string, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return jsonSyntaxError(data, dec, err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxJSONDepth {
		return &PolicyError{Field: path, Msg: "document nested too deeply"}
	}
	switch delim {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return jsonSyntaxError(data, dec, err)
			}
			key, _ := kt.(string)
			child := joinPath(path, key)
			if seen[key] {
				return &PolicyError{Field: child, Msg: "duplicate key"}
			}
			seen[key] = true
			if err := walkJSON(dec, data, child, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := walkJSON(dec, data, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return jsonSyntaxError(data, dec, err)
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func jsonSyntaxError(data []byte, dec *json.Decoder, err error) error {
	offset := int(dec.InputOffset())
	msg := err.Error()
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		offset = int(se.Offset)
		msg = strings.TrimPrefix(se.Error(), "json: ")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		offset = len(data)
		msg = "unexpected end of document"
	}
	line, col := lineCol(data, offset)
	return &PolicyError{Line: line, Column: col, Msg: "invalid JSON: " + msg}
}

// lineCol turns a byte offset into a 1-based line and column (in bytes).
func lineCol(data []byte, offset int) (int, int) {
	offset = max(0, min(offset, len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := offset - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// decodeDocument decodes a syntactically valid document field by field, so
// that every error names the field it is about.
func decodeDocument(data []byte) (Document, error) {
	var doc Document
	top, err := decodeObject(data, "", "default-service-strategy", "services")
	if err != nil {
		return doc, err
	}
	if raw, ok := top["default-service-strategy"]; ok {
		if doc.DefaultServiceStrategy, err = decodeString(raw, "default-service-strategy"); err != nil {
			return doc, err
		}
	}
	raw, ok := top["services"]
	if !ok || isNull(raw) {
		return doc, nil
	}
	var services map[string]json.RawMessage
	if err := json.Unmarshal(raw, &services); err != nil {
		return doc, &PolicyError{Field: "services", Msg: "must be an object"}
	}
	doc.Services = make(map[string]ServiceDocument, len(services))
	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		field := "services." + name
		fields, err := decodeObject(services[name], field, "type", "rules")
		if err != nil {
			return doc, err
		}
		var sd ServiceDocument
		if raw, ok := fields["type"]; ok {
			if sd.Type, err = decodeString(raw, field+".type"); err != nil {
				return doc, err
			}
		}
		if raw, ok := fields["rules"]; ok && !isNull(raw) {
			var rules []json.RawMessage
			if err := json.Unmarshal(raw, &rules); err != nil {
				return doc, &PolicyError{Field: field + ".rules", Msg: "must be an array"}
			}
			for i, rraw := range rules {
				rfield := field + ".rules[" + strconv.Itoa(i) + "]"
				rf, err := decodeObject(rraw, rfield, "action", "expression")
				if err != nil {
					return doc, err
				}
				var rd RuleDocument
				if raw, ok := rf["action"]; ok {
					if rd.Action, err = decodeString(raw, rfield+".action"); err != nil {
						return doc, err
					}
				}
				if raw, ok := rf["expression"]; ok {
					if rd.Expression, err = decodeString(raw, rfield+".expression"); err != nil {
						return doc, err
					}
				}
				sd.Rules = append(sd.Rules, rd)
			}
		}
		doc.Services[name] = sd
	}
	return doc, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// decodeObject decodes a JSON object and refuses fields not in allowed.
func decodeObject(raw json.RawMessage, field string, allowed ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		if field == "" {
			return nil, &PolicyError{Msg: "document must be a JSON object"}
		}
		return nil, &PolicyError{Field: field, Msg: "must be an object"}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return nil, &PolicyError{Field: joinPath(field, k), Msg: fmt.Sprintf("unknown field (known: %s)", strings.Join(allowed, ", "))}
		}
	}
	return m, nil
}

func decodeString(raw json.RawMessage, field string) (string, error) {
	var s string
	if isNull(raw) {
		return "", nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", &PolicyError{Field: field, Msg: "must be a string"}
	}
	return s, nil
}
