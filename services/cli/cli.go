// Package cli is the `sabe` command for people and scripts: migrations,
// keys, tokens, and `sabe dev`, which runs the whole system in one process
// against the local PostgreSQL and Redis.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sabe-dev/sabe/pkg/envconf"
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

const usage = `usage: sabe <command> [flags]

commands:
  dev                      run api, worker, scheduler and a mock provider in one process,
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

// Run executes one sabe command.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, svc Services) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
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
	case "seed-history":
		return runSeedHistory(ctx, args[1:], getenv, stdout)
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

func databaseURL(getenv func(string) string) string {
	return envconf.New(getenv).String("SABE_DATABASE_URL", store.DefaultURL)
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "status") {
		return errors.New("usage: sabe migrate up|status")
	}
	pool, err := store.Open(ctx, databaseURL(getenv), 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	if args[0] == "up" {
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
	fs.SetOutput(io.Discard)
	id := fs.String("id", "", "key id (default: k<date>-<random>)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	entry, err := secrets.GenerateEntry(*id)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, entry)
	return err
}

func runToken(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: sabe token create --name NAME [--scope read,write,admin] [--expires 720h]")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "a name that says who or what uses the token")
	scope := fs.String("scope", "read,write,admin", "comma-separated scopes: read, write, admin")
	expires := fs.Duration("expires", 0, "lifetime, e.g. 720h (default: no expiry)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	if *name == "" {
		return errors.New("token create: --name is required")
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
