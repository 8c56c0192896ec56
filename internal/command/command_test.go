package command_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/internal/command"
)

func TestParse(t *testing.T) {
	t.Parallel()
	newFS := func() *flag.FlagSet {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.String("name", "", "who")
		return fs
	}
	t.Run("Help", func(t *testing.T) {
		for _, arg := range []string{"-h", "--help", "-help"} {
			var out bytes.Buffer
			help, err := command.Parse(newFS(), "usage: x --name NAME", []string{arg}, &out)
			if !help || err != nil {
				t.Fatalf("%s: help = %v, err = %v", arg, help, err)
			}
			if !strings.HasPrefix(out.String(), "usage: x --name NAME\n") || !strings.Contains(out.String(), "-name") {
				t.Errorf("%s printed %q, want the synopsis and the flags", arg, out.String())
			}
		}
	})
	t.Run("OK", func(t *testing.T) {
		var out bytes.Buffer
		help, err := command.Parse(newFS(), "usage: x", []string{"--name", "a"}, &out)
		if help || err != nil || out.Len() != 0 {
			t.Fatalf("help = %v, err = %v, out = %q", help, err, out.String())
		}
	})
	t.Run("ErrUsage", func(t *testing.T) {
		for _, args := range [][]string{{"--nope"}, {"stray"}, {"--name"}} {
			_, err := command.Parse(newFS(), "usage: x", args, &bytes.Buffer{})
			var ue *command.UsageError
			if !errors.As(err, &ue) || !strings.Contains(ue.Usage, "-name") {
				t.Errorf("%v: err = %#v, want a UsageError with the flags", args, err)
			}
		}
	})
}

func TestCode(t *testing.T) {
	t.Parallel()
	usage := command.Usagef("usage: x", "unknown flag")
	canceled := fmt.Errorf("seed: %w", context.Canceled)
	for _, c := range []struct {
		name        string
		err         error
		interrupted bool
		code        int
		msg         string
	}{
		{"OK", nil, false, 0, ""},
		{"StoppedBySignal", nil, true, 0, ""},
		{"Failure", errors.New("boom"), false, 1, "x: boom\n"},
		{"Usage", usage, false, 2, "x: unknown flag\n\nusage: x\n"},
		{"Interrupted", canceled, true, 130, "x: interrupted\n"},
		{"CanceledWithoutSignal", canceled, false, 1, "x: seed: context canceled\n"},
	} {
		if got := command.Code(c.err, c.interrupted); got != c.code {
			t.Errorf("%s: code %d, want %d", c.name, got, c.code)
		}
		if got := command.Message("x", c.err, c.interrupted); got != c.msg {
			t.Errorf("%s: message %q, want %q", c.name, got, c.msg)
		}
	}
}
