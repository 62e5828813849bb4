package server

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
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
	return nil
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
