package run

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/redisconn"
)

// TestKeys_OneSlotPerRun proves what a Redis Cluster requires of the
// run's scripts, transactions and multi-key commands: every key each one
// touches is in one hash slot (the run id is the keys' hash tag).
func TestKeys_OneSlotPerRun(t *testing.T) {
	t.Parallel()
	id := uuid.Must(uuid.NewV7())
	sets := map[string][]string{
		"recordScript":              recordKeys(id),
		"answerScript":              answerKeys(id),
		"judgeScript (needs-judge)": judgeKeys(id, needsKey(id)),
		"judgeScript (judged v1)":   judgeKeys(id, judgedKey(id, 1)),
		"judgeScript (judged v2)":   judgeKeys(id, judgedKey(id, 2)),
		"Forget's DEL":              forgetKeys(id),
		// Every key of the run, so that any script or transaction built
		// from them later is in one slot too.
		"all of the run's keys": {
			doneKey(id), progressKey(id), cancelKey(id), SpendKey(id), blockedKey(id),
			needsKey(id), judgedKey(id, 1), judgedKey(id, 7), judgeCacheKey(id, 3, 1),
		},
	}
	for name, keys := range sets {
		if len(keys) < 2 && name != "all of the run's keys" {
			t.Errorf("%s: %d keys; a set of one proves nothing", name, len(keys))
		}
		want := redisconn.Slot(keys[0])
		for _, k := range keys[1:] {
			if got := redisconn.Slot(k); got != want {
				t.Errorf("%s: %s is in slot %d, %s in slot %d", name, keys[0], want, k, got)
			}
		}
	}
	// Two runs' keys spread over the cluster rather than all landing on
	// one node.
	if other := uuid.Must(uuid.NewV7()); redisconn.Slot(doneKey(other)) == redisconn.Slot(doneKey(id)) &&
		redisconn.Slot(doneKey(uuid.Must(uuid.NewV7()))) == redisconn.Slot(doneKey(id)) {
		t.Error("three runs' keys hash to one slot: the hash tag is not the run id")
	}
}

// TestKeys_MultiKeyScriptsAreHere finds every Lua script in the module
// that uses more than one key (KEYS[2] or beyond): each must be one whose
// keys TestKeys_OneSlotPerRun checks, so a new one cannot slip into a
// Cluster deployment unchecked. SABE's other scripts (leases, breaker
// probes, pauses, the spend raise) each touch a single key.
func TestKeys_MultiKeyScriptsAreHere(t *testing.T) {
	t.Parallel()
	checked := map[string]bool{"pkg/run/progress.go": true, "pkg/run/progress_judge.go": true}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "KEYS[2]") {
			rel, _ := filepath.Rel(root, p)
			found[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for f := range found {
		if !checked[f] {
			t.Errorf("%s has a Lua script with several keys that TestKeys_OneSlotPerRun does not check", f)
		}
	}
	for f := range checked {
		if !found[f] {
			t.Errorf("%s no longer has a multi-key script: update this test", f)
		}
	}
}
