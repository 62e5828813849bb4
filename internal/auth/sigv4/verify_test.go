package sigv4

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func newSignedRequest(t testing.TB, method, target string, body []byte, hdr map[string]string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	if err := Sign(r, testCreds, testSignOptions(hashHex(body))); err != nil {
		t.Fatal(err)
	}
	return r
}

func verifyRead(r *http.Request, o Options) (*Result, []byte, error) {
	res, err := Verify(context.Background(), r, o)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

// TestSignMatchesSDK signs the same request with Sign and with the SDK's
// signer and compares the Authorization headers.
func TestSignMatchesSDK(t *testing.T) {
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	for _, key := range awkwardKeys {
		ours, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:9001/bucket/"+uriEncode(key, true)+"?list-type=2&prefix=a%20b&delimiter=%2F", nil)
		if err != nil {
			t.Fatal(err)
		}
		ours.Header.Set("Range", "bytes=0-9")
		ours.Header.Set("X-Amz-Meta-A", " x  y ")
		theirs := ours.Clone(context.Background())
		if err := Sign(ours, testCreds, testSignOptions(EmptySHA256)); err != nil {
			t.Fatal(err)
		}
		theirs.Header.Set("X-Amz-Content-Sha256", EmptySHA256)
		creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret, SessionToken: testToken}
		if err := signer.SignHTTP(context.Background(), creds, theirs, EmptySHA256, "s3", testZone, testNow); err != nil {
			t.Fatal(err)
		}
		sig := func(h string) string { return h[strings.LastIndex(h, "Signature=")+len("Signature="):] }
		if a, b := sig(ours.Header.Get("Authorization")), sig(theirs.Header.Get("Authorization")); a != b {
			t.Fatalf("%q: our signature %s, SDK %s\nours:   %s\ntheirs: %s", key, a, b, ours.Header.Get("Authorization"), theirs.Header.Get("Authorization"))
		}
	}
}

