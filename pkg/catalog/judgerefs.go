package catalog

import "github.com/sabe-dev/sabe/pkg/scoring"

// judgeRefs walks r for llm_judge rules. Until pkg/scoring knows
// llm_judge there are none.
func judgeRefs(prefix string, r scoring.Rule) []JudgeRef { return nil }
