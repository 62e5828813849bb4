// Command sosload is a small S3 load generator: PUT, GET or mixed at one
// object size and concurrency against one endpoint, reporting ops/s, MB/s,
// latency percentiles and errors. See package sos/internal/load.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"sos/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := load.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "sosload:", err)
		os.Exit(1)
	}
}
