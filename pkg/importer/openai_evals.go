package importer

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// openAIEvals reads openai/evals samples: `input` (a string or chat
// messages) and `ideal` (a string or a list of accepted answers). They
// are scored as the evals' basic Match eval scores them, the eval the
// samples format is documented with: the answer passes when it starts
// with an accepted answer, case-sensitively. One ideal is `starts_with`
// (case_sensitive) with the ideal as expected answer; several are a
// `regex` anchored at the start that accepts any of them (the first is
// the expected answer shown beside results). SABE's starts_with ignores
// leading whitespace, and so does the regex. Other fields of a sample
// are kept as the question's metadata.
func (p *parser) openAIEvals(body []byte) error {
	return p.eachJSONLine(body, func(line int, _ []byte, fields map[string]json.RawMessage) {
		var q oapi.CreateQuestionRequest
		bad := len(p.bad)
		if raw, ok := fields["input"]; !ok {
			p.fail(line, "input", "is required")
		} else if field, err := input(&q, "input", raw); err != nil {
			p.fail(line, field, "%s", err)
		}
		var answers []string
		if raw, ok := fields["ideal"]; !ok {
			p.fail(line, "ideal", "is required")
		} else if list, at, err := stringOrList(raw); err != nil {
			p.fail(line, "ideal"+at, "%s", err)
		} else {
			answers = list
		}
		if len(p.bad) > bad {
			return
		}
		q.ExpectedAnswer = answers[0]
		q.Scoring = startsWithAny(answers)
		setMetadata(&q, metadataOf(fields, "input", "ideal"))
		p.add(line, q)
	})
}

// startsWithAny is the rule of openai/evals' Match: the answer, without
// leading whitespace, starts with one of answers, case-sensitively.
func startsWithAny(answers []string) oapi.Scoring {
	yes := true
	if len(answers) == 1 {
		return oapi.Scoring{Method: "starts_with", CaseSensitive: &yes}
	}
	quoted := make([]string, len(answers))
	for i, a := range answers {
		quoted[i] = regexp.QuoteMeta(strings.TrimSpace(a))
	}
	pattern := `\A\s*(?:` + strings.Join(quoted, "|") + `)`
	return oapi.Scoring{Method: "regex", Pattern: &pattern, CaseSensitive: &yes}
}
