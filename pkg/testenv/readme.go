package testenv

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// ConfigRow is one row of the README's configuration table.
type ConfigRow struct {
	// Variables are the SABE_ variables the row's first cell names.
	Variables []string
	// Users are the processes of its "used by" cell, without backquotes
	// ("api", "all", "sabe migrate").
	Users []string
	// Meaning is the rest of the row from its default on.
	Meaning string
}

// configVariable is a variable of the table: SABE's own, or the Go
// runtime's soft memory limit, which the manifests set.
var configVariable = regexp.MustCompile("`(SABE_[A-Z0-9_]+|GOMEMLIMIT)`")

// ReadmeConfigTable parses the configuration table of the README at path
// (the section "## Configuration"), failing the test when there is none.
func ReadmeConfigTable(t testing.TB, path string) []ConfigRow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## Configuration\n")
	if start < 0 {
		t.Fatal("README has no Configuration section")
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var rows []ConfigRow
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.HasPrefix(line, "| `") {
			continue
		}
		var row ConfigRow
		for _, m := range configVariable.FindAllStringSubmatch(cells[1], -1) {
			row.Variables = append(row.Variables, m[1])
		}
		if len(cells) >= 6 {
			for _, u := range strings.Split(cells[2], ",") {
				row.Users = append(row.Users, strings.Trim(strings.TrimSpace(u), "`"))
			}
			row.Meaning = strings.Join(cells[4:], "|")
		}
		rows = append(rows, row)
	}
	return rows
}
