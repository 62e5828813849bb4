package replconfig

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"sos/internal/bounded"
)

// MaxRules is the most rules a configuration may hold, as in S3.
const MaxRules = 1000

// ErrInvalid is wrapped by every validation error; the message says what is
// wrong in words a user understands.
var ErrInvalid = errors.New("invalid replication configuration")

// ErrMalformed is wrapped when the document cannot be parsed at all.
var ErrMalformed = errors.New("malformed replication configuration")

// Config is a bucket's replication configuration. Field names and tags
// follow S3's ReplicationConfiguration; the JSON form is the one of the
// seed's config.json (and of `aws s3api put-bucket-replication`).
type Config struct {
	XMLName xml.Name `xml:"ReplicationConfiguration" json:"-"`
	Role    string   `xml:"Role" json:"Role"`
	Rules   []Rule   `xml:"Rule" json:"Rules"`
}

// Rule is one replication rule.
type Rule struct {
	ID                        string       `xml:"ID,omitempty" json:"ID,omitempty"`
	Priority                  *int         `xml:"Priority,omitempty" json:"Priority,omitempty"`
	Status                    string       `xml:"Status" json:"Status"`
	Prefix                    *string      `xml:"Prefix,omitempty" json:"Prefix,omitempty"` // legacy V1 form
	Filter                    *Filter      `xml:"Filter,omitempty" json:"Filter,omitempty"`
	DeleteMarkerReplication   *StatusBlock `xml:"DeleteMarkerReplication,omitempty" json:"DeleteMarkerReplication,omitempty"`
	ExistingObjectReplication *StatusBlock `xml:"ExistingObjectReplication,omitempty" json:"ExistingObjectReplication,omitempty"`
	Destination               Destination  `xml:"Destination" json:"Destination"`
}

// StatusBlock is an element holding just Status (Enabled or Disabled).
type StatusBlock struct {
	Status string `xml:"Status" json:"Status"`
}

// Filter selects the objects a rule applies to.
type Filter struct {
	Prefix *string `xml:"Prefix,omitempty" json:"Prefix,omitempty"`
	Tag    *Tag    `xml:"Tag,omitempty" json:"Tag,omitempty"`
	And    *And    `xml:"And,omitempty" json:"And,omitempty"`
}

// And combines a prefix and several tags.
type And struct {
	Prefix *string `xml:"Prefix,omitempty" json:"Prefix,omitempty"`
	Tags   []Tag   `xml:"Tag" json:"Tags,omitempty"`
}

// Tag is a key/value object tag condition.
type Tag struct {
	Key   string `xml:"Key" json:"Key"`
	Value string `xml:"Value" json:"Value"`
}

// Destination names the destination bucket, as a name or arn:aws:s3:::name.
type Destination struct {
	Bucket       string `xml:"Bucket" json:"Bucket"`
	StorageClass string `xml:"StorageClass,omitempty" json:"StorageClass,omitempty"`
}

// DestBucket is the destination bucket name, without any ARN prefix.
func (r Rule) DestBucket() string {
	return strings.TrimPrefix(r.Destination.Bucket, "arn:aws:s3:::")
}

// Enabled reports whether the rule is in force.
func (r Rule) Enabled() bool { return r.Status == "Enabled" }

// DeleteMarkers reports whether delete markers replicate under this rule.
func (r Rule) DeleteMarkers() bool {
	return r.DeleteMarkerReplication != nil && r.DeleteMarkerReplication.Status == "Enabled"
}

// ExistingObjects reports whether existing objects are backfilled.
func (r Rule) ExistingObjects() bool {
	return r.ExistingObjectReplication != nil && r.ExistingObjectReplication.Status == "Enabled"
}

// Limits of a configuration document: MaxXMLBytes of XML (S3's 1000 rules
// of up to 30 elements each fit in it), MaxDepth levels of elements or
// JSON objects and arrays (a configuration nests 7).
const (
	MaxXMLBytes = 1 << 20
	MaxDepth    = 32
)