func TestSignAndPresignRoundTrip(t *testing.T) {
	for _, key := range awkwardKeys {
		u := "http://127.0.0.1:9001/bucket/" + url.PathEscape(key) + "?versionId=abc+def&uploads"
		body := []byte("body of " + key)
		r := newSignedRequest(t, http.MethodPut, u, body, map[string]string{"X-Amz-Meta-K": "v", "Content-Type": "text/plain"})
		res, got, err := verifyRead(r, testOptions())
		if err != nil || !bytes.Equal(got, body) || res.SessionToken != testToken {
			t.Fatalf("%q: Sign/Verify: %v, %q", key, err, got)
		}
		if r.URL.EscapedPath() != canonicalURI(r.URL) {
			t.Fatalf("%q: wire path %s differs from the signed %s", key, r.URL.EscapedPath(), canonicalURI(r.URL))
		}

		get, _ := http.NewRequest(http.MethodGet, u, nil)
		p, err := Presign(get, testCreds, time.Hour, testSignOptions(""))
		if err != nil {
			t.Fatal(err)
		}
		pr, err := http.NewRequest(http.MethodGet, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := testOptions()
		res, err = Verify(context.Background(), pr, o)
		if err != nil || !res.Presigned || res.SessionToken != testToken {
			t.Fatalf("%q: Presign/Verify %s: %v", key, p, err)
		}
		if pr.URL.Path != get.URL.Path {
			t.Fatalf("presigned path %q, want %q", pr.URL.Path, get.URL.Path)
		}
		o.Now = func() time.Time { return testNow.Add(time.Hour + time.Second) }
		if _, err := Verify(context.Background(), pr, o); !errors.Is(err, ErrRequestExpired) {
			t.Fatalf("expired presigned URL: err = %v", err)
		}
	}
}

func TestTampering(t *testing.T) {
	body := []byte("original body")
	base := func() *http.Request {
		return newSignedRequest(t, http.MethodPut, "http://127.0.0.1:9001/bucket/key?tagging=x", body,
			map[string]string{"X-Amz-Meta-Owner": "alice", "Content-Type": "text/plain"})
	}
	if _, _, err := verifyRead(base(), testOptions()); err != nil {
		t.Fatalf("untampered: %v", err)
	}
	cases := []struct {
		name   string
		edit   func(r *http.Request)
		target error
	}{
		{"method", func(r *http.Request) { r.Method = http.MethodPost }, ErrSignatureDoesNotMatch},
		{"path", func(r *http.Request) { r.URL.Path, r.URL.RawPath = "/bucket/other", "" }, ErrSignatureDoesNotMatch},
		{"path case", func(r *http.Request) { r.URL.Path, r.URL.RawPath = "/bucket/Key", "" }, ErrSignatureDoesNotMatch},
		{"query value", func(r *http.Request) { r.URL.RawQuery = "tagging=y" }, ErrSignatureDoesNotMatch},
		{"query added", func(r *http.Request) { r.URL.RawQuery += "&versionId=1" }, ErrSignatureDoesNotMatch},
		{"signed header", func(r *http.Request) { r.Header.Set("X-Amz-Meta-Owner", "mallory") }, ErrSignatureDoesNotMatch},
		{"content type", func(r *http.Request) { r.Header.Set("Content-Type", "text/html") }, ErrSignatureDoesNotMatch},
		{"host", func(r *http.Request) { r.Host = "127.0.0.1:9002" }, ErrSignatureDoesNotMatch},
		{"unsigned x-amz header", func(r *http.Request) { r.Header.Set("X-Amz-Copy-Source", "/other/secret") }, ErrUnsignedHeaders},
		{"declared payload hash", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", hashHex([]byte("other"))) }, ErrSignatureDoesNotMatch},
		{"payload", func(r *http.Request) { setBody(r, []byte("tampered body")) }, ErrContentSHA256Mismatch},
		{"payload truncated", func(r *http.Request) { setBody(r, body[:3]) }, ErrContentSHA256Mismatch},
		{"date", func(r *http.Request) { r.Header.Set("X-Amz-Date", testNow.Add(time.Second).Format(amzDateFormat)) }, ErrSignatureDoesNotMatch},
		{"no date", func(r *http.Request) { r.Header.Del("X-Amz-Date") }, ErrMissingDateHeader},
		{"bad date", func(r *http.Request) { r.Header.Set("X-Amz-Date", "yesterday") }, ErrMissingDateHeader},
		// Signed with the header among SignedHeaders: without it, the
		// canonical request differs.
		{"no content sha", func(r *http.Request) { r.Header.Del("X-Amz-Content-Sha256") }, ErrSignatureDoesNotMatch},
		{"bad content sha", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "STREAMING-FOO") }, ErrInvalidContentSHA256},
		{"both auth kinds", func(r *http.Request) { r.URL.RawQuery += "&X-Amz-Signature=00" }, ErrAuthorizationQueryParametersError},
		{"sigv2", func(r *http.Request) { r.Header.Set("Authorization", "AWS AKID:c2lnbmF0dXJl") }, ErrUnsupportedAlgorithm},
		{"two authorization headers", func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }, ErrAuthorizationHeaderMalformed},
		{"other secret", func(r *http.Request) {
			if err := Sign(r, Credentials{AccessKey: testAccessKey, Secret: "wrong", SessionToken: testToken}, testSignOptions(hashHex(body))); err != nil {
				t.Fatal(err)
			}
		}, ErrSignatureDoesNotMatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.edit(r)
			_, _, err := verifyRead(r, testOptions())
			if !errors.Is(err, tc.target) {
				t.Fatalf("err = %v, want %v", err, tc.target)
			}
		})
	}
}

func TestClockSkew(t *testing.T) {
	r := newSignedRequest(t, http.MethodGet, "http://127.0.0.1:9001/bucket/key", nil, nil)
	for _, d := range []time.Duration{-15 * time.Minute, 15 * time.Minute, 0} {
		o := testOptions()
		o.Now = func() time.Time { return testNow.Add(d) }
		if _, _, err := verifyRead(r, o); err != nil {
			t.Fatalf("skew %s: %v", d, err)
		}
	}
	for _, d := range []time.Duration{-16 * time.Minute, 16 * time.Minute, 24 * time.Hour} {
		o := testOptions()
		o.Now = func() time.Time { return testNow.Add(d) }
		if _, _, err := verifyRead(r, o); !errors.Is(err, ErrRequestTimeTooSkewed) {
			t.Fatalf("skew %s: err = %v, want ErrRequestTimeTooSkewed", d, err)
		}
	}
	o := testOptions()
	o.MaxSkew = time.Minute
	o.Now = func() time.Time { return testNow.Add(2 * time.Minute) }
	if _, _, err := verifyRead(r, o); !errors.Is(err, ErrRequestTimeTooSkewed) {
		t.Fatalf("MaxSkew 1m: err = %v", err)
	}
}

