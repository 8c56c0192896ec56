package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sabe-dev/sabe/internal/text"
)

// table is what a command prints when --json is not given: a header and
// rows of cells, fitted to the terminal's width.
type table struct {
	Header []string
	Rows   [][]string
	// Wrap lets the last column run past the width instead of being cut
	// (a question's text, an error), for tables read rather than scanned.
	Wrap bool
	// Fixed is how many leading columns are never cut: ids a person
	// copies into the next command.
	Fixed int
}

// colGap is the space between columns.
const colGap = 2

// minCol is the narrowest a column is cut to.
const minCol = 6

// render writes t with its columns aligned in at most width columns of
// text (0: no limit). When the natural widths do not fit, the widest
// columns are cut first, each to no less than minCol, and a cut cell ends
// with "…".
func (t table) render(width int) string {
	n := len(t.Header)
	w := make([]int, n)
	for i, h := range t.Header {
		w[i] = utf8.RuneCountInString(h)
	}
	for _, r := range t.Rows {
		for i := 0; i < n && i < len(r); i++ {
			w[i] = max(w[i], utf8.RuneCountInString(firstLine(r[i])))
		}
	}
	if width > 0 {
		fit(w, width, t.Wrap, t.Fixed)
	}
	var b strings.Builder
	line := func(cells []string) {
		var l strings.Builder
		for i := 0; i < n; i++ {
			c := ""
			if i < len(cells) {
				c = firstLine(cells[i])
			}
			last := i == n-1
			if !(last && t.Wrap) {
				c = text.ClipRunes(c, w[i])
			}
			l.WriteString(c)
			if !last {
				l.WriteString(strings.Repeat(" ", w[i]-utf8.RuneCountInString(c)+colGap))
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	line(t.Header)
	for _, r := range t.Rows {
		line(r)
	}
	return b.String()
}

// fit narrows the column widths w until they fit width with their gaps:
// one column at a time, always the widest of those after the first fixed
// ones. With wrap the last column is left out of the sum: it may run on.
func fit(w []int, width int, wrap bool, fixed int) {
	cols := w
	if wrap && len(w) > 1 {
		cols = w[:len(w)-1]
		width -= minCol + colGap
	}
	total := func() int {
		s := colGap * (len(cols) - 1)
		for _, x := range cols {
			s += x
		}
		return s
	}
	for total() > width {
		widest := -1
		for i, x := range cols {
			if i >= fixed && (widest < 0 || x > cols[widest]) {
				widest = i
			}
		}
		if widest < 0 || cols[widest] <= minCol {
			return // as narrow as it goes; the terminal wraps the rest
		}
		cols[widest] = max(minCol, cols[widest]-(total()-width))
	}
}

// firstLine is s up to its first line break, marked as cut when there is
// more: a table row is one line.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// print writes v as JSON with --json, otherwise t as a table (nothing with
// --quiet).
func (e *env) print(v any, t table) error {
	if e.global.json {
		return e.printJSON(v)
	}
	if e.global.quiet {
		return nil
	}
	_, err := fmt.Fprint(e.io.Out, t.render(e.io.Width))
	return err
}

// printJSON writes v as indented JSON, one value per call.
func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.io.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printf writes a result line to stdout, unless --quiet or --json.
func (e *env) printf(format string, a ...any) {
	if e.global.quiet || e.global.json {
		return
	}
	fmt.Fprintf(e.io.Out, format, a...)
}

// notef writes a note (progress, what was done) to stderr, unless --quiet.
func (e *env) notef(format string, a ...any) {
	if e.global.quiet {
		return
	}
	fmt.Fprintf(e.io.Err, format, a...)
}

// mark is s when b, else "".
func mark(b bool, s string) string {
	if b {
		return s
	}
	return ""
}

// columnsFromEnv is COLUMNS as a width, or 0.
func columnsFromEnv(getenv func(string) string) int {
	n, err := strconv.Atoi(getenv("COLUMNS"))
	if err != nil || n < 20 {
		return 0
	}
	return n
}
