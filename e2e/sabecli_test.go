package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/services/cli"
)

// cliResult is what one `sabe` command printed and how it ended.
type cliResult struct {
	Out, Err string
	Code     int
	err      error
}

// cliOpts adjust how sabe runs: its environment, stdin, whether stderr
// is a terminal, and the width tables fit in.
type cliOpts struct {
	Env      map[string]string
	Stdin    string
	Terminal bool
	Width    int
}

// sabe runs one client command of the CLI against s, as a person with
// SABE_URL and SABE_TOKEN set would, and returns its output and exit code
// (as command.Main computes it). Width defaults to 100, so golden tables do
// not depend on the test's terminal.
func (s *system) sabe(t *testing.T, o cliOpts, args ...string) cliResult {
	t.Helper()
	return s.sabeCtx(context.Background(), t, o, args...)
}

// sabeCtx is sabe under ctx: cancelling it is the Ctrl-C of command.Main.
func (s *system) sabeCtx(ctx context.Context, t *testing.T, o cliOpts, args ...string) cliResult {
	t.Helper()
	env := map[string]string{"SABE_URL": s.api, "SABE_TOKEN": s.token, "HOME": t.TempDir()}
	for k, v := range o.Env {
		env[k] = v
	}
	if o.Width == 0 {
		o.Width = 100
	}
	var out, errOut bytes.Buffer
	stdio := cli.IO{In: strings.NewReader(o.Stdin), Out: &out, Err: &errOut, Terminal: o.Terminal, Width: o.Width}
	err := cli.RunIO(ctx, args, func(k string) string { return env[k] }, stdio, cli.Services{})
	code := command.Code(err, ctx.Err() != nil)
	if msg := command.Message("sabe", err, ctx.Err() != nil); msg != "" {
		errOut.WriteString(msg)
	}
	return cliResult{Out: out.String(), Err: errOut.String(), Code: code, err: err}
}

// mustSabe is sabe that fails the test unless the command exits 0.
func (s *system) mustSabe(t *testing.T, o cliOpts, args ...string) cliResult {
	t.Helper()
	r := s.sabe(t, o, args...)
	if r.Code != 0 {
		t.Fatalf("sabe %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Out, r.Err)
	}
	return r
}