func TestDateHeaderFallback(t *testing.T) {
	// A request dated by Date alone (no X-Amz-Date) is accepted, as in the
	// PUT Object example; here signed by hand.
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9001/bucket/key", nil)
	r.Header.Set("Date", testNow.Format(http.TimeFormat))
	r.Header.Set("X-Amz-Content-Sha256", EmptySHA256)
	signed := []string{"date", "host", "x-amz-content-sha256"}
	day := testNow.Format(scopeDateFormat)
	creq := canonicalRequest("GET", "/bucket/key", "", canonicalHeaders(r, signed), signed, EmptySHA256)
	sig := signString(signingKey(testSecret, day, testZone, "s3"), stringToSign(testNow.Format(amzDateFormat), scope(day, testZone, "s3"), creq))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=OTHER/"+scope(day, testZone, "s3")+", SignedHeaders=date;host;x-amz-content-sha256, Signature="+sig)
	keys := &keyring{secrets: map[string]string{"OTHER": testSecret}}
	o := testOptions()
	o.Secrets = keys
	if _, _, err := verifyRead(r, o); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if len(keys.asked) != 1 || keys.asked[0] != "OTHER|" {
		t.Fatalf("Secrets asked %v, want the key with an empty token", keys.asked)
	}
}

func TestWrongRegionAndService(t *testing.T) {
	r := newSignedRequest(t, http.MethodGet, "http://127.0.0.1:9001/bucket/key", nil, nil)
	o := testOptions()
	o.Region = "at-vie-1"
	_, _, err := verifyRead(r, o)
	var wr *WrongRegionError
	if !errors.As(err, &wr) || !errors.Is(err, ErrAuthorizationHeaderMalformed) || wr.Expected != "at-vie-1" ||
		!strings.Contains(err.Error(), "expecting 'at-vie-1'") {
		t.Fatalf("err = %v", err)
	}

	get, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9001/bucket/key", nil)
	p, err := Presign(get, testCreds, time.Minute, testSignOptions(""))
	if err != nil {
		t.Fatal(err)
	}
	pr, _ := http.NewRequest(http.MethodGet, p, nil)
	if _, err := Verify(context.Background(), pr, o); !errors.As(err, &wr) || !errors.Is(err, ErrAuthorizationQueryParametersError) {
		t.Fatalf("presigned: err = %v", err)
	}

	o = testOptions()
	o.Service = "iam"
	if _, _, err := verifyRead(r, o); !errors.Is(err, ErrAuthorizationHeaderMalformed) {
		t.Fatalf("service: err = %v", err)
	}
}

func TestPresignedErrors(t *testing.T) {
	get, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9001/bucket/key", nil)
	p, err := Presign(get, testCreds, time.Hour, testSignOptions(""))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(q url.Values)) *http.Request {
		u, _ := url.Parse(p)
		q := u.Query()
		f(q)
		u.RawQuery = q.Encode()
		r, _ := http.NewRequest(http.MethodGet, u.String(), nil)
		return r
	}
	cases := []struct {
		name   string
		edit   func(q url.Values)
		target error
	}{
		{"expires over a week", func(q url.Values) { q.Set("X-Amz-Expires", "604801") }, ErrAuthorizationQueryParametersError},
		{"expires negative", func(q url.Values) { q.Set("X-Amz-Expires", "-1") }, ErrAuthorizationQueryParametersError},
		{"expires not a number", func(q url.Values) { q.Set("X-Amz-Expires", "soon") }, ErrAuthorizationQueryParametersError},
		{"expires changed", func(q url.Values) { q.Set("X-Amz-Expires", "7200") }, ErrSignatureDoesNotMatch},
		{"missing signature", func(q url.Values) { q.Del("X-Amz-Signature") }, ErrAuthorizationQueryParametersError},
		{"bad algorithm", func(q url.Values) { q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA1") }, ErrUnsupportedAlgorithm},
		{"bad credential", func(q url.Values) { q.Set("X-Amz-Credential", "nope") }, ErrAuthorizationQueryParametersError},
		{"bad date", func(q url.Values) { q.Set("X-Amz-Date", "2026-03-01") }, ErrAuthorizationQueryParametersError},
		{"token changed", func(q url.Values) { q.Set("X-Amz-Security-Token", "other") }, ErrInvalidToken},
		{"extra parameter", func(q url.Values) { q.Set("response-content-type", "text/html") }, ErrSignatureDoesNotMatch},
		{"unknown key", func(q url.Values) {
			q.Set("X-Amz-Credential", strings.Replace(q.Get("X-Amz-Credential"), testAccessKey, "NOPE", 1))
		}, ErrInvalidAccessKeyID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Verify(context.Background(), edit(tc.edit), testOptions()); !errors.Is(err, tc.target) {
				t.Fatalf("err = %v, want %v", err, tc.target)
			}
		})
	}
	if _, err := Presign(get, testCreds, 8*24*time.Hour, testSignOptions("")); err == nil {
		t.Fatal("Presign accepted 8 days")
	}
}

