package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"

	"sos/internal/localca"
	"sos/internal/tlsfiles"
	"sos/internal/transport"
)

// TLSOptions say how a process serves HTTPS and whom its clients trust.
type TLSOptions struct {
	// CertFile and KeyFile, both set, make every listener of the process
	// serve HTTPS with this certificate (PEM, the chain after the leaf)
	// and key; the files are re-read when they change (see
	// internal/tlsfiles). Both empty: plain HTTP.
	CertFile, KeyFile string
	// CAFile is the PEM bundle of CAs the process's clients (zone to
	// control plane, zone to zone, console to zones) verify servers
	// against; empty means the system roots.
	CAFile string
	// InsecureHTTP allows sending credentials over plain HTTP to
	// addresses other than loopback (logged as a warning at start).
	InsecureHTTP bool
	// Reload, when set, re-reads the certificate files on every value
	// (sosd sends SIGHUP here).
	Reload <-chan os.Signal
}

// hstsMaxAge is what Strict-Transport-Security says on HTTPS answers: a
// year, for the host alone (zones and the control plane may be on
// different names).
const hstsMaxAge = "max-age=31536000"

// tlsSetup is TLSOptions loaded: the certificate served (nil: plain HTTP)
// and the trust of every client of the process.
type tlsSetup struct {
	cert  *tlsfiles.Certificate
	trust *transport.Trust
}

// loadTLS loads o, logs the --insecure-http warning, and follows o.Reload
// until ctx ends.
func loadTLS(ctx context.Context, o TLSOptions, log *slog.Logger) (*tlsSetup, error) {
	s := &tlsSetup{}
	if o.CertFile != "" || o.KeyFile != "" {
		c, err := tlsfiles.Load(o.CertFile, o.KeyFile, tlsfiles.Options{Logger: log})
		if err != nil {
			return nil, err
		}
		s.cert = c
	}
	tr, err := transport.Load(transport.Options{CAFile: o.CAFile, InsecureHTTP: o.InsecureHTTP})
	if err != nil {
		return nil, err
	}
	s.trust = tr
	if o.InsecureHTTP {
		log.Warn("--insecure-http: API keys, zone tokens and temporary credentials may cross the network in clear over plain HTTP to addresses other than loopback")
	}
	if o.Reload != nil {
		go s.follow(ctx, o.Reload, log)
	}
	return s, nil
}

func (s *tlsSetup) follow(ctx context.Context, reload <-chan os.Signal, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload:
		}
		if s.cert == nil {
			log.Info("reload asked (SIGHUP): this process serves plain HTTP, there is no TLS certificate to reload")
			continue
		}
		if err := s.cert.Reload(); err != nil {
			log.Error("reload asked (SIGHUP): cannot reload the TLS certificate: serving the one loaded before", "err", err)
		}
	}
}

// scheme is how the process's listeners are reached.
func (s *tlsSetup) scheme() string {
	if s.cert != nil {
		return "https"
	}
	return "http"
}

// url makes a URL of a listener's host:port.
func (s *tlsSetup) url(addr string) string {
	return s.scheme() + "://" + addr
}

// listener wraps ln in TLS when the process serves HTTPS.
func (s *tlsSetup) listener(ln net.Listener) net.Listener {
	if s.cert == nil {
		return ln
	}
	return tls.NewListener(ln, s.cert.ServerConfig())
}

// checkServesSecrets refuses to serve, in clear on an address other than
// loopback, what carries secrets (the control plane: API v2 answers with
// new key secrets, the console's sign-in, zone snapshots).
func (s *tlsSetup) checkServesSecrets(what string, ln net.Listener) error {
	if s.cert != nil || s.trust.InsecureHTTP() {
		return nil
	}
	host, _, err := net.SplitHostPort(ln.Addr().String())
	if err == nil && transport.Loopback(host) {
		return nil
	}
	return fmt.Errorf("%s would serve API keys and secrets in clear over plain HTTP on %s, which is not a loopback address: give --tls-cert and --tls-key, or allow it with --insecure-http",
		what, ln.Addr())
}

// withHSTS tells browsers to keep to HTTPS on answers sent over it.
func withHSTS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", hstsMaxAge)
		}
		h.ServeHTTP(w, r)
	})
}

// devTLSDir is where `sosd dev --tls` keeps its CA and certificate.
const devTLSDir = "tls"

// devCertificates makes (or reuses) the local CA and a server certificate
// for 127.0.0.1, ::1, localhost and the hosts of addrs, in dataDir/tls.
func devCertificates(dataDir string, addrs ...string) (localca.Files, error) {
	hosts := []string{"127.0.0.1", "::1", "localhost"}
	for _, a := range addrs {
		h, _, err := net.SplitHostPort(a)
		if err != nil || h == "" || net.ParseIP(h) != nil && net.ParseIP(h).IsUnspecified() {
			continue
		}
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	dir, err := filepath.Abs(filepath.Join(dataDir, devTLSDir))
	if err != nil {
		return localca.Files{}, err
	}
	f, err := localca.Ensure(dir, hosts...)
	if err != nil {
		return localca.Files{}, fmt.Errorf("making the local CA of sosd dev --tls in %s: %w", dir, err)
	}
	return f, nil
}
