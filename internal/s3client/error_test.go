package s3client

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

func TestErrorFromResponse(t *testing.T) {
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	for _, c := range []struct {
		name   string
		status int
		header http.Header
		body   string
		want   Error
	}{
		{"xml", 404, hdr("X-Amz-Bucket-Region", "ch-dk-2"),
			`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><RequestId>r1</RequestId></Error>`,
			Error{Op: "op", Code: "NoSuchBucket", Message: "The specified bucket does not exist", StatusCode: 404, Region: "ch-dk-2", RequestID: "r1"}},
		{"request id header wins", 403, hdr("X-Amz-Request-Id", "h1"), `<Error><Code>AccessDenied</Code><Message>no</Message><RequestId>b1</RequestId></Error>`,
			Error{Op: "op", Code: "AccessDenied", Message: "no", StatusCode: 403, RequestID: "h1"}},
		{"a decided denial", 403, hdr("X-Amz-Bucket-Region", "ch-dk-2"),
			`<Error><Code>AccessDenied</Code><Message>Access Denied.</Message><BucketName>b</BucketName><Key>k</Key><SosOperation>put-object</SosOperation><SosRole>r</SosRole><SosReason>no rule matches</SosReason></Error>`,
			Error{Op: "op", Code: "AccessDenied", Message: "Access Denied.", StatusCode: 403, Region: "ch-dk-2", BucketName: "b", Key: "k",
				DeniedOperation: "put-object", DeniedRole: "r", DeniedReason: "no rule matches"}},
		{"region element, no header", 409, hdr(),
			`<Error><Code>BucketAlreadyExists</Code><Message>taken</Message><BucketName>b</BucketName><Region>at-vie-1</Region></Error>`,
			Error{Op: "op", Code: "BucketAlreadyExists", Message: "taken", StatusCode: 409, Region: "at-vie-1", BucketName: "b"}},
		{"no body", 301, hdr("X-Amz-Bucket-Region", "at-vie-1"), "", Error{Op: "op", StatusCode: 301, Region: "at-vie-1"}},
		{"a proxy's page", 502, hdr(), "  <html>bad gateway</html>\n", Error{Op: "op", StatusCode: 502, Message: "<html>bad gateway</html>"}},
		{"another XML document", 500, hdr(), "<Oops><Code>X</Code></Oops>", Error{Op: "op", StatusCode: 500, Message: "<Oops><Code>X</Code></Oops>"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := errorFromResponse("op", &http.Response{StatusCode: c.status, Header: c.header}, []byte(c.body))
			if *got != c.want {
				t.Errorf("got %+v\nwant %+v", *got, c.want)
			}
		})
	}
	long := errorFromResponse("op", &http.Response{StatusCode: 500, Header: http.Header{}}, []byte(strings.Repeat("é", 600)))
	if len(long.Message) > 520 || !strings.HasSuffix(long.Message, "…") || !strings.HasPrefix(long.Message, "éé") {
		t.Errorf("a long body is clipped at a character: %d bytes %q…", len(long.Message), long.Message[:10])
	}
}

func TestErrorWords(t *testing.T) {
	for _, c := range []struct {
		e     Error
		words string
		fault smithy.ErrorFault
	}{
		{Error{Code: "NoSuchKey", Message: "gone", StatusCode: 404}, "NoSuchKey: gone", smithy.FaultClient},
		{Error{Code: "InternalError", StatusCode: 500}, "InternalError", smithy.FaultServer},
		{Error{Message: "odd", StatusCode: 502}, "odd", smithy.FaultServer},
		{Error{StatusCode: 301}, "HTTP Moved Permanently", smithy.FaultUnknown},
	} {
		if got := c.e.Error(); got != c.words {
			t.Errorf("%+v: Error() = %q, want %q", c.e, got, c.words)
		}
		if got := c.e.ErrorFault(); got != c.fault {
			t.Errorf("%+v: fault %v, want %v", c.e, got, c.fault)
		}
	}
}

func TestDenied(t *testing.T) {
	for _, c := range []struct {
		e    Error
		want string
	}{
		{Error{DeniedOperation: "put-object", BucketName: "b", Key: "k", DeniedRole: "r", DeniedReason: "no rule matches"}, "role r does not allow put-object on b/k (no rule matches)"},
		{Error{DeniedOperation: "list-buckets", DeniedRole: "r", DeniedReason: "rule x denies"}, "role r does not allow list-buckets (rule x denies)"},
		{Error{DeniedOperation: "get-object", BucketName: "b", Key: "k", DeniedReason: "unknown access key"}, "get-object on b/k is not allowed (unknown access key)"},
		{Error{DeniedOperation: "list-objects", BucketName: "b"}, "list-objects on b is not allowed"},
		{Error{Code: "AccessDenied", Message: "Access Denied: put-object on bucket b is not allowed."}, ""},
	} {
		if got := c.e.Denied(); got != c.want {
			t.Errorf("%+v: Denied() = %q, want %q", c.e, got, c.want)
		}
	}
}

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{
		"GetBucketOwnershipControls": "get-bucket-ownership-controls",
		"HeadObject":                 "head-object",
		"ListBuckets":                "list-buckets",
		"":                           "",
	} {
		if got := kebab(in); got != want {
			t.Errorf("kebab(%q) = %q, want %q", in, got, want)
		}
	}
}