func TestAnonymous(t *testing.T) {
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9001/bucket/key?x-id=GetObject", nil)
	keys := testKeys()
	o := testOptions()
	o.Secrets = keys
	res, err := Verify(context.Background(), r, o)
	if err != nil || !res.Anonymous || res.AccessKey != "" {
		t.Fatalf("anonymous: %+v, %v", res, err)
	}
	if len(keys.asked) != 0 {
		t.Fatalf("Secrets was asked %v for an anonymous request", keys.asked)
	}
	// A declared payload hash is still checked.
	r, _ = http.NewRequest(http.MethodPut, "http://127.0.0.1:9001/bucket/key", strings.NewReader("data"))
	r.Header.Set("X-Amz-Content-Sha256", hashHex([]byte("other")))
	if _, _, err := verifyRead(r, o); !errors.Is(err, ErrContentSHA256Mismatch) {
		t.Fatalf("anonymous with a wrong hash: err = %v", err)
	}
	r, _ = http.NewRequest(http.MethodGet, "http://127.0.0.1:9001/bucket/key?AWSAccessKeyId=AK&Signature=x&Expires=1", nil)
	if _, err := Verify(context.Background(), r, o); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Fatalf("sigv2 presigned: err = %v", err)
	}
}

func TestParseAuthorization(t *testing.T) {
	good := "AWS4-HMAC-SHA256 Credential=AK/20260301/ch-dk-2/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("ab", 32)
	a, err := parseAuthorization(good)
	if err != nil {
		t.Fatal(err)
	}
	if a.Credential != (credential{"AK", "20260301", "ch-dk-2", "s3"}) || strings.Join(a.SignedHeaders, ";") != "host;x-amz-date" {
		t.Fatalf("parsed %+v", a)
	}
	bad := []string{
		"",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256 Credential=AK/20260301/ch-dk-2/s3/aws4_request, SignedHeaders=host",
		"AWS4-HMAC-SHA256 Credential=AK/20260301/ch-dk-2/s3, SignedHeaders=host, Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=/20260301/ch-dk-2/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=AK/2026-03-01/ch-dk-2/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=AK/20260301/ch-dk-2/s3/aws4_request, SignedHeaders=x-amz-date, Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=AK/20260301/ch-dk-2/s3/aws4_request, SignedHeaders=host;;a, Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=AK/20260301/ch-dk-2/s3/aws4_request, SignedHeaders=host, Signature=xyz",
		"AWS4-HMAC-SHA256 Credential=AK/20260301/ch-dk-2/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("ab", 32) + ", Extra=1",
		"AWS4-HMAC-SHA256 Credential=AK/20260301/ch-dk-2/s3/aws4_request, Credential=AK/20260301/ch-dk-2/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("ab", 32),
	}
	for _, v := range bad {
		if _, err := parseAuthorization(v); !errors.Is(err, ErrAuthorizationHeaderMalformed) {
			t.Errorf("parseAuthorization(%q) = %v, want ErrAuthorizationHeaderMalformed", v, err)
		}
	}
	for _, v := range []string{"AWS AK:sig", "AWS4-ECDSA-P256-SHA256 Credential=x", "Bearer token"} {
		if _, err := parseAuthorization(v); !errors.Is(err, ErrUnsupportedAlgorithm) {
			t.Errorf("parseAuthorization(%q) = %v, want ErrUnsupportedAlgorithm", v, err)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	cases := map[string]string{
		"":                          "",
		"lifecycle":                 "lifecycle=",
		"prefix=J&max-keys=2":       "max-keys=2&prefix=J",
		"a=2&a=1&b":                 "a=1&a=2&b=",
		"k=a+b%2Bc":                 "k=a%20b%2Bc",
		"k=%7e%2a":                  "k=~%2A",
		"x=a%2Fb&x=a-b":             "x=a%2Fb&x=a-b", // sorted after encoding
		"X-Amz-Signature=s&a=1":     "a=1",
		"bad=%zz":                   "bad=%25zz",
		"&&x=1&":                    "x=1",
		"%E6%97%A5=%E6%9C%AC&u=%C3": "%E6%97%A5=%E6%9C%AC&u=%C3", // a lone byte stays one byte
	}
	for in, want := range cases {
		if got := canonicalQuery(in, "X-Amz-Signature"); got != want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalURI(t *testing.T) {
	cases := map[string]string{
		"http://h":                  "/",
		"http://h/":                 "/",
		"http://h/b/test$file.text": "/b/test%24file.text",
		"http://h/b/a%20b+c":        "/b/a%20b%2Bc",
		"http://h/b/a%2Fb/c":        "/b/a%2Fb/c",
		"http://h/b/../x/./y":       "/b/../x/./y",
		"http://h/b/%C3%BC~":        "/b/%C3%BC~",
		"http://h/b//double":        "/b//double",
	}
	for in, want := range cases {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := canonicalURI(u); got != want {
			t.Errorf("canonicalURI(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNoContentSHA256Header: a header-signed request that does not send
// x-amz-content-sha256 (curl 7.88's --aws-sigv4) signed the SHA-256 of its
// body; it is verified against the body it actually carries, at once when
// it has none, else at the body's end (Result.SignatureAtEOF).
func TestNoContentSHA256Header(t *testing.T) {
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret, SessionToken: testToken}
	signed := func(method string, body []byte, signedHash string) *http.Request {
		r, err := http.NewRequest(method, "http://127.0.0.1:9001/bucket/key", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := signer.SignHTTP(context.Background(), creds, r, signedHash, "s3", testZone, testNow); err != nil {
			t.Fatal(err)
		}
		if r.Header.Get("X-Amz-Content-Sha256") != "" {
			t.Fatal("the SDK's signer sent x-amz-content-sha256: this test needs a request without it")
		}
		return r
	}
	body := []byte("a body curl hashed")

	res, got, err := verifyRead(signed(http.MethodGet, nil, EmptySHA256), testOptions())
	if err != nil || res.SignatureAtEOF || len(got) != 0 {
		t.Fatalf("bodiless GET: %v %+v", err, res)
	}
	if _, err := Verify(context.Background(), signed(http.MethodGet, nil, hashHex([]byte("x"))), testOptions()); !errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Fatalf("bodiless GET signed over another hash: err = %v", err)
	}

	res, got, err = verifyRead(signed(http.MethodPut, body, hashHex(body)), testOptions())
	if err != nil || !res.SignatureAtEOF || !bytes.Equal(got, body) || res.AccessKey != testAccessKey {
		t.Fatalf("PUT with body: %v %+v %q", err, res, got)
	}
	for name, edit := range map[string]func(r *http.Request){
		"body replaced":  func(r *http.Request) { setBody(r, []byte("a body curl hashes not")) },
		"body truncated": func(r *http.Request) { setBody(r, body[:4]) },
		"other secret": func(r *http.Request) {
			other := creds
			other.SecretAccessKey = "wrong"
			// A signer of its own: the SDK's caches signing keys per key ID.
			if err := v4.NewSigner().SignHTTP(context.Background(), other, r, hashHex(body), "s3", testZone, testNow); err != nil {
				t.Fatal(err)
			}
		},
	} {
		r := signed(http.MethodPut, body, hashHex(body))
		edit(r)
		res, err := Verify(context.Background(), r, testOptions())
		if err != nil {
			t.Fatalf("%s: refused before the body: %v", name, err)
		}
		if _, err := io.ReadAll(res.Body); !errors.Is(err, ErrSignatureDoesNotMatch) {
			t.Errorf("%s: final read err = %v, want ErrSignatureDoesNotMatch", name, err)
		}
	}
	// curl -T signs the empty payload whatever it streams: authenticated
	// at once, the body as unsigned as with UNSIGNED-PAYLOAD.
	res, got, err = verifyRead(signed(http.MethodPut, body, EmptySHA256), testOptions())
	if err != nil || res.SignatureAtEOF || res.ContentSHA256 != UnsignedPayload || !bytes.Equal(got, body) {
		t.Fatalf("PUT signed over the empty payload: %v %+v %q", err, res, got)
	}
	// An unknown key is refused before the body, as always.
	r := signed(http.MethodPut, body, hashHex(body))
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), testAccessKey, "AKIDUNKNOWN000000000", 1))
	if _, err := Verify(context.Background(), r, testOptions()); !errors.Is(err, ErrInvalidAccessKeyID) {
		t.Fatalf("unknown key: err = %v", err)
	}
}