var xmlLimits = bounded.Limits{Bytes: MaxXMLBytes, Depth: MaxDepth, Elements: 30 * MaxRules}

// ParseXML parses and validates an S3 ReplicationConfiguration document.
func ParseXML(data []byte) (*Config, error) {
	return ReadXML(bytes.NewReader(data))
}

// ReadXML parses and validates the S3 ReplicationConfiguration document
// that r holds, as r streams in, within MaxXMLBytes and MaxDepth. A read
// error of r, and bounded.ErrTooLarge, are returned as they are.
func ReadXML(r io.Reader) (*Config, error) {
	var c Config
	if err := bounded.DecodeXML(r, &c, xmlLimits); err != nil {
		for _, e := range []error{bounded.ErrMalformed, bounded.ErrEmpty, bounded.ErrTooDeep, bounded.ErrTooMany} {
			if errors.Is(err, e) {
				return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
			}
		}
		return nil, err
	}
	if c.XMLName.Local != "ReplicationConfiguration" {
		return nil, fmt.Errorf("%w: root element must be ReplicationConfiguration, not %s", ErrMalformed, c.XMLName.Local)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// ParseJSON parses and validates the JSON form (the seed's config.json).
// Unknown fields are refused so that a typo does not silently drop a setting.
func ParseJSON(data []byte) (*Config, error) {
	if err := bounded.CheckJSONDepth(data, MaxDepth); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: unexpected data after the JSON document", ErrMalformed)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// XML renders the configuration as S3 XML, with DeleteMarkerReplication
// always present (S3's GET returns it) and the canonical field order.
func (c *Config) XML() []byte {
	out := *c
	out.Rules = make([]Rule, len(c.Rules))
	for i, r := range c.Rules {
		if r.DeleteMarkerReplication == nil {
			r.DeleteMarkerReplication = &StatusBlock{Status: "Disabled"}
		}
		out.Rules[i] = r
	}
	b, err := xml.Marshal(out)
	if err != nil {
		// Only strings and ints: marshalling cannot fail.
		panic(err)
	}
	return append([]byte(xml.Header), b...)
}

// JSON renders the configuration in the seed's JSON form, indented.
func (c *Config) JSON() []byte {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// Validate checks the configuration with S3's rules. It does not check that
// the role or the destination bucket exist: callers that know them do.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.Role) == "" {
		return fmt.Errorf("%w: Role is required (the UUID of the IAM role replication runs under)", ErrInvalid)
	}
	if len(c.Rules) == 0 {
		return fmt.Errorf("%w: at least one Rule is required", ErrInvalid)
	}
	if len(c.Rules) > MaxRules {
		return fmt.Errorf("%w: %d rules, at most %d are allowed", ErrInvalid, len(c.Rules), MaxRules)
	}
	ids := map[string]bool{}
	prios := map[int]string{}
	for i := range c.Rules {
		r := &c.Rules[i]
		name := fmt.Sprintf("rule %d", i+1)
		if r.ID != "" {
			name = fmt.Sprintf("rule %q", r.ID)
			if len(r.ID) > 255 {
				return fmt.Errorf("%w: %s: ID is longer than 255 characters", ErrInvalid, name)
			}
			if ids[r.ID] {
				return fmt.Errorf("%w: rule ID %q is used more than once", ErrInvalid, r.ID)
			}
			ids[r.ID] = true
		}
		if r.Status != "Enabled" && r.Status != "Disabled" {
			return fmt.Errorf("%w: %s: Status must be Enabled or Disabled, not %q", ErrInvalid, name, r.Status)
		}
		if r.DestBucket() == "" {
			return fmt.Errorf("%w: %s: Destination.Bucket is required", ErrInvalid, name)
		}
		for _, sb := range []struct {
			what string
			b    *StatusBlock
		}{{"DeleteMarkerReplication", r.DeleteMarkerReplication}, {"ExistingObjectReplication", r.ExistingObjectReplication}} {
			if sb.b != nil && sb.b.Status != "Enabled" && sb.b.Status != "Disabled" {
				return fmt.Errorf("%w: %s: %s.Status must be Enabled or Disabled, not %q", ErrInvalid, name, sb.what, sb.b.Status)
			}
		}
		if r.Prefix != nil && r.Filter != nil {
			return fmt.Errorf("%w: %s: use either Prefix or Filter, not both", ErrInvalid, name)
		}
		if f := r.Filter; f != nil {
			n := 0
			if f.Prefix != nil {
				n++
			}
			if f.Tag != nil {
				n++
			}
			if f.And != nil {
				n++
			}
			if n > 1 {
				return fmt.Errorf("%w: %s: Filter holds one of Prefix, Tag or And; combine them with And", ErrInvalid, name)
			}
			if f.Tag != nil && f.Tag.Key == "" {
				return fmt.Errorf("%w: %s: Filter.Tag.Key is required", ErrInvalid, name)
			}
			if f.And != nil {
				seen := map[string]bool{}
				for _, t := range f.And.Tags {
					if t.Key == "" {
						return fmt.Errorf("%w: %s: Filter.And.Tag.Key is required", ErrInvalid, name)
					}
					if seen[t.Key] {
						return fmt.Errorf("%w: %s: tag key %q appears twice in Filter.And", ErrInvalid, name, t.Key)
					}
					seen[t.Key] = true
				}
			}
			// S3: with a Filter, Priority and DeleteMarkerReplication apply.
			if r.Priority != nil {
				if other, ok := prios[*r.Priority]; ok {
					return fmt.Errorf("%w: %s and %s have the same Priority %d", ErrInvalid, other, name, *r.Priority)
				}
				prios[*r.Priority] = name
			}
		}
		if r.Filter != nil && r.Priority == nil && len(c.Rules) > 1 {
			return fmt.Errorf("%w: %s: Priority is required when there are several rules with a Filter", ErrInvalid, name)
		}
	}
	return nil
}

// Match is one destination a written version must be replicated to.
type Match struct {
	RuleID        string
	DestBucket    string
	DeleteMarkers bool
}

// Matches returns the destinations of an object version written with key
// and tags: for each destination bucket, the enabled matching rule with the
// highest Priority (S3 gives precedence to the greater number). The result
// is ordered by destination bucket.
func (c *Config) Matches(key string, tags map[string]string) []Match {
	best := map[string]int{} // dest -> index of chosen rule
	for i, r := range c.Rules {
		if !r.Enabled() || !r.matches(key, tags) {
			continue
		}
		d := r.DestBucket()
		j, ok := best[d]
		if !ok || prio(r) > prio(c.Rules[j]) {
			best[d] = i
		}
	}
	out := make([]Match, 0, len(best))
	for d, i := range best {
		r := c.Rules[i]
		out = append(out, Match{RuleID: r.ID, DestBucket: d, DeleteMarkers: r.DeleteMarkers()})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].DestBucket < out[b].DestBucket })
	return out
}

func prio(r Rule) int {
	if r.Priority == nil {
		return 0
	}
	return *r.Priority
}

func (r Rule) matches(key string, tags map[string]string) bool {
	if r.Prefix != nil {
		return strings.HasPrefix(key, *r.Prefix)
	}
	f := r.Filter
	if f == nil {
		return true
	}
	switch {
	case f.Prefix != nil:
		return strings.HasPrefix(key, *f.Prefix)
	case f.Tag != nil:
		return tags[f.Tag.Key] == f.Tag.Value && hasKey(tags, f.Tag.Key)
	case f.And != nil:
		if f.And.Prefix != nil && !strings.HasPrefix(key, *f.And.Prefix) {
			return false
		}
		for _, t := range f.And.Tags {
			if v, ok := tags[t.Key]; !ok || v != t.Value {
				return false
			}
		}
		return true
	}
	return true
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
