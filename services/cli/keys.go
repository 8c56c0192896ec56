package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/internal/envconf"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
)

const keysUsage = `usage: sabe keys rotate [--batch N] | sabe keys status

commands:
  rotate   re-encrypt every provider key and every provider's headers
           (counted as keys) under the primary (first) key of
           SABE_ENCRYPTION_KEY, sealing first any headers stored in plain
           text before migration 00011, then print the status
  status   print each key id with how many providers (key or headers) it
           seals; fails when keys in use are missing from SABE_ENCRYPTION_KEY
`

// ErrKeysMissing reports provider keys sealed with key ids that
// SABE_ENCRYPTION_KEY does not hold: nothing can decrypt them until the key
// is put back.
var ErrKeysMissing = errors.New("provider keys are sealed with key ids missing from " + secrets.EnvVar)

func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	sub, help, err := subcommand(args, keysUsage, stdout, "rotate", "status")
	if help || err != nil {
		return err
	}
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	batch := store.DefaultRotateBatch
	if sub == "rotate" {
		fs.IntVar(&batch, "batch", store.DefaultRotateBatch, "provider keys and webhook secrets re-encrypted per transaction")
	}
	if help, err := command.Parse(fs, "usage: sabe keys "+sub, args[1:], stdout); help || err != nil {
		return err
	}
	if batch <= 0 {
		return command.Usagef(command.Usage(fs, "usage: sabe keys "+sub), "keys rotate: --batch must be positive")
	}
	r := envconf.New(getenv)
	db := store.ReadDatabase(r)
	ring := secrets.FromEnv(r)
	if err := r.Err(); err != nil {
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
	s := store.New(pool, ring)
	if sub == "rotate" {
		// The audit rows name the CLI as the actor: there is no token.
		ctx = audit.WithActor(ctx, audit.Actor{TokenName: "cli"})
		n, err := s.RotateKeys(ctx, batch)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "re-encrypted %d provider keys and webhook secrets under primary key %s\n", n, ring.Primary())
	}
	return printKeyStatus(ctx, s, ring, stdout)
}

// printKeyStatus lists every key id of the ring with the providers and
// webhooks sealed by it, then the ids in use that the ring lacks, which
// make it fail.
func printKeyStatus(ctx context.Context, s *store.Store, ring *secrets.Keyring, stdout io.Writer) error {
	usage, err := s.KeyUsage(ctx)
	if err != nil {
		return err
	}
	hooks, err := s.WebhookKeyUsage(ctx)
	if err != nil {
		return err
	}
	// uses says what a key id seals: its providers, and its webhooks when
	// it seals any.
	uses := func(id string) string {
		if hooks[id] == 0 {
			return fmt.Sprintf("%d providers", usage[id])
		}
		return fmt.Sprintf("%d providers, %d webhooks", usage[id], hooks[id])
	}
	ids := ring.IDs()
	for _, id := range ids {
		mark := ""
		if id == ring.Primary() {
			mark = "  (primary)"
		} else if usage[id] == 0 && hooks[id] == 0 {
			mark = "  (unused: may be removed)"
		}
		fmt.Fprintf(stdout, "%-24s %s%s\n", id, uses(id), mark)
	}
	var missing []string
	for _, m := range []map[string]int{usage, hooks} {
		for id := range m {
			if !slices.Contains(ids, id) && !slices.Contains(missing, id) {
				missing = append(missing, id)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	for _, id := range missing {
		fmt.Fprintf(stdout, "%-24s %s  (MISSING from %s: cannot decrypt)\n", id, uses(id), secrets.EnvVar)
	}
	return fmt.Errorf("%w: %s", ErrKeysMissing, strings.Join(missing, ", "))
}
