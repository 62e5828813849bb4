package exo2_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"sos/internal/auth/exo2"
)

// Signatures below were computed outside Go, from the documented algorithm:
//
//	printf 'METHOD PATH\nBODY\nQUERYVALUES\n\nEXPIRES' | openssl dgst -sha256 -hmac SECRET -binary | base64
//
// The first one is the example of Exoscale's API documentation.
var exo2Vectors = []struct {
	name, method, url, body, key, secret string
	expires                              int64
	header                               string
}{
	{
		name: "documented example, query sorted", method: "GET",
		url: "https://api-ch-gva-2.exoscale.com/v2/resource/a02baf5a-a3e4-49a0-857b-8a08d276c1c0?p2=v2&p1=v1",
		key: "example-key", secret: "example-secret", expires: 1599140767,
		header: "EXO2-HMAC-SHA256 credential=example-key,signed-query-args=p1;p2,expires=1599140767,signature=vPVxcXrf2my0TLdJ8WPIGa/vLld+FiJN+xtMs/vofHg=",
	},
	{
		name: "POST with body", method: "POST", url: "http://127.0.0.1:8080/v2/iam-role",
		body: `{"name":"replication","policy":{"default-service-strategy":"deny","services":{}}}`,
		key:  "EXOroot", secret: "Zm9vYmFyc2VjcmV0", expires: 1700000000,
		header: "EXO2-HMAC-SHA256 credential=EXOroot,expires=1700000000,signature=J4vSvgoeMG7IRLEqeYNdY08K4/SHXK9eFAPtmeU9PKA=",
	},
	{
		name: "PUT policy subresource", method: "PUT",
		url:  "http://127.0.0.1:8080/v2/iam-role/0f8e1c1e-3c5b-4a47-9d8a-2f4b1f0a9e11:policy",
		body: `{"default-service-strategy":"allow","services":{}}`,
		key:  "EXOroot", secret: "Zm9vYmFyc2VjcmV0", expires: 1700000600,
		header: "EXO2-HMAC-SHA256 credential=EXOroot,expires=1700000600,signature=EVZ3oOB0xUCqo/cudB9eP2Uuqt5DZiAfLmGuhu3jcbk=",
	},
	{
		name: "escaped query values are signed decoded", method: "GET",
		url: "http://127.0.0.1:8080/v2/sos-buckets-usage?zone=ch-dk-2&name=ab%20c",
		key: "K", secret: "k", expires: 1700000000,
		header: "EXO2-HMAC-SHA256 credential=K,signed-query-args=name;zone,expires=1700000000,signature=fFMPzdlre5bWYyNmThPDltTntTjGzy2I732zGkCkD3c=",
	},
	{
		name: "DELETE without body", method: "DELETE",
		url: "http://127.0.0.1:8080/v2/api-key/EXOabcdefghijklmnopqrstuvwx",
		key: "EXOk", secret: "another-secret", expires: 1893456000,
		header: "EXO2-HMAC-SHA256 credential=EXOk,expires=1893456000,signature=y/FFunnkHivYiKcfqOMqizEKfK5GnEuaricoBhRxtgY=",
	},
}

func TestSignVectors(t *testing.T) {
	for _, v := range exo2Vectors {
		t.Run(v.name, func(t *testing.T) {
			req, err := http.NewRequest(v.method, v.url, strings.NewReader(v.body))
			if err != nil {
				t.Fatal(err)
			}
			var body []byte
			if v.body != "" {
				body = []byte(v.body)
			}
			if err := exo2.Sign(req, body, v.key, v.secret, time.Unix(v.expires, 0)); err != nil {
				t.Fatal(err)
			}
			if got := req.Header.Get("Authorization"); got != v.header {
				t.Errorf("Authorization:\n got %s\nwant %s", got, v.header)
			}
		})
	}
}

func verify(t *testing.T, req *http.Request, body string, now time.Time, secrets map[string]string) (string, error) {
	t.Helper()
	return exo2.Verify(req, []byte(body), exo2.VerifyOptions{
		Now: now,
		Secret: func(k string) (string, bool) {
			s, ok := secrets[k]
			return s, ok
		},
	})
}

func TestVerifyVectors(t *testing.T) {
	for _, v := range exo2Vectors {
		t.Run(v.name, func(t *testing.T) {
			req, _ := http.NewRequest(v.method, v.url, nil)
			req.Header.Set("Authorization", v.header)
			now := time.Unix(v.expires, 0).Add(-time.Minute)
			key, err := verify(t, req, v.body, now, map[string]string{v.key: v.secret})
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if key != v.key {
				t.Errorf("key = %q, want %q", key, v.key)
			}
		})
	}
}

