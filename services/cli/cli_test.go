package cli_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/services/cli"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestCLI_Keygen(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := cli.Run(context.Background(), []string{"keygen", "--id", "k1"}, env(nil), &out, cli.Services{}); err != nil {
		t.Fatal(err)
	}
	entry := strings.TrimSpace(out.String())
	k, err := secrets.ParseKeyring(entry)
	if err != nil {
		t.Fatalf("keygen printed %q, not a valid keyring: %v", entry, err)
	}
	if k.Primary() != "k1" {
		t.Errorf("primary = %q, want k1", k.Primary())
	}
}

// TestCLI_MigrateThroughPooler: with SABE_DATABASE_POOLER=transaction,
// `sabe migrate up` refuses to take its session lock through the pooler,
// migrates over SABE_DATABASE_DIRECT_URL, and reads the version back, as
// `token create` writes, through PgBouncer.
func TestCLI_MigrateThroughPooler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	direct := testenv.EmptyDatabaseURL(t)
	vars := map[string]string{"SABE_DATABASE_URL": testenv.PgBouncer(t, direct), "SABE_DATABASE_POOLER": "transaction"}
	err := cli.Run(ctx, []string{"migrate", "up"}, env(vars), &bytes.Buffer{}, cli.Services{})
	if err == nil || !strings.Contains(err.Error(), "SABE_DATABASE_DIRECT_URL") {
		t.Fatalf("migrate through the pooler without a direct URL: %v, want an error naming SABE_DATABASE_DIRECT_URL", err)
	}
	vars["SABE_DATABASE_DIRECT_URL"] = direct
	var out bytes.Buffer
	if err := cli.Run(ctx, []string{"migrate", "up"}, env(vars), &out, cli.Services{}); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`schema version (\d+) \(latest (\d+)\)`).FindStringSubmatch(out.String())
	if !strings.Contains(out.String(), "applied") || m == nil || m[1] != m[2] {
		t.Errorf("migrate up printed %q, want migrations applied and the latest version", out.String())
	}
	out.Reset()
	if err := cli.Run(ctx, []string{"token", "create", "--name", "ci"}, env(vars), &out, cli.Services{}); err != nil || !strings.HasPrefix(out.String(), "sabe_") {
		t.Fatalf("token create through the pooler: %q, %v", out.String(), err)
	}
}

