package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Options say whom a client trusts and what it may send in clear.
type Options struct {
	// CAFile is a PEM bundle of the CA certificates to trust instead of
	// the system roots; empty means the system roots.
	CAFile string
	// InsecureHTTP allows requests over plain HTTP to addresses other than
	// loopback.
	InsecureHTTP bool
	// CAFlag and InsecureFlag name, in errors, how the user of this
	// program sets CAFile and InsecureHTTP; empty means "--ca" and
	// "--insecure-http".
	CAFlag, InsecureFlag string
	// OnInsecure, with InsecureHTTP, is called once: the first time a
	// request goes in clear to an address other than loopback.
	OnInsecure func(addr string)
}

// Trust is loaded Options, shared by every connection pool of a process.
type Trust struct {
	opts  Options
	roots *x509.CertPool // nil: the system roots
	once  sync.Once      // of OnInsecure
}

// Load reads o.CAFile (when set): it must hold at least one PEM
// certificate.
func Load(o Options) (*Trust, error) {
	if o.CAFlag == "" {
		o.CAFlag = "--ca"
	}
	if o.InsecureFlag == "" {
		o.InsecureFlag = "--insecure-http"
	}
	t := &Trust{opts: o}
	if o.CAFile != "" {
		data, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA bundle (%s): %w", o.CAFlag, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("CA bundle %s (%s) holds no PEM certificate", o.CAFile, o.CAFlag)
		}
		t.roots = pool
	}
	return t, nil
}

// InsecureHTTP reports whether plain HTTP to other hosts is allowed.
func (t *Trust) InsecureHTTP() bool { return t.opts.InsecureHTTP }

// TLSConfig is the client TLS configuration: the roots of t, TLS 1.2 and
// later.
func (t *Trust) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: t.roots, MinVersion: tls.VersionTLS12}
}

// Tuning adjusts one connection pool.
type Tuning struct {
	// MaxIdleConnsPerHost: 0 means 16.
	MaxIdleConnsPerHost int
	// ResponseHeaderTimeout bounds the wait for an answer's headers once a
	// request is sent; 0 means none (the request's context bounds it).
	ResponseHeaderTimeout time.Duration
	// DialTimeout bounds connecting (TCP and TLS handshake each); 0 means
	// 10 s.
	DialTimeout time.Duration
	// Proxy is http.Transport's Proxy (http.ProxyFromEnvironment for the
	// CLI); nil means no proxy.
	Proxy func(*http.Request) (*url.URL, error)
}

// RoundTripper is a new connection pool of t: its requests are refused
// before they leave when Cleartext refuses their URL, and a certificate
// that does not verify is reported with how to trust its CA.
func (t *Trust) RoundTripper(tu Tuning) http.RoundTripper {
	if tu.MaxIdleConnsPerHost <= 0 {
		tu.MaxIdleConnsPerHost = 16
	}
	if tu.DialTimeout <= 0 {
		tu.DialTimeout = 10 * time.Second
	}
	return &guard{trust: t, next: &http.Transport{
		Proxy:                 tu.Proxy,
		DialContext:           (&net.Dialer{Timeout: tu.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       t.TLSConfig(),
		TLSHandshakeTimeout:   tu.DialTimeout,
		MaxIdleConns:          100 + tu.MaxIdleConnsPerHost,
		MaxIdleConnsPerHost:   tu.MaxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: tu.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
	}}
}

// Client is an *http.Client over a new RoundTripper of t.
func (t *Trust) Client(tu Tuning) *http.Client {
	return &http.Client{Transport: t.RoundTripper(tu)}
}

// Check is Cleartext with t's options: nil when u may be sent to.
func (t *Trust) Check(u *url.URL) error {
	return Cleartext(u, t.opts.InsecureHTTP, t.opts.InsecureFlag)
}

// CheckURL is Check of a URL given as text (a bare host:port is taken as
// http://host:port).
func (t *Trust) CheckURL(raw string) error {
	return CleartextURL(raw, t.opts.InsecureHTTP, t.opts.InsecureFlag)
}

// guard is the RoundTripper of a Trust.
type guard struct {
	trust *Trust
	next  *http.Transport
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.trust.Check(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if g.trust.opts.InsecureHTTP && g.trust.opts.OnInsecure != nil && req.URL.Scheme == "http" && !Loopback(req.URL.Hostname()) {
		g.trust.once.Do(func() { g.trust.opts.OnInsecure(req.URL.Host) })
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, g.trust.explain(req.URL, err)
	}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// pool.
func (g *guard) CloseIdleConnections() { g.next.CloseIdleConnections() }

// explain adds to a certificate that does not verify how to trust it.
func (t *Trust) explain(u *url.URL, err error) error {
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		return err
	}
	if t.opts.CAFile != "" {
		return fmt.Errorf("%w (the certificate of %s is not signed by a CA of %s)", err, u.Host, t.opts.CAFile)
	}
	return fmt.Errorf("%w (the certificate of %s is not signed by a CA of the system roots: give the CA bundle that signed it with %s)", err, u.Host, t.opts.CAFlag)
}

// CleartextError is the refusal of a request in clear.
type CleartextError struct {
	URL  string // the URL refused, without its query
	Addr string // host[:port]
	Flag string // how to allow it anyway
}

func (e *CleartextError) Error() string {
	return fmt.Sprintf("refusing to send credentials in clear over plain HTTP to %s, which is not a loopback address: use https://, or allow it with %s",
		e.Addr, e.Flag)
}

// Cleartext decides whether a request carrying credentials may be sent to
// u: always over https, over http only to a loopback address unless
// insecure. flag names the setting that allows it (for the error).
func Cleartext(u *url.URL, insecure bool, flag string) error {
	if !strings.EqualFold(u.Scheme, "http") || insecure || Loopback(u.Hostname()) {
		return nil
	}
	if flag == "" {
		flag = "--insecure-http"
	}
	shown := *u
	shown.RawQuery, shown.Fragment, shown.User = "", "", nil
	return &CleartextError{URL: shown.String(), Addr: u.Host, Flag: flag}
}

// CleartextURL is Cleartext of a URL given as text (a bare host:port is
// taken as http://host:port).
func CleartextURL(raw string, insecure bool, flag string) error {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad URL %q: %v", raw, err)
	}
	return Cleartext(u, insecure, flag)
}

// Loopback reports whether host (a name or an IP address, without port)
// is this machine's loopback: localhost, 127.0.0.0/8 or ::1.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