func TestVerifyRefusals(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	secrets := map[string]string{"EXOgood": "good-secret"}
	signed := func(method, url, body string, expires time.Time) *http.Request {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := exo2.Sign(req, []byte(body), "EXOgood", "good-secret", expires); err != nil {
			t.Fatal(err)
		}
		return req
	}
	soon := now.Add(10 * time.Minute)
	cases := []struct {
		name string
		req  func() *http.Request
		body string
		want string
	}{
		{"expired", func() *http.Request {
			return signed("GET", "http://h/v2/zone", "", now.Add(-time.Second))
		}, "", "signature expired at 2030-01-01T11:59:59Z"},
		{"expires exactly now", func() *http.Request {
			return signed("GET", "http://h/v2/zone", "", now)
		}, "", "signature expired at"},
		{"too far ahead", func() *http.Request {
			return signed("GET", "http://h/v2/zone", "", now.Add(48*time.Hour))
		}, "", "more than 10m0s ahead"},
		{"ahead by more than the clock skew allowed", func() *http.Request {
			return signed("GET", "http://h/v2/zone", "", now.Add(exo2.DefaultMaxAhead+exo2.ClockSkew+time.Second))
		}, "", "check the client's clock"},
		{"tampered body", func() *http.Request {
			return signed("POST", "http://h/v2/api-key", `{"name":"a","role-id":"x"}`, soon)
		}, `{"name":"b","role-id":"x"}`, "signature does not match"},
		{"tampered path", func() *http.Request {
			r := signed("DELETE", "http://h/v2/api-key/EXOa", "", soon)
			r.URL.Path = "/v2/api-key/EXOb"
			return r
		}, "", "signature does not match"},
		{"tampered method", func() *http.Request {
			r := signed("GET", "http://h/v2/api-key/EXOa", "", soon)
			r.Method = "DELETE"
			return r
		}, "", "signature does not match"},
		{"tampered query value", func() *http.Request {
			r := signed("GET", "http://h/v2/x?a=1", "", soon)
			r.URL.RawQuery = "a=2"
			return r
		}, "", "signature does not match"},
		{"unsigned query argument added", func() *http.Request {
			r := signed("GET", "http://h/v2/x?a=1", "", soon)
			r.URL.RawQuery = "a=1&b=2"
			return r
		}, "", `query argument "b" is not covered`},
		{"tampered expiry", func() *http.Request {
			r := signed("GET", "http://h/v2/zone", "", soon)
			h := r.Header.Get("Authorization")
			r.Header.Set("Authorization", strings.Replace(h,
				"expires="+strconv.FormatInt(soon.Unix(), 10), "expires="+strconv.FormatInt(soon.Unix()+60, 10), 1))
			return r
		}, "", "signature does not match"},
		{"unknown key", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://h/v2/zone", nil)
			exo2.Sign(r, nil, "EXOnobody", "whatever", soon)
			return r
		}, "", `unknown API key "EXOnobody"`},
		{"wrong secret", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://h/v2/zone", nil)
			exo2.Sign(r, nil, "EXOgood", "bad-secret", soon)
			return r
		}, "", "signature does not match"},
		{"no header", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://h/v2/zone", nil)
			return r
		}, "", "missing Authorization header"},
		{"other scheme", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://h/v2/zone", nil)
			r.Header.Set("Authorization", "Bearer abc")
			return r
		}, "", `unsupported authorization scheme "Bearer"`},
		{"no signature", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://h/v2/zone", nil)
			r.Header.Set("Authorization", "EXO2-HMAC-SHA256 credential=EXOgood,expires=1893456000")
			return r
		}, "", "signature is missing"},
		{"garbage expiry", func() *http.Request {
			r, _ := http.NewRequest("GET", "http://h/v2/zone", nil)
			r.Header.Set("Authorization", "EXO2-HMAC-SHA256 credential=EXOgood,expires=soon,signature=AA==")
			return r
		}, "", "is not a unix timestamp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := verify(t, c.req(), c.body, now, secrets)
			var ae *exo2.Error
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *exo2.Error", err)
			}
			if !strings.Contains(ae.Message, c.want) {
				t.Errorf("message %q does not contain %q", ae.Message, c.want)
			}
		})
	}
}

