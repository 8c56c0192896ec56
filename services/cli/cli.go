// Package cli is the `sabe` command for people and scripts: migrations,
// keys, tokens, and `sabe dev`, which runs the whole system in one process
// against PostgreSQL and Redis (started in Docker where none answers).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/internal/envconf"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
)

// RunFunc is a service's entry point, as cmd/<binary> calls it.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error

// Services are the processes `sabe dev` runs in one process. cmd/sabe
// passes them in, so that no service imports another.
type Services struct {
	API, Worker, Scheduler RunFunc
}

const usage = `usage: sabe <command> [flags]   (sabe <command> --help lists a command's flags)

commands:
  dev [--http-addr ADDR] [--mock-addr ADDR] [--latency D] [--concurrency N] [--state-dir DIR] [--exit]
                           run api, worker, scheduler and a mock provider in one process,
                           seed a demo benchmark, run it and print the leaderboard
  migrate up               apply database migrations (SABE_DATABASE_URL)
  migrate status           print the schema version
  keygen [--id ID]         print a new SABE_ENCRYPTION_KEY entry
  keys rotate [--batch N]  re-encrypt every provider key under the primary (first) key
                           of SABE_ENCRYPTION_KEY, then print the status
  keys status              print each key id with how many provider keys it seals;
                           fails when keys in use are missing from SABE_ENCRYPTION_KEY
  token create --name NAME [--scope read,write,admin] [--expires 720h]
                           create an API token and print it (shown once)
  seed-history [--executions 1000000] [--weeks 26] [--models 4] [--questions 2500]
               [--samples 2] [--benchmark NAME] [--seed 1] [--end RFC3339] [--parallel 2]
                           write a synthetic history of finished runs (for demos, tests
                           and benchmarks): a provider, models, a suite, a benchmark and
                           its runs over past weeks, with a planted regression;
                           no worker may serve the database meanwhile
`

// Run executes one sabe command. `--help` anywhere prints that command's
// usage and returns nil; a bad command line is a *command.UsageError (exit
// 2).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, svc Services) error {
	name, help, err := subcommand(args, usage, stdout, "dev", "migrate", "keygen", "keys", "token", "seed-history")
	if help || err != nil {
		return err
	}
	switch name {
	case "dev":
		return runDev(ctx, args[1:], getenv, stdout, svc)
	case "migrate":
		return runMigrate(ctx, args[1:], getenv, stdout)
	case "keygen":
		return runKeygen(args[1:], stdout)
	case "keys":
		return runKeys(ctx, args[1:], getenv, stdout)
	case "token":
		return runToken(ctx, args[1:], getenv, stdout)
	default: // seed-history: subcommand accepts nothing else
		return runSeedHistory(ctx, args[1:], getenv, stdout)
	}
}

// subcommand returns args[0] when it is one of names. For help, -h or
// --help it prints usage and returns help = true; a missing or unknown
// name is a usage error.
func subcommand(args []string, usage string, stdout io.Writer, names ...string) (name string, help bool, err error) {
	if len(args) == 0 {
		return "", false, command.Usagef(usage, "missing command")
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		_, err := io.WriteString(stdout, usage)
		return "", true, err
	}
	if !slices.Contains(names, args[0]) {
		return "", false, command.Usagef(usage, "unknown command %q", args[0])
	}
	return args[0], false, nil
}

func databaseURL(getenv func(string) string) string {
	return store.DatabaseURL.Read(envconf.New(getenv))
}

const migrateUsage = `usage: sabe migrate up|status

commands:
  up       apply the database migrations (SABE_DATABASE_URL), then print the schema version
  status   print the schema version
`

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	sub, help, err := subcommand(args, migrateUsage, stdout, "up", "status")
	if help || err != nil {
		return err
	}
	fs := flag.NewFlagSet("migrate "+sub, flag.ContinueOnError)
	if help, err := command.Parse(fs, "usage: sabe migrate "+sub, args[1:], stdout); help || err != nil {
		return err
	}
	pool, err := store.Open(ctx, databaseURL(getenv), 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	if sub == "up" {
		applied, err := store.Migrate(ctx, pool)
		if err != nil {
			return err
		}
		for _, a := range applied {
			fmt.Fprintln(stdout, "applied", a)
		}
	}
	cur, latest, err := store.MigrationVersion(ctx, pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema version %d (latest %d)\n", cur, latest)
	return nil
}

func runKeygen(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	id := fs.String("id", "", "key id (default: k<date>-<random>)")
	if help, err := command.Parse(fs, "usage: sabe keygen [--id ID]\n\nPrints a new SABE_ENCRYPTION_KEY entry.", args, stdout); help || err != nil {
		return err
	}
	entry, err := secrets.GenerateEntry(*id)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, entry)
	return err
}

const tokenUsage = "usage: sabe token create --name NAME [--scope read,write,admin] [--expires 720h]\n\nCreates an API token and prints it (shown once).\n"

func runToken(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if _, help, err := subcommand(args, tokenUsage, stdout, "create"); help || err != nil {
		return err
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	name := fs.String("name", "", "a name that says who or what uses the token")
	scope := fs.String("scope", "read,write,admin", "comma-separated scopes: read, write, admin")
	expires := fs.Duration("expires", 0, "lifetime, e.g. 720h (default: no expiry)")
	if help, err := command.Parse(fs, tokenUsage, args[1:], stdout); help || err != nil {
		return err
	}
	if *name == "" {
		return command.Usagef(command.Usage(fs, tokenUsage), "token create: --name is required")
	}
	var exp *time.Time
	if *expires < 0 {
		return errors.New("token create: --expires must be positive")
	}
	if *expires > 0 {
		t := time.Now().Add(*expires).UTC()
		exp = &t
	}
	pool, err := store.Open(ctx, databaseURL(getenv), 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.CheckSchema(ctx, pool); err != nil {
		return err
	}
	scopes := strings.Split(*scope, ",")
	for i := range scopes {
		scopes[i] = strings.TrimSpace(scopes[i])
	}
	// Tokens need no encryption key: they are stored as hashes.
	secret, _, err := store.New(pool, nil).CreateToken(ctx, *name, scopes, exp)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	// Only the token on stdout, so scripts can capture it.
	_, err = fmt.Fprintln(stdout, secret)
	return err
}
