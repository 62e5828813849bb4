package s3api

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"sos/internal/meta"
	"sos/internal/object"
	"sos/internal/s3err"
)

const (
	seedComplete   = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"a54357aff0632cce46d942af68356b38"</ETag><PartNumber>1</PartNumber></Part><Part><ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>`
	seedDelete     = `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a.txt</Key></Object><Object><Key>b/c</Key><VersionId>0000000000001-ch-dk-2</VersionId></Object><Quiet>true</Quiet></Delete>`
	seedVersioning = `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>`
	seedTagging    = `<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>project</Key><Value>sos</Value></Tag><Tag><Key>env</Key><Value></Value></Tag></TagSet></Tagging>`
)

// isCleanError checks that a parser error maps to a 4xx S3 error.
func isCleanError(t *testing.T, err error) {
	t.Helper()
	se, known := toS3Error(err)
	if !known || se.Status < 400 || se.Status > 599 || se.Message == "" {
		t.Fatalf("error %v maps to %+v (known %v)", err, se, known)
	}
}

func TestParseComplete(t *testing.T) {
	parts, err := parseCompleteMultipart(strings.NewReader(seedComplete))
	if err != nil || len(parts) != 2 || parts[1].Number != 2 || parts[0].ETag != `"a54357aff0632cce46d942af68356b38"` {
		t.Fatalf("%v %+v", err, parts)
	}
	for _, bad := range []string{"", "<CompleteMultipartUpload>", "<CompleteMultipartUpload></CompleteMultipartUpload>",
		"<Other><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></Other>",
		"<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
		"<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
		"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
		"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>"} {
		_, err := parseCompleteMultipart(strings.NewReader(bad))
		if !errors.Is(err, errMalformedXML) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParseDelete(t *testing.T) {
	quiet, entries, err := parseDelete(strings.NewReader(seedDelete))
	if err != nil || !quiet || len(entries) != 2 || entries[1].VersionID != "0000000000001-ch-dk-2" || entries[1].Key != "b/c" {
		t.Fatalf("%v %v %+v", err, quiet, entries)
	}
	var b strings.Builder
	b.WriteString("<Delete>")
	for i := 0; i <= maxDeleteKeys; i++ {
		fmt.Fprintf(&b, "<Object><Key>k%d</Key></Object>", i)
	}
	b.WriteString("</Delete>")
	_, _, err = parseDelete(strings.NewReader(b.String()))
	if se, _ := toS3Error(err); se.Code != s3err.MalformedXML || !strings.Contains(se.Message, "at most 1000") {
		t.Fatalf("1001 keys: %v", err)
	}
	for _, bad := range []string{"<Delete><Object></Object></Delete>", "<Delete></Delete>", "<Delete><Quiet>maybe</Quiet><Object><Key>a</Key></Object></Delete>", "<Delete><Object><Key>a</Key>"} {
		if _, _, err := parseDelete(strings.NewReader(bad)); !errors.Is(err, errMalformedXML) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParseVersioning(t *testing.T) {
	v, err := parseVersioning(strings.NewReader(seedVersioning))
	if err != nil || v != meta.Enabled {
		t.Fatal(v, err)
	}
	v, err = parseVersioning(strings.NewReader(`<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>`))
	if err != nil || v != meta.Suspended {
		t.Fatal(v, err)
	}
	for _, bad := range []string{"<VersioningConfiguration><Status>On</Status></VersioningConfiguration>", "<VersioningConfiguration/>", "nope"} {
		if _, err := parseVersioning(strings.NewReader(bad)); !errors.Is(err, errMalformedXML) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParseTagging(t *testing.T) {
	tags, err := parseTagging(strings.NewReader(seedTagging))
	if err != nil || tags["project"] != "sos" || len(tags) != 2 {
		t.Fatal(tags, err)
	}
	dup := `<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>`
	if _, err := parseTagging(strings.NewReader(dup)); !errors.Is(err, s3err.New(s3err.InvalidTag, "")) {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("<Tagging><TagSet>")
	for i := 0; i < 11; i++ {
		fmt.Fprintf(&b, "<Tag><Key>k%d</Key><Value>v</Value></Tag>", i)
	}
	b.WriteString("</TagSet></Tagging>")
	if _, err := parseTagging(strings.NewReader(b.String())); !errors.Is(err, s3err.New(s3err.InvalidTag, "")) {
		t.Fatal(err)
	}
	if _, err := parseTagging(strings.NewReader("<Tagging><TagSet><Tag><Key>" + strings.Repeat("k", 129) + "</Key></Tag></TagSet></Tagging>")); !errors.Is(err, s3err.New(s3err.InvalidTag, "")) {
		t.Fatal(err)
	}
}

func TestParseRangeAndCopySource(t *testing.T) {
	for in, want := range map[string]string{
		"bytes=0-9": "0 9 0", "bytes=5-": "5 -1 0", "bytes=-3": "0 0 3",
		"bytes=9-1": "none", "bytes=a-b": "none", "bytes=0-1,3-4": "none", "items=0-1": "none", "bytes=-0": "none",
	} {
		r, ok := parseRange(in)
		got := "none"
		if ok {
			got = fmt.Sprintf("%d %d %d", r.First, r.Last, r.Suffix)
		}
		if got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
	cs, err := parseCopySource("/src-bucket/dir/a%20b%3Fc?versionId=v1")
	if err != nil || cs.Bucket != "src-bucket" || cs.Key != "dir/a b?c" || cs.VersionID != "v1" {
		t.Fatalf("%+v %v", cs, err)
	}
	for _, bad := range []string{"", "bucket", "/bucket/", "Bad_Bucket/k", "b/k?versionId=", "b/k?other=1", "b/%zz"} {
		if _, err := parseCopySource(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else {
			isCleanError(t, err)
		}
	}
}

func TestBucketNames(t *testing.T) {
	for _, ok := range []string{"abc", "my-bucket.v2", "a1b", strings.Repeat("a", 63)} {
		if err := checkBucketName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"ab", strings.Repeat("a", 64), "Abc", "a_b", "-ab", "ab-", "a..b", "192.168.1.1", "a.-b"} {
		if err := checkBucketName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// The reason is bucketname's; the error is S3's, naming the bucket.
	err := checkBucketName("a.-b")
	var se *s3err.Error
	if !errors.As(err, &se) || se.Code != s3err.InvalidBucketName || se.BucketName != "a.-b" ||
		se.Message != `The specified bucket is not valid: bucket name "a.-b" must not hold a period next to a hyphen.` {
		t.Errorf("checkBucketName(a.-b) = %#v", err)
	}
}

func FuzzParseCompleteMultipart(f *testing.F) {
	f.Add([]byte(seedComplete))
	f.Add([]byte("<CompleteMultipartUpload><Part><PartNumber>99999999999999999999</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>"))
	f.Add([]byte("<CompleteMultipartUpload>" + strings.Repeat("<Part>", 40)))
	f.Add([]byte("<CompleteMultipartUpload><Part a='1' b='2'><ETag>1</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload><!-- -->"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, err := parseCompleteMultipart(bytes.NewReader(data))
		if err != nil {
			isCleanError(t, err)
			return
		}
		if int64(len(data)) > completeLimits.Bytes || len(parts) > object.MaxPartNumber {
			t.Fatalf("accepted %d bytes, %d parts", len(data), len(parts))
		}
		for _, p := range parts {
			if p.Number < 1 || p.Number > 10000 || p.ETag == "" {
				t.Fatalf("accepted %+v", p)
			}
		}
	})
}

func FuzzParseDelete(f *testing.F) {
	f.Add([]byte(seedDelete))
	f.Add([]byte("<Delete><Object><Key>../../etc/passwd</Key></Object></Delete>"))
	f.Add([]byte("<Delete><Object><Key><a><b><c>k</c></b></a></Key></Object></Delete>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, entries, err := parseDelete(bytes.NewReader(data))
		if err != nil {
			isCleanError(t, err)
			return
		}
		if len(entries) == 0 || len(entries) > maxDeleteKeys {
			t.Fatalf("accepted %d entries", len(entries))
		}
	})
}

func FuzzParseVersioning(f *testing.F) {
	f.Add([]byte(seedVersioning))
	f.Add([]byte("<VersioningConfiguration><Status>Suspended</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseVersioning(bytes.NewReader(data))
		if err != nil {
			isCleanError(t, err)
			return
		}
		if v != meta.Enabled && v != meta.Suspended {
			t.Fatalf("accepted %q", v)
		}
	})
}

func FuzzParseTagging(f *testing.F) {
	f.Add([]byte(seedTagging))
	f.Add([]byte("<Tagging><TagSet><Tag><Key>\xff</Key><Value>v</Value></Tag></TagSet></Tagging>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tags, err := parseTagging(bytes.NewReader(data))
		if err != nil {
			isCleanError(t, err)
			return
		}
		if len(tags) > 10 {
			t.Fatalf("accepted %d tags", len(tags))
		}
	})
}
