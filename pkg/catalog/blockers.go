package catalog

import (
	"fmt"
	"strings"
)

// Blockers are what keeps a benchmark from running now: members archived
// after it was made, or suites left without active questions. A run of
// it is refused and its schedule's occurrences are skipped, each saying
// why, until someone changes the benchmark.
type Blockers struct {
	// ArchivedModels and ArchivedSuites name the archived members, in the
	// benchmark's order.
	ArchivedModels []string
	ArchivedSuites []string
	// ActiveQuestions counts the questions of its suites that are not
	// archived.
	ActiveQuestions int
}

// Reason says why the benchmark cannot run and what to change; "" when it
// can.
func (b Blockers) Reason() string {
	var parts []string
	if len(b.ArchivedModels) > 0 {
		parts = append(parts, "uses archived "+members("model", b.ArchivedModels)+": replace "+them(b.ArchivedModels)+" in model_ids")
	}
	if len(b.ArchivedSuites) > 0 {
		parts = append(parts, "uses archived "+members("suite", b.ArchivedSuites)+": replace "+them(b.ArchivedSuites)+" in suite_ids")
	}
	switch {
	case len(parts) > 0:
		return "the benchmark " + strings.Join(parts, "; ")
	case b.ActiveQuestions == 0:
		return "the benchmark's suites have no active questions"
	}
	return ""
}

// members renders `model "a"` or `models "a", "b"`.
func members(kind string, names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	if len(names) > 1 {
		kind += "s"
	}
	return kind + " " + strings.Join(quoted, ", ")
}

func them(names []string) string {
	if len(names) > 1 {
		return "them"
	}
	return "it"
}
