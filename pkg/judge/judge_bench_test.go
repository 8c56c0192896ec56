package judge_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/judge"
)

// BenchmarkParse reads the replies a judging worker reads per unit:
// structured output, and text with a fence and prose.
func BenchmarkParse(b *testing.B) {
	for name, text := range map[string]string{
		"structured": `{"reasoning":"The answer names Paris, which matches the reference answer exactly.","verdict":"pass"}`,
		"text":       "Let me compare the two answers.\n\n```json\n{\n  \"reasoning\": \"The answer names Paris, which matches the reference.\",\n  \"verdict\": \"pass\",\n}\n```\nI hope this helps.",
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := judge.Parse(passFail, text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBuildPrompt renders a closed-QA prompt in text mode.
func BenchmarkBuildPrompt(b *testing.B) {
	in := judge.Input{Question: "What is the capital of France?", Answer: "The capital of France is Paris.", Reference: "Paris"}
	c := judge.Config{Template: judge.TemplateClosedQA}
	b.ReportAllocs()
	for b.Loop() {
		judge.BuildPrompt(c, in, false)
	}
}

// BenchmarkAggregate combines a panel of three.
func BenchmarkAggregate(b *testing.B) {
	v := judge.Verdict{Label: "pass", Score: 1, Passed: true}
	rs := []judge.Result{{ModelID: uuid.New(), Verdict: &v}, {ModelID: uuid.New(), Reason: judge.ReasonError}, {ModelID: uuid.New(), Verdict: &v}}
	b.ReportAllocs()
	for b.Loop() {
		judge.Aggregate(passFail, 0.5, rs)
	}
}
