package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestMetricsGate: which requests the metrics gate answers, with what,
// and which it leaves to S3, for each way of configuring it.
func TestMetricsGate(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("metrics")) })
	s3 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("s3")) })
	const tok = "t0ken"
	cases := []struct {
		name   string
		opts   MetricsOptions
		onS3   bool
		method string
		path   string
		auth   string
		status int
		body   string
	}{
		{"default: S3 listener serves none", MetricsOptions{}, true, "GET", "/metrics", "", 200, "s3"},
		{"default: a bearer is S3's too", MetricsOptions{}, true, "GET", "/metrics", "Bearer x", 200, "s3"},
		{"dev: anonymous", MetricsOptions{Anonymous: true}, true, "GET", "/metrics", "", 200, "metrics"},
		{"dev: signed is S3 (a bucket named metrics)", MetricsOptions{Anonymous: true}, true, "GET", "/metrics", "AWS4-HMAC-SHA256 Credential=x", 200, "s3"},
		{"dev: a query is S3", MetricsOptions{Anonymous: true}, true, "GET", "/metrics?list-type=2", "", 200, "s3"},
		{"dev: PUT is S3", MetricsOptions{Anonymous: true}, true, "PUT", "/metrics", "", 200, "s3"},
		{"token: anonymous is S3", MetricsOptions{Token: tok}, true, "GET", "/metrics", "", 200, "s3"},
		{"token: right", MetricsOptions{Token: tok}, true, "GET", "/metrics", "Bearer " + tok, 200, "metrics"},
		{"token: wrong", MetricsOptions{Token: tok}, true, "GET", "/metrics", "Bearer " + tok + "x", 401, "the metrics token does not match\n"},
		{"token: a prefix of it", MetricsOptions{Token: tok}, true, "GET", "/metrics", "Bearer t0k", 401, "the metrics token does not match\n"},
		{"listener without token: anonymous", MetricsOptions{Listen: "x"}, false, "GET", "/metrics", "", 200, "metrics"},
		{"listener with token: anonymous", MetricsOptions{Listen: "x", Token: tok}, false, "GET", "/metrics", "", 401, "metrics need \"Authorization: Bearer <token>\" (the zone's --metrics-token)\n"},
		{"listener with token: right", MetricsOptions{Listen: "x", Token: tok}, false, "GET", "/metrics", "Bearer " + tok, 200, "metrics"},
		{"listener: other paths", MetricsOptions{Listen: "x"}, false, "GET", "/bucket", "", 404, "this listener serves only GET /metrics\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := metricsGate{opts: c.opts, onS3: c.onS3}
			h := withMetrics(s3, metrics, g)
			if !c.onS3 {
				h = metricsOnly(metrics, g)
			}
			req := httptest.NewRequest(c.method, c.path, nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.status || rec.Body.String() != c.body {
				t.Errorf("%d %q, want %d %q", rec.Code, rec.Body.String(), c.status, c.body)
			}
		})
	}
}
