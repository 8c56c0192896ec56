package cli_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
	"github.com/sabe-dev/sabe/services/cli"
)

// keyEntries returns the SABE_ENCRYPTION_KEY entries of two keys, "old"
// and "new", and the ring of the old one alone.
func keyEntries(t *testing.T) (oldE, newE string, oldRing *secrets.Keyring) {
	t.Helper()
	var err error
	if oldE, err = secrets.GenerateEntry("old"); err != nil {
		t.Fatal(err)
	}
	if newE, err = secrets.GenerateEntry("new"); err != nil {
		t.Fatal(err)
	}
	if oldRing, err = secrets.ParseKeyring(oldE); err != nil {
		t.Fatal(err)
	}
	return oldE, newE, oldRing
}

func TestCLI_Keys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	oldE, newE, oldRing := keyEntries(t)
	for _, name := range []string{"a", "b", "c"} {
		testfactory.Provider(ctx, t, store.New(pool, oldRing), &testfactory.ProviderOpts{Name: name, APIKey: "sk-cli-" + name})
	}
	dbURL := pool.Config().ConnString()
	with := func(ring string) func(string) string {
		return env(map[string]string{"SABE_DATABASE_URL": dbURL, secrets.EnvVar: ring})
	}

	t.Run("ErrStatusMissingKey", func(t *testing.T) {
		var out bytes.Buffer
		err := cli.Run(ctx, []string{"keys", "status"}, with(newE), &out, cli.Services{})
		if !errors.Is(err, cli.ErrKeysMissing) || !strings.Contains(err.Error(), "old") {
			t.Fatalf("err = %v, want ErrKeysMissing naming old", err)
		}
		if !regexp.MustCompile(`(?m)^old +3 providers .*MISSING`).MatchString(out.String()) {
			t.Errorf("status output %q does not list old as missing", out.String())
		}
	})
	t.Run("ErrNoKeyring", func(t *testing.T) {
		err := cli.Run(ctx, []string{"keys", "rotate"}, with(""), &bytes.Buffer{}, cli.Services{})
		if err == nil || !strings.Contains(err.Error(), secrets.EnvVar) {
			t.Fatalf("err = %v, want one naming %s", err, secrets.EnvVar)
		}
	})
	t.Run("ErrUsage", func(t *testing.T) {
		for _, args := range [][]string{{"keys"}, {"keys", "spin"}, {"keys", "rotate", "--batch", "0"}, {"keys", "status", "extra"}} {
			if err := cli.Run(ctx, args, with(newE+","+oldE), &bytes.Buffer{}, cli.Services{}); err == nil {
				t.Errorf("%v: no error", args)
			}
		}
	})
	t.Run("RotateThenStatus", func(t *testing.T) {
		var out bytes.Buffer
		if err := cli.Run(ctx, []string{"keys", "rotate", "--batch", "2"}, with(newE+","+oldE), &out, cli.Services{}); err != nil {
			t.Fatalf("rotate: %v\n%s", err, out.String())
		}
		for _, want := range []string{"re-encrypted 3 provider keys and webhook secrets under primary key new", "new", "old"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("rotate output %q lacks %q", out.String(), want)
			}
		}
		events, err := store.New(pool, nil).ListAudit(ctx, store.AuditFilter{Action: audit.ActionKeysRotate}, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(events.Items) != 3 {
			t.Errorf("%d keys.rotate audit rows, want one per provider (3)", len(events.Items))
		}
		for _, e := range events.Items {
			if e.Actor.TokenName != "cli" || e.ResourceType != audit.ResourceProvider || strings.Contains(e.Reason, "sk-cli") {
				t.Errorf("audit row %+v", e)
			}
		}
		out.Reset()
		if err := cli.Run(ctx, []string{"keys", "status"}, with(newE+","+oldE), &out, cli.Services{}); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^new +3 providers +\(primary\)$`).MatchString(out.String()) ||
			!regexp.MustCompile(`(?m)^old +0 providers +\(unused`).MatchString(out.String()) {
			t.Errorf("status after rotation:\n%s", out.String())
		}
		// The old key dropped, status is clean and every key decrypts.
		out.Reset()
		if err := cli.Run(ctx, []string{"keys", "status"}, with(newE), &out, cli.Services{}); err != nil {
			t.Fatalf("status without the old key: %v\n%s", err, out.String())
		}
		newRing, err := secrets.ParseKeyring(newE)
		if err != nil {
			t.Fatal(err)
		}
		page, err := store.New(pool, newRing).ListProviders(ctx, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Items {
			c, err := store.New(pool, newRing).ProviderConn(ctx, p.ID)
			if err != nil {
				t.Fatalf("provider %s: %v", p.Name, err)
			}
			if c.APIKey != "sk-cli-"+p.Name {
				t.Errorf("provider %s: key %q", p.Name, c.APIKey)
			}
		}
	})
}

// TestCLI_KeysWebhooks checks that a key sealing only a webhook's secret
// counts as used: status neither calls it removable nor keeps quiet when
// the ring lacks it, and rotate moves it.
func TestCLI_KeysWebhooks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	oldE, newE, oldRing := keyEntries(t)
	if _, _, err := store.New(pool, oldRing).CreateWebhook(ctx, store.NewWebhook{
		Name: "hook", URL: "https://hooks.example.com/sabe", Events: []string{"run.failed"}, Enabled: true,
	}); err != nil {
		t.Fatal(err)
	}
	dbURL := pool.Config().ConnString()
	with := func(ring string) func(string) string {
		return env(map[string]string{"SABE_DATABASE_URL": dbURL, secrets.EnvVar: ring})
	}
	status := func(ring string) (string, error) {
		var out bytes.Buffer
		err := cli.Run(ctx, []string{"keys", "status"}, with(ring), &out, cli.Services{})
		return out.String(), err
	}

	out, err := status(newE + "," + oldE)
	if err != nil || !regexp.MustCompile(`(?m)^old +0 providers, 1 webhooks$`).MatchString(out) {
		t.Errorf("status before rotation (%v):\n%s", err, out)
	}
	if out, err := status(newE); !errors.Is(err, cli.ErrKeysMissing) || !strings.Contains(out, "1 webhooks  (MISSING") {
		t.Errorf("status without old = %v:\n%s", err, out)
	}
	var rot bytes.Buffer
	if err := cli.Run(ctx, []string{"keys", "rotate"}, with(newE+","+oldE), &rot, cli.Services{}); err != nil ||
		!strings.Contains(rot.String(), "re-encrypted 1 provider keys and webhook secrets") {
		t.Fatalf("rotate = %v:\n%s", err, rot.String())
	}
	out, err = status(newE + "," + oldE)
	if err != nil || !regexp.MustCompile(`(?m)^new +0 providers, 1 webhooks +\(primary\)$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^old +0 providers +\(unused`).MatchString(out) {
		t.Errorf("status after rotation (%v):\n%s", err, out)
	}
}
