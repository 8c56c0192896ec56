package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/services/cli"
)

func TestQuantile(t *testing.T) {
	t.Parallel()
	// Type 7: h = p·(n-1); {1, 2, 3, 4, 10}: p50 is the 3rd value, p95 sits
	// at h = 3.8 between 4 and 10: 4 + 0.8·6 = 8.8, p100 is the max.
	xs := []float64{1, 2, 3, 4, 10}
	for _, c := range []struct{ p, want float64 }{{0.5, 3}, {0.95, 8.8}, {1, 10}, {0, 1}} {
		if got := quantile(xs, c.p); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := quantile([]float64{7}, 0.99); got != 7 {
		t.Errorf("quantile of one value = %v, want 7", got)
	}
}

// TestParseSeedOutput reads what seed-history really prints, so that the
// harness notices when the command's output changes.
func TestParseSeedOutput(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	var out bytes.Buffer
	args := []string{"seed-history", "--executions", "400", "--weeks", "2", "--models", "2", "--questions", "50", "--samples", "2"}
	getenv := func(k string) string {
		if k == "SABE_DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	if err := cli.Run(context.Background(), args, getenv, &out, cli.Services{}); err != nil {
		t.Fatalf("seed-history: %v\n%s", err, out.String())
	}
	id, runs, execs, err := parseSeedOutput(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 36 || runs != 2 || execs != 400 {
		t.Errorf("parsed benchmark %q, %d runs, %d executions; want an id, 2 and 400 from:\n%s", id, runs, execs, out.String())
	}
}
