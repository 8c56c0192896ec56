package e2e

import (
	"bytes"
	"context"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/services/cli"
)

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReadme_ConfigurationTable keeps the README's configuration table and
// the code in step: every SABE_ variable the code reads is in the table,
// and every variable in the table is read by the code.
func TestReadme_ConfigurationTable(t *testing.T) {
	t.Parallel()
	table := map[string]bool{}
	for _, row := range testenv.ReadmeConfigTable(t, "../README.md") {
		for _, name := range row.Variables {
			table[name] = true
		}
	}

	name := regexp.MustCompile(`"(SABE_[A-Z0-9_]+)"`)
	code := map[string]string{}
	for _, dir := range []string{"../cmd", "../internal", "../pkg", "../services"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range name.FindAllSubmatch(src, -1) {
				code[string(m[1])] = path
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(code) < 10 || len(table) < 10 {
		t.Fatalf("found %d variables in the code and %d in the table; the scan is broken", len(code), len(table))
	}
	for v, path := range code {
		if !table[v] {
			t.Errorf("%s (read in %s) is not in the README's configuration table", v, path)
		}
	}
	for v := range table {
		// The Go runtime reads its own variables (GOMEMLIMIT).
		if _, ok := code[v]; !ok && strings.HasPrefix(v, "SABE_") {
			t.Errorf("%s is in the README's configuration table, but no code reads it", v)
		}
	}
}

// readmeCommand is a `sabe` command the README shows, with the flags shown
// with it.
type readmeCommand struct {
	words []string
	flags []string
}

var (
	codeSpan    = regexp.MustCompile("`[^`\n]+`")
	sabeCommand = regexp.MustCompile(`(?:^|[\s/(])sabe ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?`)
	longFlag    = regexp.MustCompile(`(?:^|[\s\[(])--([a-z][a-z0-9-]*)`)
	// shellEnd ends a command on a line of shell: a pipe, a comment, the
	// end of a $(...), a list.
	shellEnd = regexp.MustCompile(` \| | #|\)|;|&&`)
)

// readmeCommands finds every `sabe <command>` in the README's code (code
// spans and fenced blocks) with the --flags that follow it; a code span
// holding only a flag belongs to the last command named in its
// paragraph (as in "Flags: `--http-addr` ...").
func readmeCommands(text string) map[string]*readmeCommand {
	found := map[string]*readmeCommand{}
	add := func(code string) *readmeCommand {
		m := sabeCommand.FindStringSubmatchIndex(code)
		if m == nil {
			return nil
		}
		words := []string{code[m[2]:m[3]]}
		if m[4] >= 0 {
			words = append(words, code[m[4]:m[5]])
		}
		rest := code[m[1]:]
		if e := shellEnd.FindStringIndex(rest); e != nil {
			rest = rest[:e[0]]
		}
		key := strings.Join(words, " ")
		c := found[key]
		if c == nil {
			c = &readmeCommand{words: words}
			found[key] = c
		}
		for _, f := range longFlag.FindAllStringSubmatch(rest, -1) {
			c.flags = append(c.flags, f[1])
		}
		return c
	}
	fenced := false
	var last *readmeCommand
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced, last = !fenced, nil
			continue
		}
		if fenced {
			add(line)
			continue
		}
		if strings.TrimSpace(line) == "" {
			last = nil // a new paragraph
		}
		for _, span := range codeSpan.FindAllString(line, -1) {
			span = strings.Trim(span, "`")
			if c := add(span); c != nil {
				last = c
			} else if f := longFlag.FindStringSubmatch(span); f != nil && strings.HasPrefix(span, "--") && last != nil {
				last.flags = append(last.flags, f[1])
			}
		}
	}
	return found
}

// TestReadme_CommandsExist: every `sabe` command the README shows exists,
// and every flag shown with it is in that command's --help.
func TestReadme_CommandsExist(t *testing.T) {
	t.Parallel()
	cmds := readmeCommands(readme(t))
	for _, want := range []string{"dev", "token create", "migrate up", "keys rotate", "seed-history"} {
		if cmds[want] == nil {
			t.Fatalf("found no `sabe %s` in the README; the scan is broken (found %v)", want, slices.Collect(maps.Keys(cmds)))
		}
	}
	if len(cmds["dev"].flags) < 5 {
		t.Fatalf("found only the flags %v of sabe dev in the README; the scan is broken", cmds["dev"].flags)
	}
	for key, c := range cmds {
		var out bytes.Buffer
		if err := cli.Run(context.Background(), append(slices.Clone(c.words), "--help"), func(string) string { return "" }, &out, cli.Services{}); err != nil {
			t.Errorf("the README shows `sabe %s`, which the CLI does not know: %v", key, err)
			continue
		}
		for _, f := range c.flags {
			if f == "help" {
				continue // every command has it; the call above is its test
			}
			if !regexp.MustCompile(`(?m)^\s+(-\w, )?--?` + regexp.QuoteMeta(f) + `\b`).MatchString(out.String()) {
				t.Errorf("the README shows `sabe %s --%s`, but `sabe %s --help` has no such flag:\n%s", key, f, key, out.String())
			}
		}
	}
}
