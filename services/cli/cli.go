// Package cli is the `sabe` command, for people at a terminal and for CI
// pipelines: an API client (runs, results, leaderboards, comparisons,
// imports, `apply` of a benchmark-as-code file) and the operator's tools
// (migrations, keys, tokens, and `sabe dev`, which runs the whole system in
// one process against PostgreSQL and Redis).
//
// Commands are built with cobra: every one has --help with examples, and
// `sabe completion bash|zsh|fish|powershell` prints shell completions.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/client"
)

// RunFunc is a service's entry point, as cmd/<binary> calls it.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error

// Services are the processes `sabe dev` runs in one process. cmd/sabe
// passes them in, so that no service imports another.
type Services struct {
	API, Worker, Scheduler RunFunc
}

// IO is where a command reads and writes. Out takes what a command
// prints as its result (tables, JSON, exports); Err takes progress,
// prompts and notes, so that `sabe runs start --wait --json > run.json`
// keeps a clean file.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	// Terminal says whether Err is a terminal that a person watches:
	// progress is then a live bar, and Ctrl-C asks before cancelling a
	// run. Otherwise (a CI log) progress is plain periodic lines.
	Terminal bool
	// Width is the columns tables fit in: the terminal's width, COLUMNS,
	// or 0 for no limit (output to a file or pipe).
	Width int
}

// StdIO is the process's standard streams, with Terminal and Width read
// from the terminal when there is one.
func StdIO(getenv func(string) string) IO {
	o := IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
	o.Terminal = term.IsTerminal(int(os.Stderr.Fd())) && term.IsTerminal(int(os.Stdin.Fd()))
	if term.IsTerminal(int(os.Stdout.Fd())) {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
			o.Width = w
		}
	}
	if o.Width == 0 {
		o.Width = columnsFromEnv(getenv)
	}
	return o
}

// Run executes one sabe command writing to stdout only (stderr is
// discarded, stdin empty): what tests and the README check call. `--help`
// anywhere prints that command's help and returns nil; a bad command line
// is a *command.UsageError (exit 2).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, svc Services) error {
	return RunIO(ctx, args, getenv, IO{In: strings.NewReader(""), Out: stdout, Err: io.Discard}, svc)
}

// RunIO is Run with all of a command's streams.
func RunIO(ctx context.Context, args []string, getenv func(string) string, stdio IO, svc Services) error {
	root := newRoot(&env{getenv: getenv, io: stdio, svc: svc})
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ue *command.UsageError
	var ee *command.ExitError
	if err != nil && !errors.As(err, &ue) && !errors.As(err, &ee) && isCobraUsage(err) {
		// cobra's own complaints (unknown command, bad arguments) are
		// usage errors too.
		cmd, _, ferr := root.Find(args)
		if ferr != nil || cmd == nil {
			cmd = root
		}
		return &command.UsageError{Err: err, Usage: cmd.UsageString()}
	}
	var ae *client.Error
	if errors.As(err, &ae) && err == error(ae) {
		return &apiFailure{ae}
	}
	return err
}

// apiFailure is an error answer of the API as sabe prints it: the API's
// field and message, then its status and code, without the request line
// a person did not type.
type apiFailure struct{ err *client.Error }

func (a *apiFailure) Error() string {
	e := a.err
	if e.Code == "" && e.Message == "" {
		return e.Error()
	}
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	return fmt.Sprintf("%s (HTTP %d %s)", msg, e.Status, e.Code)
}

func (a *apiFailure) Unwrap() error { return a.err }

// isCobraUsage reports whether err is one of cobra's command-line errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// env is what every command's RunE reaches for: the environment, the
// streams and, for `sabe dev`, the services.
type env struct {
	getenv func(string) string
	io     IO
	svc    Services
	// global holds the root's persistent flags.
	global globalFlags
	// clock is what progress reports read the time from; nil is the
	// wall clock (see progress.go).
	clock clock
}

// Command groups, in the order `sabe --help` lists them.
const (
	groupUse   = "use"
	groupSetup = "setup"
	groupOps   = "ops"
)

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "sabe",
		Short: "SABE benchmarks LLMs continuously: run, compare and gate on them from a terminal or CI",
		Long: `sabe talks to a SABE server (--server, SABE_URL, or a context of
~/.config/sabe/config.yaml) with an API token (--token, SABE_TOKEN, or the
context's token), and runs SABE itself for operators (sabe dev, migrate,
keys, token).`,
		Example: `  # run a benchmark, follow it with a progress bar, fail on a regression
  sabe runs start nightly --wait --fail-on-regression

  # put a promptfoo test file into a suite
  sabe suites import support-bot tests.yaml

  # the whole setup from one reviewed file
  sabe apply -f sabe.yaml --dry-run`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// A bare `sabe` is a usage error, as before cobra.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return command.Usagef(cmd.UsageString(), "unknown command %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return command.Usagef(cmd.UsageString(), "missing command")
		},
	}
	root.SetIn(e.io.In)
	root.SetOut(e.io.Out)
	root.SetErr(e.io.Err)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &command.UsageError{Err: err, Usage: cmd.UsageString()}
	})
	root.AddGroup(
		&cobra.Group{ID: groupUse, Title: "Runs and results:"},
		&cobra.Group{ID: groupSetup, Title: "Benchmarks as code and imports:"},
		&cobra.Group{ID: groupOps, Title: "Operating SABE:"},
	)
	root.SetHelpCommandGroupID(groupOps)
	root.SetCompletionCommandGroupID(groupOps)
	e.global.register(root)

	for _, c := range clientCommands(e) {
		root.AddCommand(c)
	}
	for _, c := range operatorCommands(e) {
		c.GroupID = groupOps
		root.AddCommand(c)
	}
	return root
}

// needSubcommand is the RunE of a command that only groups others
// (`sabe runs`, `sabe config`): without a subcommand, or with one it does
// not know, it is a usage error listing them, not a help page and exit 0.
func needSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return command.Usagef(cmd.UsageString(), "unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return command.Usagef(cmd.UsageString(), "%s needs a command", cmd.CommandPath())
}

// clientCommands are the commands that call a SABE API: each part of the
// CLI adds its own here.
func clientCommands(e *env) []*cobra.Command {
	return []*cobra.Command{
		configCommand(e),
		runsCommand(e),
		leaderboardCommand(e),
		compareCommand(e),
		providersCommand(e),
		suitesCommand(e),
		alertsCommand(e),
		webhooksCommand(e),
		applyCommand(e),
		exportConfigCommand(e),
	}
}
