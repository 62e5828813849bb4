package server

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// MetricsOptions say who may read a zone's Prometheus metrics, which name
// every replicated bucket, rule and destination.
//
//   - Listen, when set, is a listener of its own that serves only
//     GET /metrics (over TLS when the zone has a certificate), for a
//     monitoring network.
//   - Token, when set, is a bearer token: GET /metrics with
//     "Authorization: Bearer TOKEN" is answered on the S3 listener and on
//     Listen; without it, or with another token, 401.
//   - Anonymous serves GET /metrics without a token on the S3 listener, as
//     `sosd dev` does.
//
// With none of them (the default of `sosd zone`) the S3 listener serves no
// metrics: GET /metrics there is S3, a listing of a bucket named metrics.
type MetricsOptions struct {
	Listen    string
	Token     string
	Anonymous bool
}

// metricsGate decides the metrics requests of one listener. onS3 is true
// for the S3 listener, where every request that is not for the metrics is
// S3's.
type metricsGate struct {
	opts MetricsOptions
	onS3 bool
}

// serve answers r when it is a metrics request and reports whether it
// did.
func (g metricsGate) serve(w http.ResponseWriter, r *http.Request, metrics http.Handler) bool {
	if r.URL.Path != "/metrics" || r.Method != http.MethodGet || r.URL.RawQuery != "" {
		return false
	}
	auth := r.Header.Get("Authorization")
	bearer, isBearer := strings.CutPrefix(auth, "Bearer ")
	switch {
	case isBearer && g.opts.Token != "":
		// S3 never authorizes with a bearer token: this is for us.
		if subtle.ConstantTimeCompare([]byte(bearer), []byte(g.opts.Token)) != 1 {
			http.Error(w, "the metrics token does not match", http.StatusUnauthorized)
			return true
		}
	case auth == "" && (g.opts.Anonymous || (!g.onS3 && g.opts.Token == "")):
		// Anonymous where configured, and on a metrics listener without
		// a token (the operator's monitoring network).
	case !g.onS3:
		w.Header().Set("WWW-Authenticate", `Bearer realm="sos metrics"`)
		http.Error(w, "metrics need \"Authorization: Bearer <token>\" (the zone's --metrics-token)", http.StatusUnauthorized)
		return true
	default:
		return false // S3's: a bucket named metrics, or an unsigned request it refuses
	}
	metrics.ServeHTTP(w, r)
	return true
}

// withMetrics serves the metrics requests that g lets through and
// everything else as S3.
func withMetrics(s3, metrics http.Handler, g metricsGate) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.serve(w, r, metrics) {
			return
		}
		s3.ServeHTTP(w, r)
	})
}

// metricsOnly is the handler of a metrics listener.
func metricsOnly(metrics http.Handler, g metricsGate) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.serve(w, r, metrics) {
			http.Error(w, "this listener serves only GET /metrics", http.StatusNotFound)
		}
	})
}
