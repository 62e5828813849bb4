package localca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CA is a certificate authority: its certificate and private key.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// CertPEM is Cert in PEM, what clients trust (a CA bundle of one).
	CertPEM []byte
}

// Validity of what New and Issue make.
const (
	CAValidity     = 10 * 365 * 24 * time.Hour
	ServerValidity = 2 * 365 * 24 * time.Hour
)

// New makes a root CA named name; it may sign server certificates and one
// level of intermediate CAs (Intermediate).
func New(name string) (*CA, error) {
	return newCA(name, nil)
}

// Intermediate makes a CA signed by ca, which signs server certificates
// only: a server then serves the chain of its certificate and this CA's.
func (ca *CA) Intermediate(name string) (*CA, error) {
	return newCA(name, ca)
}

func newCA(name string, parent *CA) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"sos"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		tmpl.MaxPathLen, tmpl.MaxPathLenZero = 0, true
		signer, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: pemOf("CERTIFICATE", der)}, nil
}

// Parse reads a CA from its PEM certificate and PEM private key.
func Parse(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, errors.New("the certificate is not a CA")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("no PEM private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("the private key is not the CA certificate's")
	}
	return &CA{Cert: cert, Key: key, CertPEM: pemOf("CERTIFICATE", cb.Bytes)}, nil
}

// KeyPEM is the CA's private key in PEM (PKCS #8).
func (ca *CA) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return nil, err
	}
	return pemOf("PRIVATE KEY", der), nil
}

// Issue signs a new server certificate (and new key) for hosts: IP
// addresses become IP SANs, anything else a DNS name. The certificate PEM
// holds the certificate alone: a chain is it followed by the CertPEM of
// each intermediate up to the root.
func (ca *CA) Issue(hosts ...string) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("a server certificate needs at least one host")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"sos"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ServerValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemOf("CERTIFICATE", der), pemOf("PRIVATE KEY", kder), nil
}

// Files are the PEM files Ensure keeps in its folder.
type Files struct {
	CA   string // the CA certificate: what clients trust
	Cert string // the server certificate
	Key  string // the server certificate's key (mode 0600)
}

// File names in Ensure's folder.
const (
	caFile     = "ca.pem"
	caKeyFile  = "ca-key.pem"
	certFile   = "server.pem"
	keyFile    = "server-key.pem"
	renewAhead = 30 * 24 * time.Hour
)

// Ensure keeps a CA and a server certificate for hosts in dir (made 0700):
// those already there are reused while they are valid for another 30 days
// (and, for the server certificate, name every host); what is missing or
// stale is made anew, the server certificate from the same CA when the CA
// is still good.
func Ensure(dir string, hosts ...string) (Files, error) {
	f := Files{CA: filepath.Join(dir, caFile), Cert: filepath.Join(dir, certFile), Key: filepath.Join(dir, keyFile)}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Files{}, err
	}
	ca, err := loadCA(dir)
	if err != nil {
		if ca, err = New("sos dev CA"); err != nil {
			return Files{}, err
		}
		kp, err := ca.KeyPEM()
		if err != nil {
			return Files{}, err
		}
		// The key first: a CA certificate on disk always has its key.
		if err := writeFile(filepath.Join(dir, caKeyFile), kp, 0o600); err != nil {
			return Files{}, err
		}
		if err := writeFile(f.CA, ca.CertPEM, 0o644); err != nil {
			return Files{}, err
		}
	}
	if serverGood(f, ca, hosts) {
		return f, nil
	}
	cp, kp, err := ca.Issue(hosts...)
	if err != nil {
		return Files{}, err
	}
	if err := writeFile(f.Key, kp, 0o600); err != nil {
		return Files{}, err
	}
	if err := writeFile(f.Cert, cp, 0o644); err != nil {
		return Files{}, err
	}
	return f, nil
}

func loadCA(dir string) (*CA, error) {
	cp, err := os.ReadFile(filepath.Join(dir, caFile))
	if err != nil {
		return nil, err
	}
	kp, err := os.ReadFile(filepath.Join(dir, caKeyFile))
	if err != nil {
		return nil, err
	}
	ca, err := Parse(cp, kp)
	if err != nil {
		return nil, err
	}
	if time.Until(ca.Cert.NotAfter) < renewAhead {
		return nil, errors.New("the CA expires soon")
	}
	return ca, nil
}

// serverGood reports whether the server certificate in f is signed by ca,
// valid for another 30 days, names every host and has its key beside it.
func serverGood(f Files, ca *CA, hosts []string) bool {
	cp, err := os.ReadFile(f.Cert)
	if err != nil {
		return false
	}
	kp, err := os.ReadFile(f.Key)
	if err != nil {
		return false
	}
	b, _ := pem.Decode(cp)
	if b == nil {
		return false
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil || time.Until(cert.NotAfter) < renewAhead || cert.CheckSignatureFrom(ca.Cert) != nil {
		return false
	}
	for _, h := range hosts {
		if cert.VerifyHostname(h) != nil {
			return false
		}
	}
	kb, _ := pem.Decode(kp)
	if kb == nil {
		return false
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return false
	}
	key, ok := k.(*ecdsa.PrivateKey)
	return ok && key.PublicKey.Equal(cert.PublicKey)
}

// writeFile writes data to a temporary file beside name and renames it
// over name: a reader sees the old file or the new one, never a part.
func writeFile(name string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

func pemOf(typ string, der []byte) []byte {
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: typ, Bytes: der})
	return b.Bytes()
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n
}
