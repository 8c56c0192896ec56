package importer

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

// The columns of the csv format, each with the names it may have (the
// first is the one documented); any other column is a variable of the
// suite's prompt template and goes to the question's metadata.
var (
	csvPromptColumns   = []string{"prompt", "input", "question"}
	csvExpectedColumns = []string{"expected_answer", "expected", "answer", "ideal", "target"}
	csvCategoryColumns = []string{"category"}
	csvKeyColumns      = []string{"key", "id"}
	csvSystemColumns   = []string{"system"}
	csvChoicesColumns  = []string{"choices"}
	csvMethodColumns   = []string{"method"}
)

// csvColumns are the columns of one csv file: the index of each known
// column (-1 when absent).
type csvColumns struct {
	prompt, expected, category, key, system, choices, method int
}

// namedCSV reads a CSV file with a header naming its columns (see
// csvColumns). A row without a prompt is rendered from the suite's prompt
// template with the row's other columns as variables.
func (p *parser) namedCSV(body []byte) error {
	f, err := p.readCSV(body)
	if err != nil || f == nil {
		return err
	}
	var c csvColumns
	known := map[int]bool{}
	bad := len(p.bad)
	for _, col := range []struct {
		at    *int
		names []string
	}{
		{&c.prompt, csvPromptColumns}, {&c.expected, csvExpectedColumns}, {&c.category, csvCategoryColumns},
		{&c.key, csvKeyColumns}, {&c.system, csvSystemColumns}, {&c.choices, csvChoicesColumns}, {&c.method, csvMethodColumns},
	} {
		*col.at = -1
		for i, h := range f.header {
			if !containsFold(col.names, h) {
				continue
			}
			if *col.at >= 0 {
				p.fail(1, h, "repeats column %s (%s are the same column): keep one", f.header[*col.at], strings.Join(col.names, ", "))
				continue
			}
			*col.at, known[i] = i, true
		}
	}
	if c.prompt < 0 && p.o.PromptTemplate == "" {
		p.fail(1, "", "the header has no prompt column (prompt, input or question) and the suite has no prompt_template to render the other columns into")
	}
	if len(p.bad) > bad {
		return nil
	}
	for _, row := range f.rows {
		p.csvRow(f, c, known, row)
	}
	return nil
}

func (p *parser) csvRow(f *csvFile, c csvColumns, known map[int]bool, row csvRow) {
	cell := func(i int) string {
		if i < 0 {
			return ""
		}
		return row.fields[i]
	}
	vars := map[string]string{}
	md := map[string]any{}
	for i, h := range f.header {
		if known[i] {
			continue
		}
		vars[h] = row.fields[i]
		if strings.TrimSpace(row.fields[i]) != "" {
			md[h] = row.fields[i]
		}
	}
	var q oapi.CreateQuestionRequest
	bad := len(p.bad)
	prompt := cell(c.prompt)
	if strings.TrimSpace(prompt) == "" {
		prompt = p.renderRow(row.line, "", vars)
	}
	if sys := cell(c.system); strings.TrimSpace(sys) != "" {
		q.Messages = &[]oapi.Message{{Role: "system", Content: sys}, {Role: "user", Content: prompt}}
	} else {
		q.Prompt = prompt
	}
	q.ExpectedAnswer = cell(c.expected)
	if v := strings.TrimSpace(cell(c.category)); v != "" {
		q.Category = &v
	}
	if v := strings.TrimSpace(cell(c.key)); v != "" {
		q.Key = &v
	}
	if v := strings.TrimSpace(cell(c.choices)); v != "" {
		choices, err := csvChoices(v)
		if err != nil {
			p.fail(row.line, f.header[c.choices], "%s", err)
		}
		q.Choices = &choices
	}
	if v := strings.TrimSpace(cell(c.method)); v != "" {
		if m := scoring.Method(v); !m.Valid() {
			p.fail(row.line, f.header[c.method], "%q is not a scoring method", v)
		} else {
			q.Scoring = oapi.Scoring{Method: oapi.ScoringMethod(v)}
		}
	}
	if len(p.bad) > bad {
		return
	}
	setMetadata(&q, md)
	p.add(row.line, q)
}

// renderRow renders the suite's prompt template with vars; a template it
// lacks, or a variable the row lacks, is an error on line (field prefix
// names where the variables are, such as "vars.").
func (p *parser) renderRow(line int, prefix string, vars map[string]string) string {
	if p.o.PromptTemplate == "" {
		p.fail(line, prefix+"prompt", "is empty, and the suite has no prompt_template to render the variables into")
		return ""
	}
	out, missing := render(p.o.PromptTemplate, vars)
	for _, name := range missing {
		p.fail(line, prefix+name, "is used by the suite's prompt_template ({{%s}}) but not given", name)
	}
	return out
}

// csvChoices reads a choices cell: a JSON array of strings, or options
// separated by |.
func csvChoices(v string) ([]string, error) {
	if strings.HasPrefix(v, "[") {
		var list []string
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return nil, fmt.Errorf("must be a JSON array of strings or options separated by |: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return list, nil
	}
	parts := strings.Split(v, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, nil
}

func containsFold(names []string, s string) bool {
	for _, n := range names {
		if strings.EqualFold(n, s) {
			return true
		}
	}
	return false
}
