package importer

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// placeholder matches a {{ name }} of a prompt template; what is inside
// the braces is checked by templateName.
var placeholder = regexp.MustCompile(`\{\{(.*?)\}\}`)

// templateName is what a placeholder may hold: a variable's name, as
// promptfoo's Nunjucks templates name them (filters and expressions are
// not supported).
var templateName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CheckTemplate checks a suite's prompt_template: every {{ … }} must hold
// a plain variable name (spaces inside the braces allowed).
func CheckTemplate(tmpl string) error {
	for _, m := range placeholder.FindAllStringSubmatch(tmpl, -1) {
		if name := strings.TrimSpace(m[1]); !templateName.MatchString(name) {
			return fmt.Errorf("%s is not a variable: write {{name}} with a name of letters, digits and underscores (filters and expressions are not supported)", m[0])
		}
	}
	return nil
}

// render replaces each {{ name }} of tmpl by vars[name]. It returns the
// names the template uses that vars lacks, in the order of the template,
// each once.
func render(tmpl string, vars map[string]string) (string, []string) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := strings.TrimSpace(m[2 : len(m)-2])
		v, ok := vars[name]
		if !ok {
			if !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
			return m
		}
		return v
	})
	return out, missing
}
