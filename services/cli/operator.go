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

	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/internal/envconf"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
)

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

// database reads the PostgreSQL settings the CLI's commands connect with
// (SABE_DATABASE_URL, SABE_DATABASE_POOLER, SABE_DATABASE_DIRECT_URL).
func database(getenv func(string) string) (store.Database, error) {
	r := envconf.New(getenv)
	d := store.ReadDatabase(r)
	return d, r.Err()
}

const migrateUsage = `usage: sabe migrate up|status

commands:
  up       apply the database migrations (over SABE_DATABASE_DIRECT_URL when set,
           else SABE_DATABASE_URL), then print the schema version
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
	db, err := database(getenv)
	if err != nil {
		return err
	}
	if sub == "up" {
		applied, err := db.Migrate(ctx)
		if err != nil {
			return err
		}
		for _, a := range applied {
			fmt.Fprintln(stdout, "applied", a)
		}
	}
	pool, err := db.Open(ctx, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
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
	db, err := database(getenv)
	if err != nil {
		return err
	}
	pool, err := db.Open(ctx, 2)
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

// operatorCommands are the commands that run or administer SABE itself,
// with the database's URL from the environment. They parse their own
// flags (the flag package's single-dash style, which their scripts use),
// so --help is theirs too.
func operatorCommands(e *env) []*cobra.Command {
	own := func(use, short string, run func(ctx context.Context, args []string) error) *cobra.Command {
		return &cobra.Command{
			Use:                use,
			Short:              short,
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), args)
			},
		}
	}
	out := e.io.Out
	return []*cobra.Command{
		own("dev", "Run api, worker, scheduler and a mock provider in one process, with a demo", func(ctx context.Context, args []string) error {
			return runDev(ctx, args, e.getenv, out, e.svc)
		}),
		own("migrate", "Apply database migrations (up) or print the schema version (status)", func(ctx context.Context, args []string) error {
			return runMigrate(ctx, args, e.getenv, out)
		}),
		own("keygen", "Print a new SABE_ENCRYPTION_KEY entry", func(_ context.Context, args []string) error {
			return runKeygen(args, out)
		}),
		own("keys", "Re-encrypt provider keys under the primary key (rotate), or report them (status)", func(ctx context.Context, args []string) error {
			return runKeys(ctx, args, e.getenv, out)
		}),
		own("token", "Create an API token in the database (shown once)", func(ctx context.Context, args []string) error {
			return runToken(ctx, args, e.getenv, out)
		}),
		own("seed-history", "Write a synthetic history of finished runs (demos, tests, benchmarks)", func(ctx context.Context, args []string) error {
			return runSeedHistory(ctx, args, e.getenv, out)
		}),
	}
}
