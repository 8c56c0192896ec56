package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadme_ListsEveryVariable keeps the README's configuration table
// complete: every SABE_ variable the code reads must appear in it.
func TestReadme_ListsEveryVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`"(SABE_[A-Z0-9_]+)"`)
	found := map[string]string{}
	for _, dir := range []string{"../pkg", "../services"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range name.FindAllSubmatch(src, -1) {
				found[string(m[1])] = path
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(found) < 10 {
		t.Fatalf("found only %d variables; the scan is broken", len(found))
	}
	for v, path := range found {
		if !strings.Contains(string(readme), "`"+v+"`") {
			t.Errorf("%s (read in %s) is not in the README's configuration table", v, path)
		}
	}
}
