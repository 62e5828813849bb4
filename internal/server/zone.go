package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sos/internal/blob/fsblob"
	"sos/internal/controlclient"
	"sos/internal/meta/pebblemeta"
	"sos/internal/object"
	"sos/internal/replication"
	"sos/internal/s3api"
	"sos/internal/transport"
)

// Zone is a running zone: its S3 listener, object service, replication
// workers and control plane client.
type Zone struct {
	Name    string
	URL     string
	Objects *object.Service
	Repl    *replication.Replicator
	Control *controlclient.Client
	srv     *http.Server
	// metricsSrv serves MetricsOptions.Listen (nil without one).
	metricsSrv *http.Server
	runCtx     context.Context // ends when the zone closes
	cancel     context.CancelFunc
	wg         sync.WaitGroup // background workers
	handlers   sync.WaitGroup // running S3 requests
	meta       *pebblemeta.Store
	health     *storageHealth
	closeErr   error
	once       sync.Once
}

// zoneConfig is what startZone needs.
type zoneConfig struct {
	name       string
	ln         net.Listener
	dataDir    string
	controlURL string
	token      string
	domains    []string
	logger     *slog.Logger
	tls        *tlsSetup
	metrics    MetricsOptions
	// metricsLn, when not nil, is the listener of metrics.Listen.
	metricsLn net.Listener
	limits    RequestLimits
}

// syncWait bounds how long a starting zone waits for its first snapshot of
// keys and policies before it serves anyway (it then refuses every signed
// request until the control plane answers). A zone that has a cached
// snapshot in its data folder serves from it when the control plane does
// not answer at once (controlclient.DefaultCacheGrace).
const syncWait = 10 * time.Second

// controlSnapshotFile, in a zone's data folder, is the last snapshot of
// the control plane the zone applied: what it serves with when it starts
// while the control plane is down (see controlclient.Options.CacheFile).
const controlSnapshotFile = "control-snapshot.json"

