package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"sos/internal/transport"
)

// IO is what a run of the CLI reads and writes.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment (os.Getenv in cmd/sos).
	Getenv func(string) string
}

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// usageError is a mistake in the command line (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// silentError ends the run with exit code 1 after the command already said
// why (e.g. `replication diff` found differences).
type silentError struct{}

func (silentError) Error() string { return "failed" }

// Run runs the sos command line (args without the program name) and
// returns the process exit code.
func Run(ctx context.Context, args []string, stdio IO) int {
	if stdio.Getenv == nil {
		stdio.Getenv = func(string) string { return "" }
	}
	if stdio.Stdin == nil {
		stdio.Stdin = strings.NewReader("")
	}
	a := &app{io: stdio}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdio.Stdin)
	root.SetOut(stdio.Stdout)
	root.SetErr(stdio.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var se silentError
	if errors.As(err, &se) {
		return ExitFailure
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintf(stdio.Stderr, "sos: %v\nRun 'sos --help' for usage.\n", err)
		return ExitUsage
	}
	fmt.Fprintf(stdio.Stderr, "sos: %v\n", err)
	return ExitFailure
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most", "required flag"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// app is one invocation: global flags, resolved settings, clients.
type app struct {
	io    IO
	flags Settings
	out   string // -O
	// parallel transfers
	parallel int
	// insecureHTTP allows credentials over plain HTTP to other hosts.
	insecureHTTP bool

	settings *Settings
	api      *apiClient
	zoneList []zoneInfo
	http     *http.Client
	// guessed holds the buckets whose zone bucket() had to guess, moved
	// the zone a redirect then named for them.
	guessed map[string]bool
	moved   map[string]string
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "sos",
		Short: "sos: buckets, objects, replication and IAM of a sos object store",
		Long: `sos talks to a sos control plane (API v2) and to its zones' S3 endpoints.

Settings come from flags, then the environment (SOS_API_ENDPOINT, SOS_API_KEY,
SOS_API_SECRET, SOS_ZONE, SOS_CA_BUNDLE), then the config file ($SOS_CONFIG or
~/.config/sos/config.toml, edited with 'sos config').

HTTPS servers are verified against the system roots, or the CAs of --ca. Keys
and secrets are never sent over plain HTTP to an address other than loopback
unless --insecure-http (or SOS_INSECURE_HTTP=1) says so.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch a.out {
			case formatTable, formatJSON, formatText:
				return nil
			}
			return usagef("unknown output format %q: use table, json or text", a.out)
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.flags.Endpoint, "endpoint", "", "API v2 endpoint, e.g. http://127.0.0.1:8080 (env SOS_API_ENDPOINT)")
	pf.StringVar(&a.flags.Key, "key", "", "API key (env SOS_API_KEY)")
	pf.StringVar(&a.flags.Secret, "secret", "", "API secret (env SOS_API_SECRET)")
	pf.StringVarP(&a.flags.Zone, "zone", "z", "", "zone, e.g. ch-dk-2 (env SOS_ZONE)")
	pf.StringVarP(&a.flags.Account, "account", "A", "", "account of the config file to use")
	pf.StringVar(&a.flags.CA, "ca", "", "PEM bundle of the CAs to verify HTTPS servers against, instead of the system roots (env SOS_CA_BUNDLE)")
	pf.BoolVar(&a.insecureHTTP, "insecure-http", false, "allow sending keys and signatures over plain HTTP to addresses other than loopback (env SOS_INSECURE_HTTP=1)")
	pf.IntVar(&a.parallel, "parallel", 4, "transfers and deletions run at once")
	pf.StringVarP(&a.out, "output-format", "O", formatTable, "output format: table, json or text")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	root.AddCommand(a.iamCommand(), a.storageCommand(), a.zoneCommand(), a.configCommand(), a.completionCommand())
	var wrap func(c *cobra.Command)
	wrap = func(c *cobra.Command) {
		if c.RunE != nil {
			c.RunE = a.retryMoved(c.RunE)
		}
		for _, sub := range c.Commands() {
			wrap(sub)
		}
	}
	wrap(root)
	return root
}

// group makes a command that only holds subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	c.AddCommand(subs...)
	return c
}

// nargs checks the number of positional arguments (usage error otherwise).
func nargs(minN, maxN int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < minN || (maxN >= 0 && len(args) > maxN) {
			return usagef("%s: wrong number of arguments (%d)\nUsage: %s", cmd.CommandPath(), len(args), cmd.UseLine())
		}
		return nil
	}
}

func (a *app) show(v view) error { return render(a.io.Stdout, a.out, v) }

func (a *app) warnf(format string, args ...any) {
	fmt.Fprintf(a.io.Stderr, format+"\n", args...)
}

// resolved returns the settings of this run (flags > env > config file).
func (a *app) resolved() (Settings, error) {
	if a.settings != nil {
		return *a.settings, nil
	}
	path, err := configPath(a.io.Getenv)
	if err != nil {
		return Settings{}, err
	}
	cf, err := loadConfig(path)
	if err != nil {
		return Settings{}, err
	}
	s, err := Resolve(SettingsInput{Flags: a.flags, Getenv: a.io.Getenv, Config: cf})
	if err != nil {
		return Settings{}, err
	}
	a.settings = &s
	return s, nil
}

// httpClient is the one HTTP client of the run (API v2 and every zone):
// servers verified against --ca or the system roots, nothing in clear to
// other hosts without --insecure-http, proxies from the environment.
func (a *app) httpClient() (*http.Client, error) {
	if a.http != nil {
		return a.http, nil
	}
	s, err := a.resolved()
	if err != nil {
		return nil, err
	}
	insecure := a.insecureHTTP
	switch v := a.io.Getenv("SOS_INSECURE_HTTP"); v {
	case "", "0", "false":
	case "1", "true":
		insecure = true
	default:
		return nil, usagef("SOS_INSECURE_HTTP=%q: use 1 or 0", v)
	}
	tr, err := transport.Load(transport.Options{
		CAFile: s.CA, InsecureHTTP: insecure,
		CAFlag: "--ca or SOS_CA_BUNDLE", InsecureFlag: "--insecure-http (or SOS_INSECURE_HTTP=1)",
		OnInsecure: func(addr string) {
			a.warnf("sos: warning: --insecure-http: sending keys and signatures in clear over plain HTTP to %s", addr)
		},
	})
	if err != nil {
		return nil, err
	}
	a.http = &http.Client{Transport: &countingTransport{base: tr.RoundTripper(transport.Tuning{
		Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: max(16, 2*a.parallel)})}}
	return a.http, nil
}

// client returns the API v2 client, checking that settings are complete.
func (a *app) client() (*apiClient, error) {
	if a.api != nil {
		return a.api, nil
	}
	s, err := a.resolved()
	if err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	hc, err := a.httpClient()
	if err != nil {
		return nil, err
	}
	a.api = &apiClient{endpoint: s.Endpoint, key: s.Key, secret: s.Secret, http: hc}
	return a.api, nil
}

func (a *app) zones(ctx context.Context) ([]zoneInfo, error) {
	if a.zoneList != nil {
		return a.zoneList, nil
	}
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	zs, err := c.zones(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing zones: %w", err)
	}
	a.zoneList = zs
	return zs, nil
}

func (a *app) zone(ctx context.Context, name string) (zoneInfo, error) {
	zs, err := a.zones(ctx)
	if err != nil {
		return zoneInfo{}, err
	}
	var names []string
	for _, z := range zs {
		if z.Name == name {
			return z, nil
		}
		names = append(names, z.Name)
	}
	return zoneInfo{}, usagef("unknown zone %q (zones: %s)", name, strings.Join(names, ", "))
}

// termSize is the size of the terminal f.
func termSize(f *os.File) (cols, rows int, err error) { return term.GetSize(int(f.Fd())) }

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
