package judge_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/sabe-dev/sabe/pkg/judge"
)

// FuzzParse reads arbitrary replies with every verdict kind: each is a
// *ParseError or a verdict within its kind (a label of the schema, a score
// in 0..1 that matches the label), and a verdict written back as the
// schema's object parses to itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"reasoning":"x","verdict":"pass"}`, "```json\n{\"reasoning\":\"\",\"verdict\":4,}\n```",
		`Sure: {"reasoning":"a \"q\" {","verdict":"ok"} done`, `{"reasoning":"x","verdict":"pa`, `{"verdict":11,"reasoning":"x"}`,
		`{} {"verdict":"D","reasoning":""}`, "\ufeff[{\"reasoning\":\"x\",\"verdict\":\"good\",}]",
	} {
		f.Add(s)
	}
	configs := []judge.Config{passFail, score15, score010, choice, factuality}
	f.Fuzz(func(t *testing.T, text string) {
		for _, c := range configs {
			v, err := judge.Parse(c, text)
			if err != nil {
				var pe *judge.ParseError
				if !errors.As(err, &pe) || v != (judge.Verdict{}) {
					t.Fatalf("Parse error %v with verdict %+v", err, v)
				}
				continue
			}
			if !(v.Score >= 0 && v.Score <= 1) || !utf8.ValidString(v.Reasoning) && utf8.ValidString(text) {
				t.Errorf("verdict %+v", v)
			}
			var raw any = v.Label
			if n := c.Normalized(); n.Verdict.Kind == judge.KindScore {
				x, err := strconv.Atoi(v.Label)
				if err != nil || x < *n.Verdict.Min || x > *n.Verdict.Max {
					t.Fatalf("score label %q outside %d..%d", v.Label, *n.Verdict.Min, *n.Verdict.Max)
				}
				raw = x
			}
			if len(v.Reasoning) >= judge.MaxReasoningLength {
				continue // clipped: the round trip differs
			}
			back, _ := json.Marshal(map[string]any{"reasoning": v.Reasoning, "verdict": raw})
			if again, err := judge.Parse(c, string(back)); err != nil || again.Label != v.Label || again.Score != v.Score {
				t.Errorf("round trip of %+v: %+v, %v", v, again, err)
			}
		}
	})
}