func startZone(ctx context.Context, c zoneConfig) (z *Zone, err error) {
	log := c.logger.With("zone", c.name)
	ms, err := pebblemeta.Open(filepath.Join(c.dataDir, "meta"), pebblemeta.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("zone %s: opening metadata: %w", c.name, err)
	}
	defer func() {
		if err != nil {
			ms.Close()
		}
	}()
	blobs, err := fsblob.Open(filepath.Join(c.dataDir, "blobs"))
	if err != nil {
		return nil, fmt.Errorf("zone %s: opening blobs: %w", c.name, err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	z = &Zone{Name: c.name, URL: c.tls.url(c.ln.Addr().String()), runCtx: runCtx, cancel: cancel, meta: ms}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	zreg := prometheus.WrapRegistererWith(prometheus.Labels{"zone": c.name}, reg)
	z.health = newStorageHealth(ms.Err, log, zreg)

	var repl atomic.Pointer[replication.Replicator]
	cc := controlclient.New(controlclient.Options{
		URL: c.controlURL, Token: c.token, Zone: c.name, Logger: log,
		HTTPClient: c.tls.trust.Client(transport.Tuning{}),
		// Holds API key secrets, as the control plane's database does.
		CacheFile: filepath.Join(c.dataDir, controlSnapshotFile),
		OnSnapshot: func(st controlclient.State) {
			if r := repl.Load(); r != nil {
				for _, id := range r.ChangedRoles(st.IAM.Roles) {
					// Not on the snapshot goroutine: it scans the outbox,
					// and the next snapshot (a revoked key) must not wait.
					z.background(func(ctx context.Context) { r.OnRoleChange(ctx, id) })
				}
			}
		},
	})
	z.Control = cc
	registerControlMetrics(zreg, cc)
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sos_s3_requests_refused_total",
		Help: "S3 requests refused by a limit: max-requests (503 SlowDown: --max-requests were being served) or body-idle-timeout (400 RequestTimeout: the body went silent for --read-timeout).",
	}, []string{"limit"})
	for _, l := range []string{s3api.LimitMaxRequests, s3api.LimitBodyIdleTimeout} {
		refused.WithLabelValues(l)
	}
	zreg.MustRegister(refused)

	svc, err := object.New(ctx, object.Options{
		Meta: ms, Blobs: watchedBlobs{blobs, z.health}, Zone: c.name, Logger: log,
		Registry:     registry{cc, log},
		Destinations: &destinations{zone: c.name, cc: cc, hc: c.tls.trust.Client(transport.Tuning{})},
		OnConflict: func(bucket, key string) {
			if r := repl.Load(); r != nil {
				r.Conflict(bucket, key)
			}
		},
		OnQueued: func() {
			if r := repl.Load(); r != nil {
				r.Wake()
			}
		},
		OnReplicationChange: func(bucket string) {
			if r := repl.Load(); r != nil {
				// In the background and past the request's end: it
				// rewrites the bucket's failed outbox entries, which may
				// be many.
				z.background(func(ctx context.Context) { r.OnConfigChange(ctx, bucket) })
			}
		},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("zone %s: %w", c.name, err)
	}
	z.Objects = svc
	r, err := replication.New(replication.Options{
		Zone: c.name, Meta: ms, Source: svc, Creds: cc, Authz: cc.Authorizer(), Peers: cc,
		Logger: log, Registerer: zreg, Clock: svc.Clock(),
		// Each operation waits on a few durable commits here and one at
		// the destination: 32 in flight keep up with ~500 PUTs/s where 8
		// fell behind (BenchmarkReplicationLag).
		Workers: replWorkers,
		HTTPClient: c.tls.trust.Client(transport.Tuning{
			MaxIdleConnsPerHost: 2 * replWorkers, ResponseHeaderTimeout: replRequestTimeout}),
		RequestTimeout: replRequestTimeout,
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("zone %s: %w", c.name, err)
	}
	repl.Store(r)
	z.Repl = r

	s3 := s3api.New(s3api.Options{
		Zone:        c.name,
		Objects:     svc,
		Auth:        cc.Authorizer(),
		Locator:     locator{cc},
		Roles:       cc.Authorizer(),
		Replication: replStatus{r},
		Domains:     append([]string{c.ln.Addr().String()}, c.domains...),
		Logger:      log,
		Limits:      c.limits.s3Limits(refused),
	})
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	// The metrics and health are served outside s3's limits: they stay
	// readable while the zone refuses S3 requests.
	handler := withHealth(withMetrics(s3, metrics, metricsGate{opts: c.metrics, onS3: true}), z.health)
	z.srv = newHTTPServer(tracked(handler, &z.handlers), log)
	z.srv.ReadHeaderTimeout = c.limits.readHeaderTimeout()
	if c.metricsLn != nil {
		z.metricsSrv = newHTTPServer(metricsOnly(metrics, metricsGate{opts: c.metrics}), log)
	}

	z.wg.Add(3)
	go func() { defer z.wg.Done(); cc.Run(runCtx) }()
	go func() {
		defer z.wg.Done()
		// Replicating needs the bucket map and the roles: without them
		// every destination looks unknown (NoSuchBucket, FAILED).
		select {
		case <-cc.Ready():
		case <-runCtx.Done():
			return
		}
		r.Run(runCtx)
	}()
	go func() { defer z.wg.Done(); reportUsage(runCtx, svc, cc, log) }()

	select {
	case <-cc.Ready():
	case <-time.After(syncWait):
		log.Warn("no snapshot from the control plane yet: serving, but signed requests are refused until it answers", "control", c.controlURL)
	case <-ctx.Done():
		z.Close()
		return nil, ctx.Err()
	}
	go serve(z.srv, c.tls.listener(c.ln), log, "zone "+c.name)
	log.Info("zone serving S3", "url", z.URL)
	switch {
	case z.metricsSrv != nil:
		go serve(z.metricsSrv, c.tls.listener(c.metricsLn), log, "zone "+c.name+" metrics")
		log.Info("zone serving metrics", "url", c.tls.url(c.metricsLn.Addr().String())+"/metrics", "token", c.metrics.Token != "")
	case c.metrics.Anonymous:
		log.Info("zone serving metrics to anyone", "url", z.URL+"/metrics")
	case c.metrics.Token != "":
		log.Info("zone serving metrics to the bearer of --metrics-token", "url", z.URL+"/metrics")
	default:
		log.Info("zone serves no metrics: give --metrics-listen or --metrics-token")
	}
	return z, nil
}

// Replication's workers and the bound on each of their requests.
const (
	replWorkers        = 32
	replRequestTimeout = 2 * time.Minute
)

// Close stops the listener and the workers, then closes the stores.
func (z *Zone) Close() error {
	z.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := z.srv.Shutdown(ctx)
		if err != nil {
			// Requests still running after the grace period: cut their
			// connections, and wait for their handlers to return before
			// the stores they use are closed.
			z.srv.Close()
			err = nil
		}
		if z.metricsSrv != nil {
			z.metricsSrv.Close()
		}
		z.handlers.Wait()
		z.cancel()
		z.wg.Wait()
		z.closeErr = errors.Join(err, z.meta.Close())
	})
	return z.closeErr
}

