package bounded

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

type part struct {
	PartNumber string `xml:"PartNumber"`
	ETag       string `xml:"ETag"`
}

type complete struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []part   `xml:"Part"`
}

var testLimits = Limits{Bytes: 1 << 10, Depth: 4, Elements: 20}

func TestDecodeXML(t *testing.T) {
	var c complete
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>
<!-- a comment after the root is fine -->
`
	if err := DecodeXML(strings.NewReader(doc), &c, testLimits); err != nil {
		t.Fatal(err)
	}
	if len(c.Parts) != 1 || c.Parts[0].ETag != `"x"` || c.XMLName.Space != "http://s3.amazonaws.com/doc/2006-03-01/" {
		t.Fatalf("%+v", c)
	}
}

func TestDecodeXMLLimits(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      error
	}{
		{"empty", "", ErrEmpty},
		{"blanks", " \n\t", ErrEmpty},
		{"comment only", "<!-- nothing -->", ErrEmpty},
		{"deep", "<CompleteMultipartUpload><Part><a><b><c></c></b></a></Part></CompleteMultipartUpload>", ErrTooDeep},
		{"deep and unclosed", "<CompleteMultipartUpload>" + strings.Repeat("<Part>", 100), ErrTooDeep},
		{"many", "<CompleteMultipartUpload>" + strings.Repeat("<Part/>", 20) + "</CompleteMultipartUpload>", ErrTooMany},
		{"many attributes", `<CompleteMultipartUpload` + strings.Repeat(` a="1"`, 1) + `><Part` + strings.Repeat(` b="2"`, 1) + ` c="" d="" e="" f="" g="" h="" i="" j="" k="" l="" m="" n="" o="" p="" q="" r="" s=""/></CompleteMultipartUpload>`, ErrTooMany},
		{"large", "<CompleteMultipartUpload><Part><ETag>" + strings.Repeat("x", 2000) + "</ETag></Part></CompleteMultipartUpload>", ErrTooLarge},
		{"large after the root", "<CompleteMultipartUpload></CompleteMultipartUpload>" + strings.Repeat(" ", 2000), ErrTooLarge},
		{"second root", "<CompleteMultipartUpload></CompleteMultipartUpload><CompleteMultipartUpload/>", ErrMalformed},
		{"text after root", "<CompleteMultipartUpload></CompleteMultipartUpload>junk", ErrMalformed},
		{"unclosed", "<CompleteMultipartUpload><Part>", ErrMalformed},
		{"mismatched", "<CompleteMultipartUpload><Part></ETag></CompleteMultipartUpload>", ErrMalformed},
		{"wrong root", "<Delete></Delete>", ErrMalformed},
		{"not xml", "{\"json\": true}", ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c complete
			err := DecodeXML(strings.NewReader(tc.doc), &c, testLimits)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestDecodeXMLExactSize: a body of exactly Bytes is accepted.
func TestDecodeXMLExactSize(t *testing.T) {
	doc := "<CompleteMultipartUpload></CompleteMultipartUpload>"
	doc += strings.Repeat(" ", int(testLimits.Bytes)-len(doc))
	var c complete
	if err := DecodeXML(strings.NewReader(doc), &c, testLimits); err != nil {
		t.Fatal(err)
	}
}

// TestDecodeXMLStopsEarly: a document too deep is refused after its first
// bytes, however long the body: the rest is never read.
func TestDecodeXMLStopsEarly(t *testing.T) {
	r := &countingReader{r: strings.NewReader("<CompleteMultipartUpload>" + strings.Repeat("<Part>", 1<<20))}
	var c complete
	err := DecodeXML(r, &c, Limits{Bytes: 8 << 20, Depth: 32, Elements: 100000})
	if !errors.Is(err, ErrTooDeep) {
		t.Fatal(err)
	}
	if r.n > 64<<10 {
		t.Fatalf("read %d bytes of a body refused at depth 33", r.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestDecodeXMLReaderError: a read error of the body comes back as itself.
func TestDecodeXMLReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("<CompleteMultipartUpload><Part>"), &failing{boom})
	var c complete
	if err := DecodeXML(r, &c, testLimits); !errors.Is(err, boom) {
		t.Fatal(err)
	}
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }

func TestDecodeXMLNeedsLimits(t *testing.T) {
	var c complete
	if err := DecodeXML(strings.NewReader("<CompleteMultipartUpload/>"), &c, Limits{}); err == nil {
		t.Fatal("zero limits accepted")
	}
}

func TestCheckJSONDepth(t *testing.T) {
	for _, tc := range []struct {
		doc string
		ok  bool
	}{
		{`{"a":1}`, true},
		{`{"a":[1,2,{"b":3}]}`, true},
		{`{"a":[1,2,{"b":[3]}]}`, false},
		{`{"a":"[[[[[[[[[[[[[["}`, true},
		{`{"a":"\"[[[[[[[[[[[[[["}`, true},
		{`{"a\\":[[[[]]]]}`, false},
		{strings.Repeat("[", 1<<20), false},
	} {
		err := CheckJSONDepth([]byte(tc.doc), 3)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrTooDeep) {
			t.Errorf("%.40q: %v", tc.doc, err)
		}
	}
}

// FuzzDecodeXML: whatever the input, DecodeXML answers with one of its
// errors or a value, within its limits, and never panics.
func FuzzDecodeXML(f *testing.F) {
	for _, s := range []string{
		`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`,
		`<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part/></CompleteMultipartUpload>`,
		`<a:CompleteMultipartUpload xmlns:a="u"><a:Part><a:ETag>1</a:ETag></a:Part></a:CompleteMultipartUpload>`,
		"<CompleteMultipartUpload>" + strings.Repeat("<Part>", 40),
		`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "v">]><CompleteMultipartUpload>&e;</CompleteMultipartUpload>`,
		"", "<", "</CompleteMultipartUpload>", "<![CDATA[x]]>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c complete
		err := DecodeXML(strings.NewReader(string(data)), &c, testLimits)
		if err == nil {
			if int64(len(data)) > testLimits.Bytes {
				t.Fatalf("%d bytes accepted, the limit is %d", len(data), testLimits.Bytes)
			}
			if len(c.Parts) > testLimits.Elements {
				t.Fatalf("%d parts decoded, the limit is %d elements", len(c.Parts), testLimits.Elements)
			}
			return
		}
		n := 0
		for _, e := range []error{ErrTooLarge, ErrTooDeep, ErrTooMany, ErrEmpty, ErrMalformed} {
			if errors.Is(err, e) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("error %v wraps %d of the package's errors, want 1", err, n)
		}
	})
}

// FuzzCheckJSONDepth: the depth scan agrees with encoding/json's own
// idea of nesting on every valid document.
func FuzzCheckJSONDepth(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"]"}]}`, `[[[]]]`, `"\\"`, `{"\"":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := CheckJSONDepth(data, 3)
		if err != nil && !errors.Is(err, ErrTooDeep) {
			t.Fatal(err)
		}
		if d, ok := jsonDepth(data); ok && (d > 3) != (err != nil) {
			t.Fatalf("depth %d, CheckJSONDepth says %v", d, err)
		}
	})
}

// jsonDepth is the nesting of a valid JSON document, by encoding/json.
func jsonDepth(data []byte) (int, bool) {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return 0, false
	}
	var depth func(v any) int
	depth = func(v any) int {
		d := 0
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				d = max(d, depth(e))
			}
			return d + 1
		case []any:
			for _, e := range x {
				d = max(d, depth(e))
			}
			return d + 1
		}
		return 0
	}
	return depth(v), true
}
