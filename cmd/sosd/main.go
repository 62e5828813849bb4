// Command sosd runs sos servers: `sosd dev` (control plane and two zones in
// one process), `sosd control` (the control plane alone) and `sosd zone` (one
// zone talking to a control plane).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"sos/internal/s3api"
	"sos/internal/server"
)

const usage = `usage:
  sosd dev     [--data DIR] [--api ADDR] [--zone NAME=ADDR]... [--tls | TLS flags] [limit flags]
  sosd control --data DIR --listen ADDR --zone NAME=S3URL... [--api-endpoint URL] [TLS flags]
  sosd zone    --name NAME --listen ADDR --data DIR --control URL --token TOKEN [--domain HOST]...
               [--metrics-listen ADDR] [--metrics-token TOKEN] [TLS flags] [limit flags]

Limits of a zone's S3 listener (dev and zone):
  --max-requests N       S3 requests served at once (default 256); one more is answered
                         at once with 503 SlowDown, never queued (GET /metrics and /health
                         do not count)
  --read-timeout D       how long a client may take to send a request's headers, and may
                         send nothing while it sends a body (default 30s): then 400
                         RequestTimeout and the connection is closed; an upload that keeps
                         sending is never cut, however long it takes

Metrics of sosd zone (they name every replicated bucket and destination; none are served
by default; sosd dev serves them to anyone on its S3 listeners):
  --metrics-listen ADDR  serve GET /metrics on a listener of its own (anonymous unless a
                         token is given; over TLS with --tls-cert)
  --metrics-token TOKEN  GET /metrics with "Authorization: Bearer TOKEN" on the S3 listener
                         and on --metrics-listen (or env SOS_METRICS_TOKEN)

TLS flags (every command):
  --tls-cert FILE   serve HTTPS with this PEM certificate (the chain after it); re-read
                    when the file changes or on SIGHUP
  --tls-key FILE    the certificate's PEM private key
  --ca FILE         PEM bundle of the CAs to verify other sos servers against (default:
                    the system roots)
  --insecure-http   allow sending tokens, keys and credentials over plain HTTP to
                    addresses other than loopback (refused otherwise)
  --tls             (dev only) make a local CA and certificate in DIR/tls and serve HTTPS
`

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	if err := run(ctx, os.Args[1], os.Args[2:], hup); err != nil {
		fmt.Fprintln(os.Stderr, "sosd:", err)
		os.Exit(1)
	}
}

// limitFlags adds the flags of a zone's request limits; the limits are
// complete after fs.Parse.
func limitFlags(fs *flag.FlagSet) *server.RequestLimits {
	l := &server.RequestLimits{}
	fs.IntVar(&l.MaxRequests, "max-requests", s3api.DefaultMaxRequests, "S3 requests a zone serves at once; one more is answered 503 SlowDown")
	fs.DurationVar(&l.ReadTimeout, "read-timeout", s3api.DefaultBodyIdleTimeout, "how long a client may take to send headers, and may go silent in a body (400 RequestTimeout)")
	return l
}

// tlsFlags adds the TLS flags to fs; the options are complete after
// fs.Parse.
func tlsFlags(fs *flag.FlagSet, reload <-chan os.Signal) *server.TLSOptions {
	o := &server.TLSOptions{Reload: reload}
	fs.StringVar(&o.CertFile, "tls-cert", "", "serve HTTPS with this PEM certificate (chain); re-read when it changes or on SIGHUP")
	fs.StringVar(&o.KeyFile, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&o.CAFile, "ca", "", "PEM bundle of CAs to verify other sos servers against (default: the system roots)")
	fs.BoolVar(&o.InsecureHTTP, "insecure-http", false, "allow sending credentials over plain HTTP to addresses other than loopback")
	return o
}

func run(ctx context.Context, cmd string, args []string, reload <-chan os.Signal) error {
	fs := flag.NewFlagSet("sosd "+cmd, flag.ContinueOnError)
	var zones, domains multiFlag
	fs.Var(&zones, "zone", "zone as NAME=ADDR (repeatable)")
	tlsOpts := tlsFlags(fs, reload)
	switch cmd {
	case "dev":
		data := fs.String("data", ".sos-dev", "data folder")
		api := fs.String("api", "127.0.0.1:8080", "API v2 and console listen address")
		genTLS := fs.Bool("tls", false, "make a local CA and certificate in the data folder and serve every listener over HTTPS")
		limits := limitFlags(fs)
		if err := parse(fs, args); err != nil {
			return err
		}
		if *genTLS && (tlsOpts.CertFile != "" || tlsOpts.KeyFile != "" || tlsOpts.CAFile != "") {
			return fmt.Errorf("--tls makes its own certificate and CA: give it without --tls-cert, --tls-key and --ca")
		}
		zs, err := server.ParseZones(zones)
		if err != nil {
			return err
		}
		return server.RunDev(ctx, server.DevOptions{
			DataDir: *data, APIAddr: *api, Zones: zs,
			RootKey: os.Getenv("SOS_ROOT_API_KEY"), RootSecret: os.Getenv("SOS_ROOT_API_SECRET"),
			Out: os.Stdout, TLS: *tlsOpts, GenerateTLS: *genTLS, Limits: *limits,
		})
	case "control":
		data := fs.String("data", "", "data folder (required)")
		listen := fs.String("listen", "127.0.0.1:8080", "API v2 and console listen address")
		endpoint := fs.String("api-endpoint", "", "URL clients use to reach this control plane (default http://LISTEN, https:// with --tls-cert)")
		if err := parse(fs, args); err != nil {
			return err
		}
		zs, err := server.ParseZones(zones)
		if err != nil {
			return err
		}
		return server.RunControl(ctx, server.ControlOptions{
			DataDir: *data, Listen: *listen, APIEndpoint: *endpoint, Zones: zs,
			RootKey: os.Getenv("SOS_ROOT_API_KEY"), RootSecret: os.Getenv("SOS_ROOT_API_SECRET"),
			Out: os.Stdout, TLS: *tlsOpts,
		})
	case "zone":
		name := fs.String("name", "", "zone name (required)")
		listen := fs.String("listen", "", "S3 listen address (required)")
		data := fs.String("data", "", "data folder (required)")
		control := fs.String("control", "", "control plane URL (required)")
		token := fs.String("token", os.Getenv("SOS_ZONE_TOKEN"), "this zone's token for the control plane (or env SOS_ZONE_TOKEN)")
		fs.Var(&domains, "domain", "host name for virtual-host style requests (repeatable)")
		var metrics server.MetricsOptions
		fs.StringVar(&metrics.Listen, "metrics-listen", "", "serve GET /metrics on this address of its own")
		fs.StringVar(&metrics.Token, "metrics-token", os.Getenv("SOS_METRICS_TOKEN"), "bearer token for GET /metrics (or env SOS_METRICS_TOKEN)")
		limits := limitFlags(fs)
		if err := parse(fs, args); err != nil {
			return err
		}
		return server.RunZone(ctx, server.ZoneOptions{
			Name: *name, Listen: *listen, DataDir: *data, ControlURL: *control, Token: *token, Domains: domains,
			TLS: *tlsOpts, Metrics: metrics, Limits: *limits,
		})
	case "-h", "--help", "help":
		fmt.Print(usage)
		return nil
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return nil
}
