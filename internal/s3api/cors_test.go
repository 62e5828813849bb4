package s3api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestBucketCORS puts, gets and deletes CORS configurations with the SDK,
// and sees every bad configuration refused with S3's code and words.
func TestBucketCORS(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("web", false)

	_, err := e.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")})
	wantCode(t, err, "NoSuchCORSConfiguration")
	_, err = e.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("nowhere")})
	wantCode(t, err, "NoSuchBucket")

	cfg := &types.CORSConfiguration{CORSRules: []types.CORSRule{
		{ID: aws.String("upload"), AllowedOrigins: []string{"https://app.example.com", "https://*.example.org"},
			AllowedMethods: []string{"PUT", "POST"}, AllowedHeaders: []string{"*"},
			ExposeHeaders: []string{"ETag", "x-amz-version-id"}, MaxAgeSeconds: aws.Int32(3000)},
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET", "HEAD"}},
	}}
	if _, err := e.s3.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("web"), CORSConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	got, err := e.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.CORSRules) != 2 || aws.ToString(got.CORSRules[0].ID) != "upload" || aws.ToInt32(got.CORSRules[0].MaxAgeSeconds) != 3000 ||
		strings.Join(got.CORSRules[0].AllowedOrigins, " ") != "https://app.example.com https://*.example.org" ||
		strings.Join(got.CORSRules[0].ExposeHeaders, " ") != "ETag x-amz-version-id" ||
		strings.Join(got.CORSRules[1].AllowedMethods, " ") != "GET HEAD" || got.CORSRules[1].MaxAgeSeconds != nil || got.CORSRules[1].ID != nil {
		t.Fatalf("GetBucketCors = %+v", got.CORSRules)
	}

	rule := func(mod func(*types.CORSRule)) *types.CORSConfiguration {
		r := types.CORSRule{AllowedOrigins: []string{"https://a.example"}, AllowedMethods: []string{"GET"}}
		mod(&r)
		return &types.CORSConfiguration{CORSRules: []types.CORSRule{r}}
	}
	many := &types.CORSConfiguration{}
	for i := range 101 {
		many.CORSRules = append(many.CORSRules, types.CORSRule{ID: aws.String(fmt.Sprint(i)), AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}})
	}
	for name, c := range map[string]struct {
		cfg        *types.CORSConfiguration
		code, word string
	}{
		"two wildcards":      {rule(func(r *types.CORSRule) { r.AllowedOrigins = []string{"https://*.*.example"} }), "InvalidRequest", "more than one wildcard"},
		"header wildcards":   {rule(func(r *types.CORSRule) { r.AllowedHeaders = []string{"x-*-*"} }), "InvalidRequest", "x-*-*"},
		"expose wildcard":    {rule(func(r *types.CORSRule) { r.ExposeHeaders = []string{"*"} }), "InvalidRequest", "ExposeHeader"},
		"unsupported method": {rule(func(r *types.CORSRule) { r.AllowedMethods = []string{"PATCH"} }), "InvalidRequest", "PATCH"},
		"lower-case method":  {rule(func(r *types.CORSRule) { r.AllowedMethods = []string{"get"} }), "InvalidRequest", "unsupported HTTP method"},
		"negative max age":   {rule(func(r *types.CORSRule) { r.MaxAgeSeconds = aws.Int32(-1) }), "InvalidRequest", "MaxAgeSeconds"},
		"101 rules":          {many, "MalformedXML", "at most 100"},
	} {
		_, err := e.s3.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("web"), CORSConfiguration: c.cfg})
		wantCode(t, err, c.code)
		if !strings.Contains(err.Error(), c.word) {
			t.Errorf("%s: message does not say %q: %v", name, c.word, err)
		}
	}
	// Raw bodies: malformed XML, a bad MaxAgeSeconds, a wrong Content-MD5.
	for name, c := range map[string]struct {
		body   string
		hdr    map[string]string
		status int
		code   string
	}{
		"malformed": {"<CORSConfiguration><CORSRule>", nil, 400, "MalformedXML"},
		// The SDK refuses to send these three.
		"no AllowedMethod": {"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>", nil, 400, "MalformedXML"},
		"no AllowedOrigin": {"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>", nil, 400, "MalformedXML"},
		"no rules":         {"<CORSConfiguration></CORSConfiguration>", nil, 400, "MalformedXML"},
		"empty":            {"", nil, 400, "MalformedXML"},
		"max age word":     {"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>soon</MaxAgeSeconds></CORSRule></CORSConfiguration>", nil, 400, "MalformedXML"},
		"bad md5": {"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
			map[string]string{"Content-Md5": "1B2M2Y8AsgTpgAmY7PhCfg=="}, 400, "BadDigest"},
	} {
		resp, body := e.rootRaw(http.MethodPut, "/web?cors", []byte(c.body), c.hdr)
		t.Run(name, func(t *testing.T) {
			wantRawError(t, resp, body, c.status, c.code)
			if w := map[string]string{"no AllowedMethod": "has no AllowedMethod", "no AllowedOrigin": "has no AllowedOrigin", "no rules": "at least one CORSRule"}[name]; !strings.Contains(string(body), w) {
				t.Errorf("message does not say %q: %s", w, body)
			}
		})
	}
	// Nothing bad was stored.
	if got, err := e.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")}); err != nil || len(got.CORSRules) != 2 {
		t.Fatalf("after the refusals: %v %v", got, err)
	}

	if _, err := e.s3.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")})
	wantCode(t, err, "NoSuchCORSConfiguration")
	if _, err := e.s3.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String("web")}); err != nil {
		t.Fatalf("deleting no configuration: %v", err)
	}
	// The reader role may not write CORS rules (operation put-bucket-cors).
	_, err = e.client(readerKey, readerSec, "").PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("web"), CORSConfiguration: cfg})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "put-bucket-cors") {
		t.Errorf("denial does not name put-bucket-cors: %v", err)
	}
}

