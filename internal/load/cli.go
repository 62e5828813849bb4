package load

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

const cliUsage = `usage: sosload --endpoint URL --region ZONE --key KEY --secret SECRET --bucket BUCKET
               [--op put|get|mixed] [--size 4KiB] [--concurrency 32]
               [--duration 10s | --ops N] [--keys N] [--prefix P]
               [--payload unsigned|sha256] [-O text|json]

--key and --secret default to $SOS_ROOT_API_KEY and $SOS_ROOT_API_SECRET.
Exits 1 when any operation failed.
`

// ErrOpsFailed is returned by Main after a run in which some operations
// failed (the result is printed all the same).
var ErrOpsFailed = errors.New("some operations failed")

// Main runs the sosload command line: it parses args (without the program
// name), runs the load and prints the result to stdout.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sosload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, cliUsage)
		fs.PrintDefaults()
	}
	var o Options
	fs.StringVar(&o.Endpoint, "endpoint", "http://127.0.0.1:9001", "S3 endpoint URL")
	fs.StringVar(&o.Region, "region", "ch-dk-2", "signing region (the zone name)")
	fs.StringVar(&o.AccessKey, "key", os.Getenv("SOS_ROOT_API_KEY"), "access key")
	fs.StringVar(&o.Secret, "secret", os.Getenv("SOS_ROOT_API_SECRET"), "secret key")
	fs.StringVar(&o.Bucket, "bucket", "sosload", "bucket (created when missing)")
	size := fs.String("size", "4KiB", "object size (B, KiB, MiB, GiB, KB, MB, GB)")
	fs.IntVar(&o.Concurrency, "concurrency", 1, "workers, each with its own connection")
	fs.DurationVar(&o.Duration, "duration", 0, "how long to run (default 10s unless --ops is given)")
	fs.Int64Var(&o.Ops, "ops", 0, "run this many operations instead of for a duration")
	op := fs.String("op", "put", "put, get or mixed")
	payload := fs.String("payload", "unsigned", "PUT payload signing: unsigned (UNSIGNED-PAYLOAD) or sha256")
	fs.IntVar(&o.Keys, "keys", 0, "objects that GETs read (default max(64, 2×concurrency))")
	fs.StringVar(&o.Prefix, "prefix", "sosload/", "key prefix")
	format := fs.String("O", "text", "output: text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.Size, err = ParseSize(*size); err != nil {
		return err
	}
	if o.Op, err = ParseOp(*op); err != nil {
		return err
	}
	if o.Payload, err = ParsePayload(*payload); err != nil {
		return err
	}
	if o.Duration == 0 && o.Ops == 0 {
		o.Duration = 10 * time.Second
	}
	switch f := strings.ToLower(*format); f {
	case "text", "json":
		*format = f
	default:
		return fmt.Errorf("-O %q: want text or json", *format)
	}
	res, err := Run(ctx, o)
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = res.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if res.Total.Errors > 0 {
		return fmt.Errorf("%w: %d of %d (first: %s)", ErrOpsFailed, res.Total.Errors, res.Total.Errors+res.Total.Ops, res.FirstError)
	}
	return nil
}
