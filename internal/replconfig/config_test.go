package replconfig

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"sos/internal/bounded"
)

func TestSeedConfigJSON(t *testing.T) {
	data, err := os.ReadFile("testdata/seed-config.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseJSON(data)
	if err != nil {
		t.Fatalf("seed config.json refused: %v", err)
	}
	if c.Role != "6f00a21e-a535-4286-86c5-e81eeab3b4ff" || len(c.Rules) != 1 {
		t.Fatalf("parsed %+v", c)
	}
	r := c.Rules[0]
	if r.ID != "vie1-follower" || !r.Enabled() || !r.DeleteMarkers() || r.ExistingObjects() || r.DestBucket() != "my-destination" {
		t.Fatalf("rule %+v", r)
	}
	// XML round trip keeps everything.
	back, err := ParseXML(c.XML())
	if err != nil {
		t.Fatalf("own XML refused: %v\n%s", err, c.XML())
	}
	if !reflect.DeepEqual(back.Rules, c.Rules) || back.Role != c.Role {
		t.Fatalf("round trip differs:\n%+v\n%+v", back.Rules, c.Rules)
	}
	// JSON round trip too.
	again, err := ParseJSON(c.JSON())
	if err != nil || !reflect.DeepEqual(again.Rules, c.Rules) {
		t.Fatalf("JSON round trip: %v %+v", err, again)
	}
}

func TestXMLFromS3(t *testing.T) {
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Role>arn-or-uuid</Role>
  <Rule>
    <ID>docs</ID><Priority>2</Priority><Status>Enabled</Status>
    <Filter><And><Prefix>docs/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><Tag><Key>x</Key><Value>y</Value></Tag></And></Filter>
    <Destination><Bucket>arn:aws:s3:::dest-a</Bucket></Destination>
  </Rule>
  <Rule>
    <ID>all</ID><Priority>1</Priority><Status>Enabled</Status>
    <Filter><Prefix></Prefix></Filter>
    <ExistingObjectReplication><Status>Enabled</Status></ExistingObjectReplication>
    <Destination><Bucket>dest-a</Bucket></Destination>
  </Rule>
</ReplicationConfiguration>`
	c, err := ParseXML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if c.Rules[0].DestBucket() != "dest-a" || len(c.Rules[0].Filter.And.Tags) != 2 || !c.Rules[1].ExistingObjects() {
		t.Fatalf("parsed %+v", c.Rules)
	}
	out := string(c.XML())
	if strings.Count(out, "<DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>") != 2 {
		t.Fatalf("GET form must always carry DeleteMarkerReplication:\n%s", out)
	}
}

func TestValidationErrors(t *testing.T) {
	many := `{"Role":"r","Rules":[` + strings.Repeat(`{"Status":"Enabled","Destination":{"Bucket":"d"}},`, MaxRules) + `{"Status":"Enabled","Destination":{"Bucket":"d"}}]}`
	cases := []struct {
		name, doc, want string
		malformed       bool
	}{
		{"no role", `{"Rules":[{"Status":"Enabled","Destination":{"Bucket":"d"}}]}`, "Role is required", false},
		{"no rules", `{"Role":"r","Rules":[]}`, "at least one Rule", false},
		{"too many rules", many, "at most 1000", false},
		{"duplicate IDs", `{"Role":"r","Rules":[{"ID":"a","Priority":1,"Filter":{},"Status":"Enabled","Destination":{"Bucket":"d"}},{"ID":"a","Priority":2,"Filter":{},"Status":"Enabled","Destination":{"Bucket":"e"}}]}`, `"a" is used more than once`, false},
		{"same priority", `{"Role":"r","Rules":[{"ID":"a","Priority":1,"Filter":{},"Status":"Enabled","Destination":{"Bucket":"d"}},{"ID":"b","Priority":1,"Filter":{},"Status":"Enabled","Destination":{"Bucket":"e"}}]}`, "same Priority 1", false},
		{"priority required", `{"Role":"r","Rules":[{"ID":"a","Filter":{},"Status":"Enabled","Destination":{"Bucket":"d"}},{"ID":"b","Priority":1,"Filter":{},"Status":"Enabled","Destination":{"Bucket":"e"}}]}`, "Priority is required", false},
		{"bad status", `{"Role":"r","Rules":[{"Status":"On","Destination":{"Bucket":"d"}}]}`, "Status must be Enabled or Disabled", false},
		{"no destination", `{"Role":"r","Rules":[{"Status":"Enabled","Destination":{"Bucket":"arn:aws:s3:::"}}]}`, "Destination.Bucket is required", false},
		{"bad dm status", `{"Role":"r","Rules":[{"Status":"Enabled","DeleteMarkerReplication":{"Status":"yes"},"Destination":{"Bucket":"d"}}]}`, "DeleteMarkerReplication.Status", false},
		{"prefix and filter", `{"Role":"r","Rules":[{"Status":"Enabled","Prefix":"a","Filter":{},"Destination":{"Bucket":"d"}}]}`, "either Prefix or Filter", false},
		{"filter two things", `{"Role":"r","Rules":[{"Status":"Enabled","Filter":{"Prefix":"a","Tag":{"Key":"k","Value":"v"}},"Destination":{"Bucket":"d"}}]}`, "combine them with And", false},
		{"tag without key", `{"Role":"r","Rules":[{"Status":"Enabled","Filter":{"Tag":{"Key":"","Value":"v"}},"Destination":{"Bucket":"d"}}]}`, "Tag.Key is required", false},
		{"and duplicate tag", `{"Role":"r","Rules":[{"Status":"Enabled","Filter":{"And":{"Tags":[{"Key":"k","Value":"1"},{"Key":"k","Value":"2"}]}},"Destination":{"Bucket":"d"}}]}`, "appears twice", false},
		{"unknown field", `{"Role":"r","Rulez":[]}`, "unknown field", true},
		{"trailing data", `{"Role":"r","Rules":[{"Status":"Enabled","Destination":{"Bucket":"d"}}]} {}`, "after the JSON document", true},
		{"not json", `Role: r`, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(tc.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			want := ErrInvalid
			if tc.malformed {
				want = ErrMalformed
			}
			if !errors.Is(err, want) {
				t.Fatalf("error %v does not wrap %v", err, want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestXMLMalformed(t *testing.T) {
	for _, doc := range []string{``, `<ReplicationConfiguration><Role>`, `<Other><Role>r</Role></Other>`} {
		if _, err := ParseXML([]byte(doc)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", doc, err)
		}
	}
}

func TestMatches(t *testing.T) {
	doc := `{"Role":"r","Rules":[
	 {"ID":"logs-a","Priority":3,"Filter":{"Prefix":"logs/"},"Status":"Enabled","Destination":{"Bucket":"a"}},
	 {"ID":"all-a","Priority":1,"Filter":{"Prefix":""},"Status":"Enabled","DeleteMarkerReplication":{"Status":"Enabled"},"Destination":{"Bucket":"a"}},
	 {"ID":"tagged-b","Priority":2,"Filter":{"Tag":{"Key":"replicate","Value":"yes"}},"Status":"Enabled","Destination":{"Bucket":"arn:aws:s3:::b"}},
	 {"ID":"and-c","Priority":4,"Filter":{"And":{"Prefix":"img/","Tags":[{"Key":"t","Value":""}]}},"Status":"Enabled","Destination":{"Bucket":"c"}},
	 {"ID":"off-d","Priority":5,"Filter":{"Prefix":""},"Status":"Disabled","Destination":{"Bucket":"d"}}
	]}`
	c, err := ParseJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		key  string
		tags map[string]string
		want []Match
	}{
		{"x.txt", nil, []Match{{"all-a", "a", true}}},
		{"logs/1", nil, []Match{{"logs-a", "a", false}}},
		{"x", map[string]string{"replicate": "yes"}, []Match{{"all-a", "a", true}, {"tagged-b", "b", false}}},
		{"x", map[string]string{"replicate": "no"}, []Match{{"all-a", "a", true}}},
		{"img/1", map[string]string{"t": ""}, []Match{{"all-a", "a", true}, {"and-c", "c", false}}},
		{"img/1", nil, []Match{{"all-a", "a", true}}},
	}
	for _, tc := range cases {
		got := c.Matches(tc.key, tc.tags)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Matches(%q, %v) = %+v, want %+v", tc.key, tc.tags, got, tc.want)
		}
	}
	// A tag filter whose value is empty does not match a missing tag.
	c2, err := ParseJSON([]byte(`{"Role":"r","Rules":[{"Filter":{"Tag":{"Key":"k","Value":""}},"Status":"Enabled","Destination":{"Bucket":"a"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if m := c2.Matches("x", nil); len(m) != 0 {
		t.Fatalf("missing tag matched: %+v", m)
	}
	if m := c2.Matches("x", map[string]string{"k": ""}); len(m) != 1 {
		t.Fatalf("present empty tag did not match: %+v", m)
	}
	// Legacy V1 rule with a top-level Prefix.
	c3, err := ParseXML([]byte(`<ReplicationConfiguration><Role>r</Role><Rule><Prefix>p/</Prefix><Status>Enabled</Status><Destination><Bucket>a</Bucket></Destination></Rule></ReplicationConfiguration>`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c3.Matches("p/x", nil)) != 1 || len(c3.Matches("q/x", nil)) != 0 {
		t.Fatal("legacy prefix rule matches wrongly")
	}
}

// TestReadXMLLimits: a configuration nesting too deep or too large is
// refused as malformed (too large: bounded.ErrTooLarge, MaxMessageLength
// at the S3 edge), and so is a JSON one nesting too deep.
func TestReadXMLLimits(t *testing.T) {
	deep := "<ReplicationConfiguration><Rule><Filter><And>" + strings.Repeat("<Tag>", 40)
	if _, err := ParseXML([]byte(deep)); !errors.Is(err, ErrMalformed) || !errors.Is(err, bounded.ErrTooDeep) {
		t.Fatalf("deep: %v", err)
	}
	large := "<ReplicationConfiguration><Role>" + strings.Repeat("r", MaxXMLBytes) + "</Role></ReplicationConfiguration>"
	if _, err := ParseXML([]byte(large)); !errors.Is(err, bounded.ErrTooLarge) {
		t.Fatalf("large: %v", err)
	}
	if _, err := ParseJSON([]byte(`{"Role":"r","Rules":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`)); !errors.Is(err, ErrMalformed) || !errors.Is(err, bounded.ErrTooDeep) {
		t.Fatalf("deep JSON: %v", err)
	}
}

// FuzzParseXML: any document is a valid configuration or a malformed /
// invalid one, never a panic.
func FuzzParseXML(f *testing.F) {
	f.Add([]byte(`<ReplicationConfiguration><Role>r</Role><Rule><Prefix>p/</Prefix><Status>Enabled</Status><Destination><Bucket>a</Bucket></Destination></Rule></ReplicationConfiguration>`))
	f.Add([]byte("<ReplicationConfiguration><Rule><Filter><And>" + strings.Repeat("<Tag>", 40)))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseXML(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalid) && !errors.Is(err, bounded.ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid configuration: %v", err)
		}
	})
}
