package iam

import (
	"context"
	"testing"
	"time"
)

// Evaluation runs on every S3 request: these say what it costs.

func benchEvaluate(b *testing.B, policyFile string, req Request) {
	p := mustParse(b, policyFile)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p.Evaluate(ServiceSOS, req)
	}
}

var benchNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// The seed's policy, first rule matches.
func BenchmarkEvaluateSeedFirstRule(b *testing.B) {
	benchEvaluate(b, "testdata/policies/seed.json", Request{Operation: "get-object", Bucket: "my-source", Key: "config.json", Now: benchNow})
}

// The seed's policy, second rule matches.
func BenchmarkEvaluateSeedSecondRule(b *testing.B) {
	benchEvaluate(b, "testdata/policies/seed.json", Request{Operation: "put-object", Bucket: "my-destination", Key: "config.json", Now: benchNow})
}

// The seed's policy, no rule matches (the most work).
func BenchmarkEvaluateSeedDenied(b *testing.B) {
	benchEvaluate(b, "testdata/policies/seed.json", Request{Operation: "delete-object", Bucket: "other", Key: "config.json", Now: benchNow})
}

// Six rules using now, source_ip, regexes and the strings extension.
func BenchmarkEvaluateContext(b *testing.B) {
	benchEvaluate(b, "testdata/policies/context.json", Request{Operation: "list-objects", Bucket: "b", Prefix: "PUBLIC/x", SourceIP: "192.0.2.1", APIKey: "EXOx", Zone: "ch-dk-2", Now: benchNow})
}

func BenchmarkEvaluateTypeAllow(b *testing.B) {
	benchEvaluate(b, "testdata/policies/type-allow.json", Request{Operation: "get-object", Bucket: "b", Key: "k"})
}

// The whole Authorize path of an API key, as the S3 API calls it.
func BenchmarkAuthorizeAPIKey(b *testing.B) {
	a := NewAuthorizer(AuthorizerOptions{})
	a.Load(seedSnapshot(b, 1))
	ctx := context.Background()
	req := Request{Operation: "get-object", Bucket: "my-source", Key: "config.json", Now: benchNow}
	b.ReportAllocs()
	for b.Loop() {
		if !a.Authorize(ctx, "EXOrepl", "", req).Allowed {
			b.Fatal("denied")
		}
	}
}

// The Authorize path of temporary credentials (token MAC checked each time).
func BenchmarkAuthorizeTempCredentials(b *testing.B) {
	a := NewAuthorizer(AuthorizerOptions{Now: func() time.Time { return benchNow }})
	a.Load(seedSnapshot(b, 1))
	c := IssueTempCredentials(tempKey, "", "role-repl", benchNow, time.Hour)
	ctx := context.Background()
	req := Request{Operation: "get-object", Bucket: "my-source", Key: "config.json", Now: benchNow}
	b.ReportAllocs()
	for b.Loop() {
		if !a.Authorize(ctx, c.AccessKey, c.SessionToken, req).Allowed {
			b.Fatal("denied")
		}
	}
}

func BenchmarkParsePolicySeed(b *testing.B) {
	data := []byte(`{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[
	{"action":"allow","expression":"parameters.bucket == 'my-source' && operation == 'get-object'"},
	{"action":"allow","expression":"parameters.bucket == 'my-destination' && operation.startsWith('put-object')"}]}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePolicy(data); err != nil {
			b.Fatal(err)
		}
	}
}
