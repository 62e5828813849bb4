package iam

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// defaultNow is the time of a case that names none.
var defaultNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func mustParse(t testing.TB, path string) *Policy {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePolicy(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

// parseCase reads one line of testdata/cases/*.txt:
//
//	allow|deny field=value ...
//
// with fields service, op, bucket, key, prefix, version, zone, ip, apikey,
// now, and for IAM operations roleid, rolename, name.
func parseCase(line string) (want string, service string, req Request, err error) {
	fields := strings.Fields(line)
	if len(fields) < 2 || (fields[0] != "allow" && fields[0] != "deny") {
		return "", "", req, fmt.Errorf("want `allow|deny field=value...`")
	}
	service = ServiceSOS
	req = Request{Zone: "ch-dk-2", SourceIP: "192.0.2.1", APIKey: "EXOtest", Now: defaultNow}
	for _, f := range fields[1:] {
		name, value, ok := strings.Cut(f, "=")
		if !ok {
			return "", "", req, fmt.Errorf("field %q has no =", f)
		}
		switch name {
		case "service":
			service = value
		case "op":
			req.Operation = value
		case "bucket":
			req.Bucket = value
		case "key":
			req.Key = value
		case "prefix":
			req.Prefix = value
		case "version":
			req.VersionID = value
		case "zone":
			req.Zone = value
		case "ip":
			req.SourceIP = value
		case "apikey":
			req.APIKey = value
		case "roleid":
			req.RoleID = value
		case "rolename":
			req.RoleName = value
		case "name":
			req.Name = value
		case "now":
			req.Now, err = time.Parse(time.RFC3339, value)
			if err != nil {
				return "", "", req, err
			}
		default:
			return "", "", req, fmt.Errorf("unknown field %q", name)
		}
	}
	return fields[0], service, req, nil
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestPolicyCases evaluates every case of testdata/cases/NAME.txt against
// testdata/policies/NAME.json; the expected decision is written in the case,
// the reasons are kept in testdata/cases/NAME.golden.
func TestPolicyCases(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			p := mustParse(t, filepath.Join("testdata/policies", name+".json"))
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var golden bytes.Buffer
			sc := bufio.NewScanner(f)
			n := 0
			for lineNo := 1; sc.Scan(); lineNo++ {
				line := strings.TrimSpace(sc.Text())
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				n++
				want, service, req, err := parseCase(line)
				if err != nil {
					t.Fatalf("%s:%d: %v", file, lineNo, err)
				}
				d := p.Evaluate(service, req)
				got := "deny"
				if d.Allowed {
					got = "allow"
				}
				if got != want {
					t.Errorf("%s:%d: %s: got %s (%s)", file, lineNo, line, got, d.Reason)
				}
				fmt.Fprintf(&golden, "%s\n\t-> %s: %s\n", line, got, d.Reason)
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatalf("%s has no case", file)
			}
			checkGolden(t, filepath.Join("testdata/cases", name+".golden"), golden.Bytes())
		})
	}
}

// TestInvalidPolicies checks the exact message of every document in
// testdata/invalid against its .golden file.
func TestInvalidPolicies(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid policies: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParsePolicy(data)
			if err == nil {
				t.Fatalf("accepted: %s", p.canonical)
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, not *PolicyError: %v", err, err)
			}
			checkGolden(t, filepath.Join("testdata/invalid", name+".golden"), []byte(err.Error()+"\n"))
		})
	}
}

func TestPolicyErrorFields(t *testing.T) {
	data, err := os.ReadFile("testdata/invalid/undeclared-reference.json")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParsePolicy(data)
	var pe *PolicyError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want *PolicyError", err)
	}
	// "operation == 'put-object' && bukcet == 'my-destination'": bukcet is at column 30.
	if pe.Field != "services.sos.rules[1].expression" || pe.Line != 1 || pe.Column != 30 {
		t.Errorf("got field %q at %d:%d, want services.sos.rules[1].expression at 1:30", pe.Field, pe.Line, pe.Column)
	}
	if !strings.HasPrefix(pe.Msg, "undeclared reference to 'bukcet'") {
		t.Errorf("message %q", pe.Msg)
	}
	if want := "services.sos.rules[1].expression: 1:30: undeclared reference to 'bukcet'"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", err.Error(), want)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/policies/*.json")
	for _, file := range files {
		p := mustParse(t, file)
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParsePolicy(out)
		if err != nil {
			t.Fatalf("%s: reparsing %s: %v", file, out, err)
		}
		if !p.Equal(q) {
			t.Errorf("%s: round trip changed the policy:\n%s\n%s", file, p.canonical, q.canonical)
		}
		// The document survives: same rules in the same order.
		var orig, back Document
		raw, _ := os.ReadFile(file)
		if err := json.Unmarshal(raw, &orig); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(orig) != fmt.Sprint(back) {
			t.Errorf("%s: document changed:\n%v\n%v", file, orig, back)
		}
	}
	seed := mustParse(t, "testdata/policies/seed.json")
	want := `{"default-service-strategy":"deny","services":{"sos":{"type":"rules","rules":[{"action":"allow","expression":"parameters.bucket == 'my-source' \u0026\u0026 operation == 'get-object'"},{"action":"allow","expression":"parameters.bucket == 'my-destination' \u0026\u0026 operation.startsWith('put-object')"}]}}}`
	if got, _ := seed.MarshalJSON(); string(got) != want {
		t.Errorf("MarshalJSON:\n got %s\nwant %s", got, want)
	}
}

