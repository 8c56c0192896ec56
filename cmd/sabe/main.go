// Command sabe is SABE's CLI: migrations, keys, tokens, and `sabe dev`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sabe-dev/sabe/services/api"
	"github.com/sabe-dev/sabe/services/cli"
	"github.com/sabe-dev/sabe/services/scheduler"
	"github.com/sabe-dev/sabe/services/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	svc := cli.Services{API: api.Run, Worker: worker.Run, Scheduler: scheduler.Run}
	if err := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, svc); err != nil {
		fmt.Fprintln(os.Stderr, "sabe:", err)
		os.Exit(1)
	}
}
