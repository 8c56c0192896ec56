package catalog

import (
	"fmt"

	"github.com/sabe-dev/sabe/pkg/scoring"
)

// judgeRefs walks r for llm_judge rules: r itself, or its assertions.
func judgeRefs(prefix string, r scoring.Rule) []JudgeRef {
	var out []JudgeRef
	if r.Method == scoring.MethodLLMJudge {
		out = append(out, JudgeRef{Field: prefix + ".judge_model_ids", ModelIDs: r.ModelIDs})
	}
	for i, a := range r.Assertions {
		if a.Method == scoring.MethodLLMJudge {
			out = append(out, JudgeRef{Field: fmt.Sprintf("%s.assertions[%d].judge_model_ids", prefix, i), ModelIDs: a.ModelIDs})
		}
	}
	return out
}