func TestCLI_MigrateAndToken(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	getenv := env(map[string]string{"SABE_DATABASE_URL": pool.Config().ConnString()})
	ctx := context.Background()

	t.Run("MigrateIsIdempotent", func(t *testing.T) {
		var out bytes.Buffer
		if err := cli.Run(ctx, []string{"migrate", "up"}, getenv, &out, cli.Services{}); err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`schema version (\d+) \(latest (\d+)\)`).FindStringSubmatch(out.String())
		if m == nil || m[1] != m[2] || m[1] == "0" || strings.Contains(out.String(), "applied") {
			t.Errorf("second migrate on a migrated database printed %q", out.String())
		}
	})
	t.Run("TokenCreatePrintsOnlyTheToken", func(t *testing.T) {
		var out bytes.Buffer
		if err := cli.Run(ctx, []string{"token", "create", "--name", "ci", "--scope", "read"}, getenv, &out, cli.Services{}); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^sabe_[0-9A-Za-z]{38}\n$`).MatchString(out.String()) {
			t.Fatalf("stdout = %q, want only the token", out.String())
		}
		tok := strings.TrimSpace(out.String())
		got, err := store.New(pool, nil).TokenByHash(ctx, apitoken.Hash(tok))
		if err != nil {
			t.Fatalf("token not stored by hash: %v", err)
		}
		if got.Name != "ci" || !got.Has(apitoken.ScopeRead) || got.Has(apitoken.ScopeWrite) {
			t.Errorf("stored token %+v", got)
		}
	})
	t.Run("ErrTokenWithoutName", func(t *testing.T) {
		err := cli.Run(ctx, []string{"token", "create"}, getenv, &bytes.Buffer{}, cli.Services{})
		if err == nil || !strings.Contains(err.Error(), "--name") {
			t.Fatalf("err = %v, want one naming --name", err)
		}
	})
	t.Run("ErrUnknownScope", func(t *testing.T) {
		err := cli.Run(ctx, []string{"token", "create", "--name", "x", "--scope", "root"}, getenv, &bytes.Buffer{}, cli.Services{})
		if err == nil || !strings.Contains(err.Error(), "scope") {
			t.Fatalf("err = %v, want one naming the scope", err)
		}
	})
}

func TestCLI_ErrUnknownCommand(t *testing.T) {
	t.Parallel()
	err := cli.Run(context.Background(), []string{"frobnicate"}, env(nil), &bytes.Buffer{}, cli.Services{})
	var ue *command.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "unknown command") || !strings.Contains(ue.Usage, "seed-history") {
		t.Fatalf("err = %v, want a usage error with the commands", err)
	}
}

// TestCLI_Help: every command and subcommand answers --help with its usage
// and flags, touching nothing (no database is configured here).
func TestCLI_Help(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"Usage:", "seed-history", "completion", "Examples:"}},
		{[]string{"help"}, []string{"Usage:", "sabe [command]"}},
		{[]string{"dev", "--help"}, []string{"usage: sabe dev", "-http-addr", "-mock-addr", "-concurrency", "(default 20)", "-exit", "-history", "-latency", "-state-dir"}},
		{[]string{"token", "create", "--help"}, []string{"usage: sabe token create", "-name", "-scope", "-expires"}},
		{[]string{"token", "--help"}, []string{"usage: sabe token create"}},
		{[]string{"migrate", "--help"}, []string{"usage: sabe migrate up|status"}},
		{[]string{"migrate", "up", "-h"}, []string{"usage: sabe migrate up"}},
		{[]string{"keygen", "--help"}, []string{"-id"}},
		{[]string{"keys", "--help"}, []string{"usage: sabe keys rotate"}},
		{[]string{"keys", "rotate", "--help"}, []string{"-batch"}},
		{[]string{"keys", "status", "--help"}, []string{"usage: sabe keys status"}},
		{[]string{"seed-history", "--help"}, []string{"-executions", "-parallel", "-end"}},
		{[]string{"runs", "--help"}, []string{"ls", "show", "cancel", "retry-failed", "rescore"}},
		{[]string{"runs", "ls", "--help"}, []string{"--benchmark", "--status", "--trigger", "--limit", "--all", "--json", "Examples:"}},
		{[]string{"runs", "cancel", "--help"}, []string{"--yes", "Examples:"}},
		{[]string{"runs", "rescore", "--help"}, []string{"--judge", "--wait"}},
		{[]string{"leaderboard", "--help"}, []string{"--period", "--category", "--at"}},
		{[]string{"compare", "--help"}, []string{"--runs", "--questions", "PREVIOUS CURRENT"}},
		{[]string{"providers", "test", "--help"}, []string{"--model"}},
		{[]string{"suites", "--help"}, []string{"ls"}},
	} {
		var out bytes.Buffer
		if err := cli.Run(context.Background(), c.args, env(nil), &out, cli.Services{}); err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v printed no %q:\n%s", c.args, w, out.String())
			}
		}
	}
}

// TestCLI_ErrUsage: a bad command line is a usage error (exit 2), whose
// usage text names the command's flags.
func TestCLI_ErrUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		nil, {"dev", "--bogus"}, {"dev", "stray"}, {"token"}, {"token", "create"}, {"token", "create", "--nope"},
		{"migrate"}, {"migrate", "down"}, {"migrate", "up", "extra"}, {"keygen", "--nope"},
		{"keys", "spin"}, {"keys", "rotate", "--batch", "0"}, {"seed-history", "--models", "0"}, {"seed-history", "--end", "soon"},
		{"runs"}, {"runs", "spin"}, {"providers"}, {"suites", "nope"}, {"config"},
		{"runs", "show"}, {"runs", "show", "not-an-id"}, {"runs", "ls", "--status", "done"}, {"runs", "cancel", "a", "b"},
		{"leaderboard"}, {"leaderboard", "b", "--period", "year"}, {"compare", "b", "--at", "soon"}, {"compare", "--runs", "x"},
	} {
		err := cli.Run(context.Background(), args, env(nil), &bytes.Buffer{}, cli.Services{})
		var ue *command.UsageError
		if !errors.As(err, &ue) || ue.Usage == "" {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}
