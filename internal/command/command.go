// Package command is what every SABE binary shares at its edge: the
// command line (flags, --help, usage errors) and how a run ends as an exit
// code, so that api, worker, scheduler, mockllm and sabe answer a person
// the same way.
//
// Exit codes:
//
//	0    success, --help, or a service stopped by SIGINT/SIGTERM
//	1    failure (the error is printed on stderr)
//	2    bad command line: unknown command or flag, missing argument
//	     (the error and the usage are printed on stderr)
//	3    `sabe runs start --wait`: the run ended failed, cancelled or
//	     (unless --allow-partial) partial
//	4    a CI gate failed: --fail-under or --fail-on-regression
//	130  a one-shot command (sabe migrate, seed-history, ...) interrupted
//	     by SIGINT/SIGTERM before it finished
package command

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes; see the package comment.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitRunFailed   = 3
	ExitGateFailed  = 4
	ExitInterrupted = 130
)

// ExitError is a failure with an exit code of its own (ExitRunFailed,
// ExitGateFailed): the command has said what happened, and the error's
// message is the one line Main prints on stderr.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exitf returns an ExitError with code and the message format.
func Exitf(code int, format string, a ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, a...)}
}

// RunFunc is a binary's entry point: its service's Run.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error

// UsageError is a bad command line. Its message says what is wrong; Usage
// is the text that says what is right.
type UsageError struct {
	Err   error
	Usage string
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with the message format and usage text.
func Usagef(usage, format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...), Usage: usage}
}

// Parse parses args into fs. On -h or --help it prints the usage and the
// flags to stdout and returns help = true: the caller returns nil, and
// the binary exits 0. A bad flag or an argument fs does not take is a
// UsageError carrying the same text. synopsis is the usage line(s)
// without the flags, such as "usage: sabe token create --name NAME".
func Parse(fs *flag.FlagSet, synopsis string, args []string, stdout io.Writer) (help bool, err error) {
	if help, err := ParseArgs(fs, synopsis, args, stdout); help || err != nil {
		return help, err
	}
	if fs.NArg() > 0 {
		return false, &UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), Usage: Usage(fs, synopsis)}
	}
	return false, nil
}

// ParseArgs is Parse for a command that takes arguments after its flags
// (fs.Args()).
func ParseArgs(fs *flag.FlagSet, synopsis string, args []string, stdout io.Writer) (help bool, err error) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		text := Usage(fs, synopsis)
		if errors.Is(err, flag.ErrHelp) {
			_, werr := io.WriteString(stdout, text)
			return true, werr
		}
		return false, &UsageError{Err: err, Usage: text}
	}
	return false, nil
}

// Usage is the help text of fs: the synopsis, then each flag with its
// default.
func Usage(fs *flag.FlagSet, synopsis string) string {
	var b strings.Builder
	b.WriteString(strings.TrimRight(synopsis, "\n"))
	b.WriteString("\n")
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		b.WriteString("\nflags:\n")
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return b.String()
}

// NoArgs is the command line of a binary configured only by its
// environment: --help prints about and returns help = true; anything else
// is a UsageError.
func NoArgs(name, about string, args []string, stdout io.Writer) (help bool, err error) {
	return Parse(flag.NewFlagSet(name, flag.ContinueOnError), about, args, stdout)
}

// Main runs a binary: run with the process's arguments, environment and
// stdout, under a context cancelled by the first SIGINT or SIGTERM (a
// second one kills the process), then exits with
// the code its result calls for (see Code), printing the error, prefixed
// with name, on stderr.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal the default handling is back, so a second
	// Ctrl-C ends a stop that takes too long.
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	interrupted := ctx.Err() != nil
	stop()
	code := Code(err, interrupted)
	if msg := Message(name, err, interrupted); msg != "" {
		fmt.Fprint(os.Stderr, msg)
	}
	os.Exit(code)
}

// Code is the exit code of a run that returned err; interrupted says
// whether SIGINT or SIGTERM arrived. A service stopped by a signal returns
// nil (0); work cut short by one returns an error wrapping
// context.Canceled (130).
func Code(err error, interrupted bool) int {
	var ue *UsageError
	var ee *ExitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &ee):
		return ee.Code
	case interrupted && errors.Is(err, context.Canceled):
		return ExitInterrupted
	}
	return ExitFailure
}

// Message is what Main prints on stderr for err: nothing on success, the
// error and the usage for a bad command line, "interrupted" rather than
// "context canceled" for work cut short by a signal.
func Message(name string, err error, interrupted bool) string {
	var ue *UsageError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ue):
		return fmt.Sprintf("%s: %v\n\n%s", name, ue.Err, strings.TrimRight(ue.Usage, "\n")+"\n")
	case interrupted && errors.Is(err, context.Canceled):
		return name + ": interrupted\n"
	}
	return fmt.Sprintf("%s: %v\n", name, err)
}
