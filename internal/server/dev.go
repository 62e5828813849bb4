package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"sos/internal/control"
)

// Dev is a running `sosd dev`: the control plane and its zones in one
// process, talking over loopback HTTP exactly as separate processes do.
type Dev struct {
	Control    *Control
	Zones      []*Zone
	RootKey    string
	RootSecret string
	// CAFile is the CA bundle that clients of this dev trust (with --tls,
	// the local CA in the data folder); empty means the system roots.
	CAFile string
}

// StartDev starts the control plane and the zones of o and returns once
// every zone serves. Addresses with port 0 get a free port.
func StartDev(ctx context.Context, o DevOptions) (d *Dev, err error) {
	if err := o.Limits.check(); err != nil {
		return nil, err
	}
	if o.DataDir == "" {
		o.DataDir = ".sos-dev"
	}
	if o.APIAddr == "" {
		o.APIAddr = "127.0.0.1:8080"
	}
	if len(o.Zones) == 0 {
		o.Zones = DefaultZones()
	}
	log := logger(o.Logger)
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, err
	}
	if o.GenerateTLS {
		addrs := []string{o.APIAddr}
		for _, z := range o.Zones {
			addrs = append(addrs, z.Addr)
		}
		f, err := devCertificates(o.DataDir, addrs...)
		if err != nil {
			return nil, err
		}
		o.TLS.CertFile, o.TLS.KeyFile, o.TLS.CAFile = f.Cert, f.Key, f.CA
	}
	ts, err := loadTLS(ctx, o.TLS, log)
	if err != nil {
		return nil, err
	}
	// Listen first, so that the endpoints the control plane announces are
	// the real ones even for port 0.
	var lns []net.Listener
	defer func() {
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
		}
	}()
	apiLn, err := net.Listen("tcp", o.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("API listener: %w", err)
	}
	lns = append(lns, apiLn)
	if err := ts.checkServesSecrets("sosd dev", apiLn); err != nil {
		return nil, err
	}
	zones := make([]control.Zone, len(o.Zones))
	zoneLns := make([]net.Listener, len(o.Zones))
	for i, z := range o.Zones {
		ln, err := net.Listen("tcp", z.Addr)
		if err != nil {
			return nil, fmt.Errorf("zone %s listener: %w", z.Name, err)
		}
		lns = append(lns, ln)
		zoneLns[i] = ln
		zones[i] = control.Zone{Name: z.Name, S3Endpoint: ts.url(ln.Addr().String())}
	}
	apiURL := ts.url(apiLn.Addr().String())
	c, err := startControl(ctx, controlConfig{dataDir: filepath.Join(o.DataDir, "control"), ln: apiLn,
		apiEndpoint: apiURL, zones: zones, rootKey: o.RootKey, rootSecret: o.RootSecret, logger: log, tls: ts})
	if err != nil {
		return nil, err
	}
	d = &Dev{Control: c, CAFile: o.TLS.CAFile}
	d.RootKey, d.RootSecret = c.Plane.RootCredentials()
	for i, z := range o.Zones {
		tok, _ := c.Plane.ZoneToken(z.Name)
		zn, err := startZone(ctx, zoneConfig{name: z.Name, ln: zoneLns[i], dataDir: filepath.Join(o.DataDir, "zones", z.Name),
			controlURL: apiURL, token: tok, logger: log, tls: ts,
			// A machine of one's own: metrics for anyone who can reach it.
			metrics: MetricsOptions{Anonymous: true}, limits: o.Limits})
		if err != nil {
			for _, ln := range zoneLns[i:] {
				ln.Close()
			}
			lns = nil // the rest was handed over and is closed with d
			d.Close()
			return nil, err
		}
		d.Zones = append(d.Zones, zn)
	}
	return d, nil
}

// Close stops the zones, then the control plane.
func (d *Dev) Close() error {
	var errs []error
	for _, z := range d.Zones {
		errs = append(errs, z.Close())
	}
	errs = append(errs, d.Control.Close())
	return errors.Join(errs...)
}

// RunDev runs `sosd dev` until ctx ends.
func RunDev(ctx context.Context, o DevOptions) error {
	d, err := StartDev(ctx, o)
	if err != nil {
		return err
	}
	defer d.Close()
	if o.Out != nil {
		fmt.Fprintf(o.Out, "sos dev is running (data in %s)\n", dataDirOrDefault(o.DataDir))
		fmt.Fprintf(o.Out, "  API v2 and console: %s\n", d.Control.URL)
		for _, z := range d.Zones {
			fmt.Fprintf(o.Out, "  zone %-10s S3: %s\n", z.Name, z.URL)
		}
		fmt.Fprintf(o.Out, "  root key:    %s\n  root secret: %s\n", d.RootKey, d.RootSecret)
		ca := ""
		if d.CAFile != "" {
			ca = " SOS_CA_BUNDLE=" + d.CAFile
		}
		fmt.Fprintf(o.Out, "Point the sos CLI at it with:\n  export SOS_API_ENDPOINT=%s SOS_API_KEY=%s SOS_API_SECRET=%s%s\n",
			d.Control.URL, d.RootKey, d.RootSecret, ca)
		if d.CAFile != "" {
			fmt.Fprintf(o.Out, "and awscli (or any AWS SDK) with:\n  export AWS_CA_BUNDLE=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n",
				d.CAFile, d.RootKey, d.RootSecret)
			if len(d.Zones) > 0 {
				fmt.Fprintf(o.Out, "  aws --endpoint-url %s --region %s s3 ls\n", d.Zones[0].URL, d.Zones[0].Name)
			}
		}
	}
	// A zone whose metadata store failed stops the whole process, as
	// `sosd zone` does, for its supervisor to start it again.
	failed := make(chan *Zone, len(d.Zones))
	for _, z := range d.Zones {
		go func() {
			select {
			case <-z.StoreFailed():
				failed <- z
			case <-ctx.Done():
			}
		}()
	}
	select {
	case <-ctx.Done():
		return nil
	case z := <-failed:
		return z.stopFailed()
	}
}

func dataDirOrDefault(dir string) string {
	if dir == "" {
		return ".sos-dev"
	}
	return dir
}