// background runs fn in a goroutine that Close waits for; fn's context
// ends when the zone closes.
func (z *Zone) background(fn func(ctx context.Context)) {
	z.wg.Add(1)
	go func() {
		defer z.wg.Done()
		fn(z.runCtx)
	}()
}

// tracked counts running handlers in wg.
func tracked(h http.Handler, wg *sync.WaitGroup) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		h.ServeHTTP(w, r)
	})
}

// RunZone runs one zone until ctx ends.
func RunZone(ctx context.Context, o ZoneOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	log := logger(o.Logger)
	ts, err := loadTLS(ctx, o.TLS, log)
	if err != nil {
		return err
	}
	if err := ts.trust.CheckURL(o.ControlURL); err != nil {
		return fmt.Errorf("--control %s: the zone's token would go with every request: %w", o.ControlURL, err)
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return err
	}
	var mln net.Listener
	if o.Metrics.Listen != "" {
		if mln, err = net.Listen("tcp", o.Metrics.Listen); err != nil {
			ln.Close()
			return fmt.Errorf("--metrics-listen: %w", err)
		}
	}
	z, err := startZone(ctx, zoneConfig{name: o.Name, ln: ln, dataDir: o.DataDir, controlURL: o.ControlURL,
		token: o.Token, domains: o.Domains, logger: log, tls: ts, metrics: o.Metrics, metricsLn: mln, limits: o.Limits})
	if err != nil {
		ln.Close()
		if mln != nil {
			mln.Close()
		}
		return err
	}
	select {
	case <-ctx.Done():
		return z.Close()
	case <-z.StoreFailed():
		return z.stopFailed()
	}
}

// StoreFailed is closed when the zone's metadata store fails for good
// (meta.ErrStoreFailed): the zone then answers every request 503 and is
// to be stopped (stopFailed) and started again in a new process.
func (z *Zone) StoreFailed() <-chan struct{} { return z.meta.Failed() }

// stopFailed stops a zone whose metadata store failed and says why.
func (z *Zone) stopFailed() error {
	err := z.meta.Err()
	z.health.log.Error("stopping the zone: its metadata store failed and cannot recover in this process; "+
		"start it again once the disk has room (every acknowledged write is in the write-ahead log)", "err", err)
	z.Close()
	return fmt.Errorf("zone %s stopped: %w", z.Name, err)
}

// withHealth serves the zone's health on an unauthenticated GET /health
// and everything else (a bucket named "health" included, whose requests
// are signed or carry a query) with next.
func withHealth(next, health http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && r.Method == http.MethodGet && r.URL.RawQuery == "" && r.Header.Get("Authorization") == "" {
			health.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func registerControlMetrics(reg prometheus.Registerer, cc *controlclient.Client) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sos_control_plane_reachable",
		Help: "1 when the last exchange with the control plane succeeded; 0 while the zone serves with what it last knew.",
	}, func() float64 {
		if cc.Healthy() {
			return 1
		}
		return 0
	}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sos_control_plane_last_sync_age_seconds",
		Help: "Seconds since the last successful exchange with the control plane.",
	}, func() float64 {
		t := cc.LastSync()
		if t.IsZero() {
			return -1
		}
		return time.Since(t).Seconds()
	}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sos_iam_revision",
		Help: "Revision of the IAM snapshot the zone serves with.",
	}, func() float64 { return float64(cc.Revision()) }))
}
