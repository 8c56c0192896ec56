// Command sabe is SABE's CLI: an API client for people and CI pipelines,
// and the operator's tools (migrations, keys, tokens, `sabe dev`).
package main

import (
	"context"
	"io"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/services/api"
	"github.com/sabe-dev/sabe/services/cli"
	"github.com/sabe-dev/sabe/services/scheduler"
	"github.com/sabe-dev/sabe/services/worker"
)

func main() {
	svc := cli.Services{API: api.Run, Worker: worker.Run, Scheduler: scheduler.Run}
	command.Main("sabe", func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
		stdio := cli.StdIO(getenv)
		stdio.Out = stdout
		return cli.RunIO(ctx, args, getenv, stdio, svc)
	})
}