// TestCORSPreflightAndHeaders: OPTIONS preflights answered from the rules
// without credentials, and the CORS headers on actual requests (anonymous
// or signed, errors included) from an allowed origin.
func TestCORSPreflightAndHeaders(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.mkBucket("web", false)
	e.mkBucket("plain", false)
	e.put("web", "a.txt", "hello")

	opt := func(path string, hdr map[string]string) (*http.Response, []byte) {
		return e.raw(http.MethodOptions, path, nil, hdr, "", "")
	}
	// Before any rule: CORS is not enabled.
	resp, body := opt("/web/a.txt", map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
	wantRawError(t, resp, body, 403, "AccessForbidden")
	if !strings.Contains(string(body), "CORS is not enabled") {
		t.Errorf("preflight without rules: %s", body)
	}

	cfg := &types.CORSConfiguration{CORSRules: []types.CORSRule{
		{AllowedOrigins: []string{"https://app.example.com", "https://*.example.org"},
			AllowedMethods: []string{"PUT", "POST"}, AllowedHeaders: []string{"content-type", "x-amz-*"},
			ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(600)},
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET", "HEAD"}},
	}}
	if _, err := e.s3.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("web"), CORSConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, path, origin, method, headers string
		status                              int
		code, msg                           string
		want                                map[string]string
	}{
		{name: "put from the app", path: "/web/up.bin", origin: "https://app.example.com", method: "PUT", headers: "Content-Type, X-Amz-Date",
			status: 200, want: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Methods": "PUT, POST",
				"Access-Control-Allow-Headers": "Content-Type, X-Amz-Date", "Access-Control-Max-Age": "600", "Access-Control-Expose-Headers": "ETag",
				"Access-Control-Allow-Credentials": "true", "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"}},
		{name: "wildcard origin", path: "/web", origin: "https://cdn.example.org", method: "POST", status: 200,
			want: map[string]string{"Access-Control-Allow-Origin": "https://cdn.example.org", "Access-Control-Allow-Methods": "PUT, POST"}},
		{name: "any origin GET", path: "/web/a.txt", origin: "https://elsewhere.test", method: "GET", status: 200,
			want: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD", "Access-Control-Allow-Credentials": "",
				"Access-Control-Max-Age": ""}},
		{name: "method not allowed for origin", path: "/web/a.txt", origin: "https://elsewhere.test", method: "PUT", status: 403, code: "AccessForbidden", msg: "not allowed"},
		{name: "header not allowed", path: "/web/a.txt", origin: "https://app.example.com", method: "PUT", headers: "x-custom", status: 403, code: "AccessForbidden"},
		{name: "wildcard needs a subdomain", path: "/web", origin: "https://example.org", method: "PUT", status: 403, code: "AccessForbidden"},
		{name: "no origin", path: "/web/a.txt", method: "GET", status: 400, code: "BadRequest", msg: "Origin"},
		{name: "no method", path: "/web/a.txt", origin: "https://app.example.com", status: 400, code: "BadRequest", msg: "Access-Control-Request-Method"},
		{name: "bad method", path: "/web/a.txt", origin: "https://app.example.com", method: "PATCH", status: 400, code: "BadRequest", msg: "PATCH"},
		{name: "missing bucket", path: "/nowhere/a.txt", origin: "https://app.example.com", method: "GET", status: 403, code: "AccessForbidden", msg: "Bucket not found"},
		{name: "bucket without rules", path: "/plain", origin: "https://app.example.com", method: "GET", status: 403, code: "AccessForbidden", msg: "not enabled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			if c.origin != "" {
				hdr["Origin"] = c.origin
			}
			if c.method != "" {
				hdr["Access-Control-Request-Method"] = c.method
			}
			if c.headers != "" {
				hdr["Access-Control-Request-Headers"] = c.headers
			}
			resp, body := opt(c.path, hdr)
			if c.code != "" {
				wantRawError(t, resp, body, c.status, c.code)
				if !strings.Contains(string(body), c.msg) {
					t.Errorf("message does not say %q: %s", c.msg, body)
				}
				if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
					t.Errorf("refused preflight allows origin %q", v)
				}
				return
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			for k, v := range c.want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}

	// Actual requests: anonymous GET (refused: not public) still carries
	// the headers; a signed GET and a signed error (NoSuchKey) too; an
	// origin no rule allows gets none.
	resp, body = e.raw(http.MethodGet, "/web/a.txt", nil, map[string]string{"Origin": "https://elsewhere.test"}, "", "")
	wantRawError(t, resp, body, 403, "AccessDenied")
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Vary") == "" {
		t.Errorf("anonymous error without CORS headers: %v", resp.Header)
	}
	resp, body = e.rootRaw(http.MethodGet, "/web/a.txt", nil, map[string]string{"Origin": "https://elsewhere.test"})
	if resp.StatusCode != 200 || string(body) != "hello" || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		resp.Header.Get("Access-Control-Allow-Methods") != "GET, HEAD" {
		t.Errorf("signed GET: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = e.rootRaw(http.MethodPut, "/web/missing?tagging", []byte("<Tagging><TagSet/></Tagging>"), map[string]string{"Origin": "https://x.example.org"})
	wantRawError(t, resp, body, 404, "NoSuchKey")
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://x.example.org" || resp.Header.Get("Access-Control-Expose-Headers") != "ETag" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("signed error without CORS headers: %v", resp.Header)
	}
	resp, _ = e.rootRaw(http.MethodDelete, "/web/a.txt", nil, map[string]string{"Origin": "https://app.example.com"})
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("DELETE no rule allows: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = e.rootRaw(http.MethodGet, "/plain", nil, map[string]string{"Origin": "https://app.example.com"})
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("bucket without rules: %d %v", resp.StatusCode, resp.Header)
	}
}
