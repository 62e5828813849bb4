package cli

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"sos/internal/s3client"
)

func TestParseSOSURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		bare bool
		want sosURL
		bad  bool
	}{
		{in: "sos://my-source", want: sosURL{Bucket: "my-source"}},
		{in: "sos://my-source/", want: sosURL{Bucket: "my-source"}},
		{in: "sos://b-1/a/b/c.json", want: sosURL{Bucket: "b-1", Key: "a/b/c.json"}},
		{in: "sos://b-1/dir/", want: sosURL{Bucket: "b-1", Key: "dir/"}},
		{in: "my-source", bare: true, want: sosURL{Bucket: "my-source"}},
		{in: "my-source", bad: true},
		{in: "s3://x/y", bare: true, bad: true},
		{in: "sos://", bad: true},
		{in: "sos:///key", bad: true},
		{in: "sos://Upper", bad: true},
		{in: "sos://ab", bad: true},
		// S3's other rules (bucketname.Check), which the CLI once let through.
		{in: "sos://-ab/k", bad: true},
		{in: "sos://a.-b/k", bad: true},
		{in: "sos://192.168.5.4/k", bad: true},
		{in: "sos://xn--abc", bad: true},
	} {
		got, err := parseSOSURL(tc.in, tc.bare)
		if tc.bad {
			var ue usageError
			if !errors.As(err, &ue) {
				t.Errorf("parseSOSURL(%q) = %+v, %v, want a usage error", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseSOSURL(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestBucketNameReason(t *testing.T) {
	_, err := parseSOSURL("sos://a.-b/k", false)
	if want := `bucket name "a.-b" must not hold a period next to a hyphen`; err == nil || err.Error() != want {
		t.Errorf("parseSOSURL(sos://a.-b/k) = %v, want %s", err, want)
	}
}

func keys(items []uploadItem) []string {
	var ks []string
	for _, it := range items {
		ks = append(ks, it.Key)
	}
	sort.Strings(ks)
	return ks
}

func TestPlanUpload(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, f := range []string{"up/config.json", "up/policy.json", "up/sub/deep.txt", "a.json", "b.json"} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	u := func(s string) sosURL {
		v, err := parseSOSURL(s, false)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name    string
		srcs    []string
		dst     string
		rec     bool
		want    []string
		wantErr bool
	}{
		{"trailing slash uploads the contents", []string{"./up/"}, "sos://bkt/", true, []string{"config.json", "policy.json", "sub/deep.txt"}, false},
		{"no slash uploads the folder", []string{"./up"}, "sos://bkt/", true, []string{"up/config.json", "up/policy.json", "up/sub/deep.txt"}, false},
		{"dot uploads the contents", []string{"."}, "sos://bkt/in", true, []string{"in/a.json", "in/b.json", "in/up/config.json", "in/up/policy.json", "in/up/sub/deep.txt"}, false},
		{"folder under a prefix", []string{"up"}, "sos://bkt/x/y/", true, []string{"x/y/up/config.json", "x/y/up/policy.json", "x/y/up/sub/deep.txt"}, false},
		{"several files to a bucket", []string{"a.json", "b.json"}, "sos://bkt", false, []string{"a.json", "b.json"}, false},
		{"several files to a prefix without slash", []string{"a.json", "b.json"}, "sos://bkt/p", false, []string{"p/a.json", "p/b.json"}, false},
		{"one file to a key", []string{"a.json"}, "sos://bkt/renamed.json", false, []string{"renamed.json"}, false},
		{"one file to a prefix", []string{"up/config.json"}, "sos://bkt/dir/", false, []string{"dir/config.json"}, false},
		{"a directory needs -r", []string{"up"}, "sos://bkt/", false, nil, true},
		{"a missing file", []string{"nope"}, "sos://bkt/", false, nil, true},
		{"two sources, one key", []string{"a.json", "up/../a.json"}, "sos://bkt/", false, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, err := planUpload(osFS{}, tc.srcs, u(tc.dst), tc.rec)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %v", keys(items))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := keys(items); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("keys %v, want %v", got, tc.want)
			}
			for _, it := range items {
				fi, err := os.Stat(it.Local)
				if err != nil || fi.Size() != it.Size {
					t.Errorf("%s: local file %s size %d: %v", it.Key, it.Local, it.Size, err)
				}
			}
		})
	}
}

func TestPlanDownload(t *testing.T) {
	objs := []listEntry{{Key: "dir/a.txt", Size: 1}, {Key: "dir/sub/b.txt", Size: 2}, {Key: "dir/sub/", Size: 0}}
	got, err := planDownload(sosURL{Bucket: "b", Key: "dir/"}, objs, "out", true, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []downloadItem{{Key: "dir/a.txt", Local: filepath.Join("out", "a.txt"), Size: 1}, {Key: "dir/sub/b.txt", Local: filepath.Join("out", "sub", "b.txt"), Size: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("contents: %+v", got)
	}
	got, _ = planDownload(sosURL{Bucket: "b", Key: "dir"}, objs[:1], "out", true, true)
	if got[0].Local != filepath.Join("out", "dir", "a.txt") {
		t.Fatalf("folder: %+v", got)
	}
	got, _ = planDownload(sosURL{Bucket: "b", Key: "dir/a.txt"}, objs[:1], "back.json", false, false)
	if got[0].Local != "back.json" {
		t.Fatalf("one file: %+v", got)
	}
	got, _ = planDownload(sosURL{Bucket: "b", Key: "dir/a.txt"}, objs[:1], "there/", false, false)
	if got[0].Local != filepath.Join("there", "a.txt") {
		t.Fatalf("into a folder: %+v", got)
	}
	if _, err := planDownload(sosURL{Bucket: "b"}, []listEntry{{Key: "../../etc/passwd"}}, "out", true, true); err == nil {
		t.Fatal("a key escaping the destination was accepted")
	}
	if _, err := planDownload(sosURL{Bucket: "b"}, []listEntry{{Key: "/abs"}}, "out", true, true); err == nil {
		t.Fatal("an absolute key was accepted")
	}
}

func TestDeniedError(t *testing.T) {
	decided := func(msg, bucket, key, op, role, reason string) *s3client.Error {
		return &s3client.Error{Code: "AccessDenied", Message: msg, StatusCode: 403, BucketName: bucket, Key: key,
			DeniedOperation: op, DeniedRole: role, DeniedReason: reason}
	}
	for _, tc := range []struct {
		e        *s3client.Error
		op, what string
		want     string
	}{
		{decided("Access Denied: put-object on bucket my-destination, key a/b.json is not allowed (role replication-x: no rule of services.sos matches put-object on bucket my-destination key a/b.json).",
			"my-destination", "a/b.json", "put-object", "replication-x", "no rule of services.sos matches put-object on bucket my-destination key a/b.json"), "", "",
			"access denied: role replication-x does not allow put-object on my-destination/a/b.json (no rule of services.sos matches put-object on bucket my-destination key a/b.json)"},
		{decided("Access Denied: list-buckets is not allowed (role r: service sos is not listed: default-service-strategy deny).",
			"", "", "list-buckets", "r", "service sos is not listed: default-service-strategy deny"), "", "",
			"access denied: role r does not allow list-buckets (service sos is not listed: default-service-strategy deny)"},
		{decided("Access Denied: get-object on bucket b, key k is not allowed (unknown access key \"EXOx\").", "b", "k", "get-object", "", `unknown access key "EXOx"`), "", "",
			`access denied: get-object on b/k is not allowed (unknown access key "EXOx")`},
		// The words come from the fields, whatever the message says.
		{decided("Access Denied.", "b", "k", "delete-object", "r", "rule services.sos.rules[2] denies"), "", "",
			"access denied: role r does not allow delete-object on b/k (rule services.sos.rules[2] denies)"},
		{decided("Forbidden by the zone in other words", "b", "", "list-objects", "", ""), "", "",
			"access denied: list-objects on b is not allowed"},
		{&s3client.Error{StatusCode: 403}, "head-object", "b/k", "access denied: head-object on b/k is not allowed for this API key"},
		{nil, "head-object", "b/k", "access denied: head-object on b/k is not allowed for this API key"},
		{&s3client.Error{Code: "AccessDenied", Message: "Anonymous requests are not allowed: sign the request."}, "", "b", "access denied: Anonymous requests are not allowed: sign the request."},
	} {
		if got := deniedError(tc.e, tc.op, tc.what).Error(); got != tc.want {
			t.Errorf("deniedError(%+v)\n got %q\nwant %q", tc.e, got, tc.want)
		}
	}
}

func TestTakenError(t *testing.T) {
	b := bucketRef{Name: "demo", Zone: zoneInfo{Name: "at-vie-1"}}
	for _, tc := range []struct{ code, region, want string }{
		{"BucketAlreadyExists", "ch-dk-2", "bucket demo already exists in zone ch-dk-2 (bucket names are shared by all zones): choose another name, or use that bucket with --zone ch-dk-2"},
		{"BucketAlreadyOwnedByYou", "", "bucket demo already exists in zone at-vie-1: see it with `sos storage show sos://demo`, or choose another name"},
		{"BucketAlreadyOwnedByYou", "at-vie-1", "bucket demo already exists in zone at-vie-1: see it with `sos storage show sos://demo`, or choose another name"},
		{"BucketAlreadyExists", "", "the bucket name demo is already taken (bucket names are shared by all zones): choose another name"},
	} {
		if got := takenError(tc.code, tc.region, b).Error(); got != tc.want {
			t.Errorf("takenError(%s, %q)\n got %q\nwant %q", tc.code, tc.region, got, tc.want)
		}
	}
}

// TestTakenZoneIsAField: the zone that holds a taken name comes from the
// answer's X-Amz-Bucket-Region, whatever the message says.
func TestTakenZoneIsAField(t *testing.T) {
	b := bucketRef{Name: "demo", Zone: zoneInfo{Name: "at-vie-1"}}
	for _, msg := range []string{"The requested bucket name is not available.", "Bucket already exists: the name demo is taken in zone xx-yy-9."} {
		err := s3Error(&s3client.Error{Code: "BucketAlreadyExists", Message: msg, StatusCode: 409, Region: "ch-dk-2"}, b, "")
		want := "bucket demo already exists in zone ch-dk-2 (bucket names are shared by all zones): choose another name, or use that bucket with --zone ch-dk-2"
		if err == nil || err.Error() != want {
			t.Errorf("message %q: got %v\nwant %s", msg, err, want)
		}
	}
}