func TestUnmarshalInStruct(t *testing.T) {
	var r Role
	err := json.Unmarshal([]byte(`{"id":"r1","name":"n","policy":{"default-service-strategy":"allow","services":{}}}`), &r)
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Policy.Evaluate(ServiceSOS, Request{Operation: "get-object"}); !d.Allowed {
		t.Errorf("decoded policy denies: %s", d.Reason)
	}
	err = json.Unmarshal([]byte(`{"id":"r1","policy":{"default-service-strategy":"maybe"}}`), &r)
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.Field != "default-service-strategy" {
		t.Errorf("got %v, want a PolicyError on default-service-strategy", err)
	}
}

func TestNewPolicy(t *testing.T) {
	p, err := NewPolicy(Document{DefaultServiceStrategy: "deny", Services: map[string]ServiceDocument{
		"sos": {Type: "rules", Rules: []RuleDocument{{Action: "allow", Expression: "operation == 'get-object'"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Evaluate("sos", Request{Operation: "get-object"}).Allowed || p.Evaluate("sos", Request{Operation: "put-object"}).Allowed {
		t.Error("wrong decisions")
	}
	doc := p.Document()
	doc.Services["sos"].Rules[0].Expression = "true" // a copy: the policy is unchanged
	if p.Evaluate("sos", Request{Operation: "put-object"}).Allowed {
		t.Error("changing the returned Document changed the policy")
	}
	if _, err := NewPolicy(Document{}); err == nil {
		t.Error("empty document accepted")
	}
}

func TestKnownServices(t *testing.T) {
	for _, s := range []string{"sos", "compute", "dbaas", "dns", "iam", "sks"} {
		doc := fmt.Sprintf(`{"default-service-strategy":"deny","services":{%q:{"type":"allow"}}}`, s)
		if _, err := ParsePolicy([]byte(doc)); err != nil {
			t.Errorf("service %s refused: %v", s, err)
		}
	}
}

func TestNilPolicyDenies(t *testing.T) {
	var p *Policy
	if d := p.Evaluate(ServiceSOS, Request{Operation: "get-object"}); d.Allowed {
		t.Error("nil policy allowed")
	}
}

func TestCostLimit(t *testing.T) {
	// A rule that would run for a very long time errors at the cost limit
	// and counts as not matching.
	doc := `{"default-service-strategy":"allow","services":{"sos":{"type":"rules","rules":[
	  {"action":"deny","expression":"[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, a+b+c+d+e > 0)))))"},
	  {"action":"allow","expression":"true"}]}}}`
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	d := p.Evaluate(ServiceSOS, Request{Operation: "get-object"})
	if !d.Allowed || d.Reason != "rule services.sos.rules[1] allows" {
		t.Errorf("got %+v, want rule 1 to allow after rule 0 hit the cost limit", d)
	}
}

// An expression without comprehensions can still grow a string
// exponentially: every replace below multiplies the length by 16. Such a
// rule must stop at the cost limit instead of allocating gigabytes on
// every request evaluated under the role.
func TestCostLimitWithoutComprehension(t *testing.T) {
	expr := "operation" + strings.Repeat(".replace('a', 'aaaaaaaaaaaaaaaa')", 6) + ".size() > 0"
	doc := `{"default-service-strategy":"allow","services":{"sos":{"type":"rules","rules":[
	  {"action":"deny","expression":"` + expr + `"},
	  {"action":"allow","expression":"true"}]}}}`
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	d := p.Evaluate(ServiceSOS, Request{Operation: "aaaa"})
	if !d.Allowed || d.Reason != "rule services.sos.rules[1] allows" {
		t.Errorf("got %+v, want rule 0 to hit the cost limit and rule 1 to allow", d)
	}
}
