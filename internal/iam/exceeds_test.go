package iam

import (
	"testing"
)

// TestExceeds is the table of the escalation rule at the policy level: when
// does a granted policy allow more than the holder's. Each case that must
// pass is also checked against the evaluator: on a fixed set of requests,
// whatever the granted policy allows the holder's allows too.
func TestExceeds(t *testing.T) {
	const (
		allowAll  = `{"default-service-strategy":"allow"}`
		denyAll   = `{"default-service-strategy":"deny"}`
		sosAllow  = `{"default-service-strategy":"deny","services":{"sos":{"type":"allow"}}}`
		storeAdm  = `{"default-service-strategy":"deny","services":{"sos":{"type":"allow"},"iam":{"type":"allow"}}}`
		seedRules = `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"allow","expression":"parameters.bucket == 'my-source' && operation == 'get-object'"},
			{"action":"allow","expression":"parameters.bucket == 'my-destination' && operation.startsWith('put-object')"}]}}}`
		notProd = `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"deny","expression":"parameters.bucket == 'prod'"},
			{"action":"allow","expression":"true"}]}}}`
	)
	const holder = "role h's policy"
	for _, tc := range []struct {
		name            string
		holder, granted string
		want            string // "" = within the holder's
	}{
		{"anything within allow-all", allowAll, allowAll, ""},
		{"deny-all within deny-all", denyAll, denyAll, ""},
		{"deny-all within anything", seedRules, denyAll, ""},
		{"same policy", seedRules, seedRules, ""},
		{"the same expressions spelled differently", seedRules, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"allow","expression":"parameters.bucket=='my-source'  &&  operation=='get-object'"}]}}}`, ""},
		{"a prefix of the holder's rules", seedRules, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"allow","expression":"parameters.bucket == 'my-source' && operation == 'get-object'"}]}}}`, ""},
		{"one of the holder's allow rules, out of order", seedRules, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"allow","expression":"parameters.bucket == 'my-destination' && operation.startsWith('put-object')"}]}}}`, ""},
		{"deny rules added in front", notProd, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"deny","expression":"operation == 'delete-object'"},
			{"action":"deny","expression":"parameters.bucket == 'prod'"},
			{"action":"allow","expression":"true"}]}}}`, ""},
		{"services sos does not enforce do not count", sosAllow, `{"default-service-strategy":"allow","services":{"iam":{"type":"deny"}}}`, ""},
		{"sos rules within sos allow", sosAllow, seedRules, ""},
		{"everything within a storage and IAM admin", storeAdm, `{"default-service-strategy":"deny","services":{"sos":{"type":"allow"},"iam":{"type":"allow"},"compute":{"type":"allow"}}}`, ""},
		{"IAM rules within the same IAM rules", `{"default-service-strategy":"deny","services":{"iam":{"type":"rules","rules":[
			{"action":"allow","expression":"operation == 'create-api-key'"}]}}}`, `{"default-service-strategy":"deny","services":{"iam":{"type":"rules","rules":[
			{"action":"allow","expression":"operation == 'create-api-key'"}]}}}`, ""},

		{"all-allowing policy from a rules holder", seedRules, allowAll,
			`default-service-strategy allow lets every iam operation through (service iam is not listed), and role h's policy does not`},
		{"sos type allow from a rules holder", seedRules, sosAllow,
			`services.sos allows every operation, and role h's policy does not`},
		{"IAM type allow from a storage-only holder", sosAllow, `{"default-service-strategy":"deny","services":{"iam":{"type":"allow"}}}`,
			`services.iam allows every operation, and role h's policy does not`},
		{"an allow rule the holder has not", seedRules, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"allow","expression":"operation == 'delete-object'"}]}}}`,
			`rule services.sos.rules[0] allows "operation == 'delete-object'", and no allow rule of services.sos in role h's policy has that expression`},
		{"any allow rule from a holder that denies sos", denyAll, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"deny","expression":"true"},{"action":"allow","expression":"true"}]}}}`,
			`rule services.sos.rules[1] allows "true", and no allow rule of services.sos in role h's policy has that expression`},
		{"the holder's allow rule without the deny before it", notProd, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"allow","expression":"true"}]}}}`,
			`rule services.sos.rules[0] allows "true", which role h's policy allows only after its deny rule services.sos.rules[0] ("parameters.bucket == 'prod'"), missing before it`},
		{"the holder's deny rule moved after the allow", notProd, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"allow","expression":"true"},
			{"action":"deny","expression":"parameters.bucket == 'prod'"}]}}}`,
			`rule services.sos.rules[0] allows "true", which role h's policy allows only after its deny rule services.sos.rules[0] ("parameters.bucket == 'prod'"), missing before it`},
		{"a copied rule that reads api_key", `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"allow","expression":"api_key != 'EXOholder'"}]}}}`, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"allow","expression":"api_key != 'EXOholder'"}]}}}`,
			`rule services.sos.rules[0] allows "api_key != 'EXOholder'", which reads api_key and so decides differently for another key: only a policy that allows every sos operation may hand it out`},
		{"a copied deny rule that reads api_key", `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"deny","expression":"api_key == 'EXOholder'"},{"action":"allow","expression":"true"}]}}}`, `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
			{"action":"deny","expression":"api_key == 'EXOholder'"},{"action":"allow","expression":"true"}]}}}`,
			`rule services.sos.rules[1] allows "true", which role h's policy allows only after its deny rule services.sos.rules[0] ("api_key == 'EXOholder'"), missing before it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustParseString(t, tc.holder)
			g := mustParseString(t, tc.granted)
			e := g.Exceeds(h)
			got := ""
			if e != nil {
				got = e.Words(holder)
			}
			if got != tc.want {
				t.Fatalf("Exceeds\n got %q\nwant %q", got, tc.want)
			}
			if e == nil {
				checkWithin(t, g, h)
			}
		})
	}
	// A nil policy denies everything.
	if e := (*Policy)(nil).Exceeds(nil); e != nil {
		t.Errorf("nil within nil: %v", e.Words(holder))
	}
	if e := mustParseString(t, allowAll).Exceeds(nil); e == nil {
		t.Error("allow-all within nil: not refused")
	}
}

// checkWithin evaluates both policies on a fixed set of requests: whatever
// granted allows, holder must allow too.
func checkWithin(t *testing.T, granted, holder *Policy) {
	t.Helper()
	for _, service := range []string{ServiceSOS, ServiceIAM} {
		for _, op := range []string{"get-object", "put-object", "put-object-tagging", "delete-object", "list-objects", "create-api-key", "update-iam-role-policy"} {
			for _, bucket := range []string{"", "my-source", "my-destination", "prod", "other"} {
				req := Request{Operation: op, Bucket: bucket, APIKey: "EXOholder", Now: defaultNow}
				if granted.Evaluate(service, req).Allowed && !holder.Evaluate(service, req).Allowed {
					t.Errorf("%s %s bucket %q: the granted policy allows, the holder's does not", service, op, bucket)
				}
			}
		}
	}
}

func mustParseString(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	return p
}
