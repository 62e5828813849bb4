// Command sos is the command line of a sos object store: IAM, buckets,
// objects and replication. See internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"sos/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
