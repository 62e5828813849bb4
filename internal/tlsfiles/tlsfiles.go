package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultCheckInterval is how often, at the most, GetCertificate looks at
// the files' modification times.
const DefaultCheckInterval = 2 * time.Second

// Options configure Load.
type Options struct {
	// CheckInterval is the least time between two looks at the files
	// during handshakes; 0 means DefaultCheckInterval.
	CheckInterval time.Duration
	// Logger receives reloads and failed reloads; nil discards them.
	Logger *slog.Logger
	// Now is the clock of the check interval; nil means time.Now.
	Now func() time.Time
}

// Certificate is a server certificate loaded from a certificate file and a
// key file, reloaded when they change. Safe for concurrent use.
type Certificate struct {
	certFile, keyFile string
	every             time.Duration
	log               *slog.Logger
	now               func() time.Time

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     stamp     // of the files cert was read from
	lastCheck time.Time // of the files, by GetCertificate
	failed    stamp     // of the files a reload last failed on
}

// stamp is what tells that a file changed: its modification time and size.
type stamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// Load reads certFile (PEM: the certificate, then the intermediates of its
// chain) and keyFile (its PEM private key). It fails when either cannot be
// read, parsed or paired.
func Load(certFile, keyFile string, o Options) (*Certificate, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("a TLS certificate needs both a certificate file (--tls-cert) and a key file (--tls-key)")
	}
	c := &Certificate{certFile: certFile, keyFile: keyFile, every: o.CheckInterval, log: o.Logger, now: o.Now}
	if c.every <= 0 {
		c.every = DefaultCheckInterval
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	st, err := c.stat()
	if err != nil {
		return nil, err
	}
	cert, err := c.read()
	if err != nil {
		return nil, err
	}
	c.cert, c.stamp, c.lastCheck = cert, st, c.now()
	return c, nil
}

// ServerConfig is a TLS configuration serving c (TLS 1.2 and later,
// HTTP/1.1).
func (c *Certificate) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: c.GetCertificate,
		NextProtos:     []string{"http/1.1"},
	}
}

// GetCertificate is tls.Config.GetCertificate: the current certificate,
// reloaded first when the files changed since the last look (at most one
// look per check interval).
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); now.Sub(c.lastCheck) >= c.every {
		c.lastCheck = now
		st, err := c.stat()
		switch {
		case err != nil:
			if st != c.failed {
				c.failed = st
				c.log.Error("cannot look at the TLS certificate files: serving the certificate loaded before", "err", err)
			}
		case st != c.stamp && st != c.failed:
			if err := c.reloadLocked(st); err != nil {
				c.failed = st
				c.log.Error("cannot reload the TLS certificate: serving the one loaded before until the files are fixed", "err", err)
			}
		}
	}
	return c.cert, nil
}

// Reload re-reads the files now, changed or not. On error the certificate
// in use stays.
func (c *Certificate) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := c.stat()
	if err != nil {
		return err
	}
	c.lastCheck = c.now()
	if err := c.reloadLocked(st); err != nil {
		c.failed = st
		return err
	}
	return nil
}

// Leaf is the certificate being served (parsed).
func (c *Certificate) Leaf() *x509.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cert.Leaf
}

func (c *Certificate) reloadLocked(st stamp) error {
	cert, err := c.read()
	if err != nil {
		return err
	}
	c.cert, c.stamp, c.failed = cert, st, stamp{}
	c.log.Info("TLS certificate loaded", "cert", c.certFile, "subject", cert.Leaf.Subject.String(),
		"serial", cert.Leaf.SerialNumber.Text(16), "not_after", cert.Leaf.NotAfter)
	return nil
}

func (c *Certificate) stat() (stamp, error) {
	cf, err := os.Stat(c.certFile)
	if err != nil {
		return stamp{}, fmt.Errorf("TLS certificate file: %w", err)
	}
	kf, err := os.Stat(c.keyFile)
	if err != nil {
		return stamp{certMod: cf.ModTime(), certSize: cf.Size()}, fmt.Errorf("TLS key file: %w", err)
	}
	return stamp{certMod: cf.ModTime(), keyMod: kf.ModTime(), certSize: cf.Size(), keySize: kf.Size()}, nil
}

func (c *Certificate) read() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s with key %s: %w", c.certFile, c.keyFile, err)
	}
	if cert.Leaf == nil {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("TLS certificate %s: %w", c.certFile, err)
		}
		cert.Leaf = leaf
	}
	return &cert, nil
}
