package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"sos/internal/control"
	"sos/internal/controlapi"
)

// maxHeaderBytes bounds request headers on every listener: S3 allows 8 KiB
// of headers per request plus 2 KiB of user metadata; 64 KiB leaves room
// for long presigned URLs and still refuses hostile header floods (431).
const maxHeaderBytes = 64 << 10

// Control is a running control plane.
type Control struct {
	Plane *control.Plane
	URL   string // base URL, e.g. http://127.0.0.1:8080
	srv   *http.Server
	ln    net.Listener
}

// controlConfig is what startControl needs.
type controlConfig struct {
	dataDir     string
	ln          net.Listener
	apiEndpoint string
	zones       []control.Zone
	rootKey     string
	rootSecret  string
	logger      *slog.Logger
	tls         *tlsSetup
}

func startControl(ctx context.Context, c controlConfig) (*Control, error) {
	plane, err := control.Open(ctx, control.Options{
		DataDir: c.dataDir, Zones: c.zones, APIEndpoint: c.apiEndpoint,
		RootKey: c.rootKey, RootSecret: c.rootSecret, Logger: c.logger,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	api := controlapi.New(plane, controlapi.Options{Logger: c.logger})
	mux.Handle("/v2/", api)
	mux.Handle("/internal/", api)
	mux.Handle("/", consoleHandler(plane, c.tls.trust, c.logger))
	srv := newHTTPServer(mux, c.logger)
	// Zones' snapshot long-polls would hold Shutdown for their whole wait:
	// end their contexts as soon as shutting down starts.
	base, cancelBase := context.WithCancel(context.Background())
	srv.BaseContext = func(net.Listener) context.Context { return base }
	srv.RegisterOnShutdown(cancelBase)
	go serve(srv, c.tls.listener(c.ln), c.logger, "control plane")
	return &Control{Plane: plane, URL: c.apiEndpoint, srv: srv, ln: c.ln}, nil
}

// Close stops serving and closes the plane's database.
func (c *Control) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.srv.Shutdown(ctx)
	return errors.Join(err, c.Plane.Close())
}

// RunControl runs the control plane alone until ctx ends.
func RunControl(ctx context.Context, o ControlOptions) error {
	if o.DataDir == "" {
		return errors.New("sosd control needs --data")
	}
	log := logger(o.Logger)
	ts, err := loadTLS(ctx, o.TLS, log)
	if err != nil {
		return err
	}
	zones := make([]control.Zone, len(o.Zones))
	for i, z := range o.Zones {
		zones[i] = control.Zone{Name: z.Name, S3Endpoint: httpURL(z.Addr)}
		// The console signs requests to zones with the keys of the
		// people signed in.
		if err := ts.trust.CheckURL(zones[i].S3Endpoint); err != nil {
			return fmt.Errorf("--zone %s=%s: the console could not reach it: %w", z.Name, zones[i].S3Endpoint, err)
		}
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return err
	}
	if err := ts.checkServesSecrets("sosd control", ln); err != nil {
		ln.Close()
		return err
	}
	endpoint := o.APIEndpoint
	if endpoint == "" {
		endpoint = ts.url(ln.Addr().String())
	}
	c, err := startControl(ctx, controlConfig{dataDir: o.DataDir, ln: ln, apiEndpoint: endpoint, zones: zones,
		rootKey: o.RootKey, rootSecret: o.RootSecret, logger: log, tls: ts})
	if err != nil {
		ln.Close()
		return err
	}
	defer c.Close()
	if o.Out != nil {
		key, secret := c.Plane.RootCredentials()
		fmt.Fprintf(o.Out, "sos control plane on %s\nroot key: %s\nroot secret: %s\n", endpoint, key, secret)
		for _, z := range zones {
			tok, _ := c.Plane.ZoneToken(z.Name)
			fmt.Fprintf(o.Out, "zone %s (%s): sosd zone --name %s --control %s --token %s ...\n", z.Name, z.S3Endpoint, z.Name, endpoint, tok)
		}
	}
	<-ctx.Done()
	return nil
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           withHSTS(h),
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func serve(srv *http.Server, ln net.Listener, log *slog.Logger, what string) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("listener stopped", "what", what, "err", err)
	}
}
