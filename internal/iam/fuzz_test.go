package iam

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParsePolicy: any input either parses into a policy that survives a
// MarshalJSON round trip, or fails with a *PolicyError; never a panic.
func FuzzParsePolicy(f *testing.F) {
	for _, dir := range []string{"testdata/policies", "testdata/invalid"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(`{"default-service-strategy":"allow","services":null}`))
	f.Add([]byte(`{"default-service-strategy":"allow","services":{"sos":{"type":"rules","rules":null}}}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data)
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *PolicyError: %v", err, err)
			}
			if p != nil {
				t.Fatal("policy returned with an error")
			}
			return
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParsePolicy(out)
		if err != nil {
			t.Fatalf("MarshalJSON output %s does not parse: %v", out, err)
		}
		if !p.Equal(q) {
			t.Fatalf("round trip changed %s into %s", p.canonical, q.canonical)
		}
		d := p.Evaluate(ServiceSOS, Request{Operation: "get-object", Bucket: "b", Key: "k"})
		if d.Reason == "" {
			t.Fatal("decision without a reason")
		}
	})
}

// FuzzEvaluate: policies built from fuzzed expressions, actions and types,
// evaluated on fuzzed requests, always give allow or deny with a reason.
func FuzzEvaluate(f *testing.F) {
	f.Add("rules", "allow", "parameters.bucket == 'my-source' && operation == 'get-object'", "deny", "true", "get-object", "my-source", "k", "", "", "10.0.0.1", int64(0))
	f.Add("rules", "deny", "parameters.key.startsWith('a')", "allow", "parameters.prefix.matches('^[a-z]+$')", "list-objects", "b", "", "abc", "", "::1", int64(1e9))
	f.Add("rules", "allow", "source_ip.inIpRange('10.0.0.0/8')", "allow", "now > timestamp('2025-01-01T00:00:00Z')", "put-object", "b", "k", "", "v", "bad ip", int64(-1e12))
	f.Add("rules", "allow", "int(parameters['version-id']) > 3", "allow", "parameters.bucket.split('-').size() == 2", "head-object", "a-b", "k", "", "7", "", int64(1<<40))
	f.Add("allow", "allow", "", "deny", "", "delete-object", "", "", "", "", "", int64(0))
	f.Add("deny", "allow", "", "deny", "", "delete-object", "", "", "", "", "", int64(0))
	f.Fuzz(func(t *testing.T, typ, action1, expr1, action2, expr2, op, bucket, key, prefix, version, ip string, nowUnix int64) {
		sd := ServiceDocument{Type: typ}
		if typ == TypeRules {
			sd.Rules = []RuleDocument{{Action: action1, Expression: expr1}, {Action: action2, Expression: expr2}}
		}
		p, err := NewPolicy(Document{DefaultServiceStrategy: "allow", Services: map[string]ServiceDocument{"sos": sd}})
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *PolicyError: %v", err, err)
			}
			return
		}
		req := Request{
			Operation: op, Bucket: bucket, Key: key, Prefix: prefix, VersionID: version,
			Zone: "ch-dk-2", SourceIP: ip, APIKey: "EXOfuzz", Now: time.Unix(nowUnix%(1<<35), 0),
		}
		for _, service := range []string{ServiceSOS, "compute"} {
			d := p.Evaluate(service, req)
			if d.Reason == "" {
				t.Fatalf("decision without a reason: %+v", d)
			}
			if service == "compute" && !d.Allowed {
				t.Fatalf("unlisted service denied under default allow: %s", d.Reason)
			}
			if service == ServiceSOS && typ == TypeRules && d.Allowed && !strings.HasPrefix(d.Reason, "rule ") {
				t.Fatalf("allowed without a rule: %s", d.Reason)
			}
		}
	})
}
