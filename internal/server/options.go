package server

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sos/internal/s3api"
)

// ZoneAddr names a zone and the address its S3 endpoint listens on (dev,
// sosd zone) or the URL clients reach it at (sosd control).
type ZoneAddr struct {
	Name string
	Addr string
}

// DefaultZones returns the zones of `sosd dev` when none are given (a new
// slice each call).
func DefaultZones() []ZoneAddr {
	return []ZoneAddr{{"ch-dk-2", "127.0.0.1:9001"}, {"at-vie-1", "127.0.0.1:9002"}}
}

// ParseZones parses repeated NAME=ADDR flags.
func ParseZones(flags []string) ([]ZoneAddr, error) {
	var out []ZoneAddr
	seen := map[string]bool{}
	for _, f := range flags {
		name, addr, ok := strings.Cut(f, "=")
		if !ok || name == "" || addr == "" {
			return nil, fmt.Errorf("--zone %q: want NAME=ADDR, e.g. ch-dk-2=127.0.0.1:9001", f)
		}
		if seen[name] {
			return nil, fmt.Errorf("--zone %s is given twice", name)
		}
		seen[name] = true
		out = append(out, ZoneAddr{Name: name, Addr: addr})
	}
	return out, nil
}

// DevOptions configure StartDev and RunDev.
type DevOptions struct {
	DataDir string     // default ".sos-dev"
	APIAddr string     // default 127.0.0.1:8080; ":0" ports are fine
	Zones   []ZoneAddr // default DefaultZones()
	// RootKey and RootSecret fix the root key; empty, the control plane
	// makes one and keeps it in its data folder.
	RootKey, RootSecret string
	// Out receives the banner (endpoints, root key, export line).
	Out    io.Writer
	Logger *slog.Logger
	// TLS serves every listener over HTTPS with a given certificate.
	TLS TLSOptions
	// GenerateTLS (--tls) makes a local CA and a certificate for
	// 127.0.0.1 and localhost in the data folder (reused on restart),
	// serves every listener over HTTPS with it and trusts that CA; it
	// replaces TLS's certificate and CA files.
	GenerateTLS bool
	// Limits bound the S3 requests of each zone.
	Limits RequestLimits
}

// ControlOptions configure RunControl.
type ControlOptions struct {
	DataDir     string
	Listen      string
	APIEndpoint string     // URL clients use; default http://Listen (https:// with TLS)
	Zones       []ZoneAddr // zone name = S3 URL (or host:port)
	RootKey     string
	RootSecret  string
	Out         io.Writer
	Logger      *slog.Logger
	TLS         TLSOptions
}

// ZoneOptions configure RunZone.
type ZoneOptions struct {
	Name       string
	Listen     string
	DataDir    string
	ControlURL string
	Token      string
	// Domains are host names for virtual-host style requests (a port is ignored);
	// the listen address is always one.
	Domains []string
	Logger  *slog.Logger
	TLS     TLSOptions
	// Metrics says who may read /metrics (default: nobody, see
	// MetricsOptions).
	Metrics MetricsOptions
	Limits  RequestLimits
}

// RequestLimits bound what the S3 requests of a zone may hold at once (see
// s3api.Limits); a zero field takes its default.
type RequestLimits struct {
	// MaxRequests (--max-requests) is how many S3 requests a zone serves
	// at once (s3api.DefaultMaxRequests); one more is answered at once
	// with 503 SlowDown. GET /metrics and /health do not count.
	MaxRequests int
	// ReadTimeout (--read-timeout) is how long a client may take to send
	// a request's headers, and how long it may go silent while it sends
	// a body (s3api.DefaultBodyIdleTimeout): then 400 RequestTimeout and
	// the connection is closed. An upload that keeps sending never times
	// out, however long it takes.
	ReadTimeout time.Duration
}

func (l RequestLimits) check() error {
	if l.MaxRequests < 0 {
		return fmt.Errorf("--max-requests %d: give a positive number (or 0 for %d)", l.MaxRequests, s3api.DefaultMaxRequests)
	}
	if l.ReadTimeout < 0 {
		return fmt.Errorf("--read-timeout %s: give a positive duration (or 0 for %s)", l.ReadTimeout, s3api.DefaultBodyIdleTimeout)
	}
	return nil
}

// s3Limits are l for s3api, counting refusals in refused.
func (l RequestLimits) s3Limits(refused *prometheus.CounterVec) s3api.Limits {
	return s3api.Limits{
		MaxRequests: l.MaxRequests, BodyIdleTimeout: l.ReadTimeout,
		OnLimit: func(limit string) { refused.WithLabelValues(limit).Inc() },
	}
}

// readHeaderTimeout is the http.Server ReadHeaderTimeout of a zone.
func (l RequestLimits) readHeaderTimeout() time.Duration {
	if l.ReadTimeout > 0 {
		return l.ReadTimeout
	}
	return s3api.DefaultBodyIdleTimeout
}

func (o ZoneOptions) check() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"--name", o.Name}, {"--listen", o.Listen}, {"--data", o.DataDir}, {"--control", o.ControlURL}, {"--token", o.Token},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("sosd zone needs %s", strings.Join(missing, ", "))
	}
	return o.Limits.check()
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// httpURL makes a URL of a host:port (or returns a URL unchanged).
func httpURL(addr string) string {
	if strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://") {
		return strings.TrimSuffix(addr, "/")
	}
	return "http://" + addr
}