// FuzzVerify feeds arbitrary Authorization headers, paths and bodies:
// verification never panics, and what it accepts is a well-formed header
// naming the key it reports.
func FuzzVerify(f *testing.F) {
	for _, v := range exo2Vectors {
		f.Add(v.header, "/v2/zone", v.body)
	}
	f.Add("EXO2-HMAC-SHA256 credential=,,,=", "/", "")
	f.Add("EXO2-HMAC-SHA256 credential=K,signed-query-args=;;,expires=-1,signature=", "/v2/x?a=1&a=2", "{}")
	now := time.Unix(1599140000, 0)
	f.Fuzz(func(t *testing.T, header, target, body string) {
		req, err := http.NewRequest("GET", "http://h/", nil)
		if err != nil {
			t.Skip()
		}
		if u, err := req.URL.Parse(target); err == nil {
			req.URL = u
		}
		req.Header.Set("Authorization", header)
		key, err := exo2.Verify(req, []byte(body), exo2.VerifyOptions{
			Now:    now,
			Secret: func(string) (string, bool) { return "s", true },
		})
		if err == nil {
			// Accepted: it must be exactly what Sign produces for this request.
			h, perr := exo2.ParseHeader(header)
			if perr != nil || h.Credential != key {
				t.Fatalf("accepted a header that does not parse: %q", header)
			}
		}
	})
}

// Each signature is accepted once while it is valid; a new signature for
// the same request (a later expiry) is accepted, and the memory of old
// signatures is dropped once they expire.
func TestReplaysAreRefused(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	replays := exo2.NewReplays()
	verify := func(req *http.Request, at time.Time) error {
		_, err := exo2.Verify(req, nil, exo2.VerifyOptions{Now: at, Replays: replays,
			Secret: func(k string) (string, bool) { return "good-secret", k == "EXOgood" }})
		return err
	}
	sign := func(expires time.Time, secret string) *http.Request {
		req, _ := http.NewRequest("DELETE", "http://h/v2/api-key/EXOa", nil)
		if err := exo2.Sign(req, nil, "EXOgood", secret, expires); err != nil {
			t.Fatal(err)
		}
		return req
	}
	first := sign(now.Add(10*time.Minute), "good-secret")
	if err := verify(first, now); err != nil {
		t.Fatalf("first use: %v", err)
	}
	replayed := sign(now.Add(10*time.Minute), "good-secret")
	var xe *exo2.Error
	if err := verify(replayed, now.Add(time.Second)); !errors.As(err, &xe) || xe.Code != exo2.CodeSignatureReused || !strings.Contains(xe.Message, "already used") {
		t.Fatalf("replay: %v", err)
	}
	// A bad signature is not remembered, so it cannot block the real one.
	if err := verify(sign(now.Add(11*time.Minute), "bad-secret"), now); err == nil {
		t.Fatal("bad secret accepted")
	}
	if err := verify(sign(now.Add(11*time.Minute), "good-secret"), now); err != nil {
		t.Fatalf("re-signed: %v", err)
	}
	if n := replays.Len(); n != 2 {
		t.Fatalf("%d signatures remembered, want 2", n)
	}
	// A read may be sent again (a client polls an operation with one GET
	// per 100 ms): it is not remembered.
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest("GET", "http://h/v2/operation/x", nil)
		exo2.Sign(req, nil, "EXOgood", "good-secret", now.Add(10*time.Minute))
		if err := verify(req, now); err != nil {
			t.Fatalf("GET #%d: %v", i, err)
		}
	}
	// Both have expired an hour later: a new request prunes them.
	if err := verify(sign(now.Add(70*time.Minute), "good-secret"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := replays.Len(); n != 1 {
		t.Fatalf("%d signatures remembered after expiry, want 1", n)
	}
}

// Expiries are whole seconds d ahead, and strictly increasing within one
// second.
func TestExpiries(t *testing.T) {
	var e exo2.Expiries
	now := time.Date(2030, 1, 1, 12, 0, 0, 500, time.UTC)
	a, b := e.Next(now, 10*time.Minute), e.Next(now, 10*time.Minute)
	if !a.Equal(now.Add(10*time.Minute).Truncate(time.Second)) || !b.Equal(a.Add(time.Second)) {
		t.Fatalf("expiries %v, %v", a, b)
	}
	if c := e.Next(now.Add(time.Minute), 10*time.Minute); !c.Equal(a.Add(time.Minute)) {
		t.Fatalf("a minute later: %v", c)
	}
}
