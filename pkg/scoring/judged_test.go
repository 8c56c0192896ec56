package scoring_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/judge"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

func judgeCfg(rubric string) judge.Config { return judge.Config{Rubric: rubric} }

func passOutcome(passed bool, score float64) judge.Outcome {
	label := "fail"
	if passed {
		label = "pass"
	}
	v := judge.Verdict{Label: label, Score: score, Passed: passed, Reasoning: "because"}
	return judge.Outcome{Scored: true, Passed: passed, Score: score, Label: label, Reasoning: "because",
		Judges: []judge.Result{{ModelID: uuid.New(), Verdict: &v}}}
}

func unscoredOutcome(reason string) judge.Outcome {
	return judge.Outcome{Reason: reason, Judges: []judge.Result{{ModelID: uuid.New(), Reason: reason}}}
}

func TestScorer_LLMJudge(t *testing.T) {
	t.Parallel()
	rule := scoring.Rule{Method: scoring.MethodLLMJudge, Config: judge.Config{Template: judge.TemplateClosedQA}}
	s, err := scoring.Compile(rule, exp("Paris"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.NeedsJudge() || s.Name() != "llm_judge" || len(s.Judges()) != 1 || s.Judges()[0].Verdict.Kind != judge.KindPassFail {
		t.Fatalf("scorer %s: NeedsJudge %v, Judges %+v", s.Name(), s.NeedsJudge(), s.Judges())
	}
	in, ok := s.JudgeInput(0, "Capital?", "It is Paris")
	if !ok || in != (judge.Input{Question: "Capital?", Answer: "It is Paris", Reference: "Paris"}) {
		t.Errorf("JudgeInput = %+v, %v", in, ok)
	}
	if r := s.Score("Paris"); !r.Unscored || r.Reason != scoring.ReasonNeedsJudge {
		t.Errorf("Score on a judged rule = %+v, want unscored", r)
	}
	t.Run("Pass", func(t *testing.T) {
		t.Parallel()
		r := s.ScoreJudged("Paris", []judge.Outcome{passOutcome(true, 1)})
		if !r.Passed || r.Score != 1 || r.Unscored || r.Judge == nil || r.Judge.Reasoning != "because" || !strings.HasPrefix(r.Detail, "judge: pass") {
			t.Errorf("ScoreJudged = %+v", r)
		}
	})
	t.Run("UnscoredNeverZero", func(t *testing.T) {
		t.Parallel()
		for _, reason := range []string{judge.ReasonParseFailure, judge.ReasonError, judge.ReasonTooFewJudges, judge.ReasonPanelTie} {
			r := s.ScoreJudged("Paris", []judge.Outcome{unscoredOutcome(reason)})
			if !r.Unscored || r.Reason != reason || r.Passed || r.Judge == nil || !strings.Contains(r.Detail, reason) {
				t.Errorf("ScoreJudged(%s) = %+v", reason, r)
			}
		}
		if r := s.ScoreJudged("Paris", nil); !r.Unscored || r.Reason != scoring.ReasonNeedsJudge {
			t.Errorf("ScoreJudged without outcomes = %+v", r)
		}
	})
	t.Run("NegateAndExtract", func(t *testing.T) {
		t.Parallel()
		n, err := scoring.Compile(scoring.Rule{Method: scoring.MethodLLMJudge, Negate: true, Extract: `Final: (.*)`, Config: judgeCfg("is rude")}, scoring.QuestionRef{})
		if err != nil {
			t.Fatal(err)
		}
		if in, ok := n.JudgeInput(0, "q", "draft… Final: thanks!"); !ok || in.Answer != "thanks!" || in.Reference != "" {
			t.Errorf("JudgeInput = %+v, %v", in, ok)
		}
		if _, ok := n.JudgeInput(0, "q", "no final line"); ok {
			t.Error("JudgeInput found an answer the extract pattern does not")
		}
		r := n.ScoreJudged("Final: thanks!", []judge.Outcome{passOutcome(false, 0.25)})
		if !r.Passed || r.Score != 0.75 {
			t.Errorf("negated judge = %+v", r)
		}
		if r := n.ScoreJudged("Final: x", []judge.Outcome{unscoredOutcome(judge.ReasonError)}); !r.Unscored {
			t.Errorf("negated unscored judge = %+v, want unscored", r)
		}
		if r := n.ScoreJudged("nothing", []judge.Outcome{{}}); r.Unscored || r.Passed || !strings.Contains(r.Detail, "found nothing") {
			t.Errorf("extract found nothing = %+v, want a fail", r)
		}
	})
	t.Run("Threshold", func(t *testing.T) {
		t.Parallel()
		th := 0.7
		sc, err := scoring.Compile(scoring.Rule{Method: scoring.MethodLLMJudge, Threshold: &th, Config: judge.Config{Rubric: "x", Verdict: judge.VerdictSpec{Kind: judge.KindScore}}}, scoring.QuestionRef{})
		if err != nil {
			t.Fatal(err)
		}
		if sc.Threshold(0) != 0.7 {
			t.Errorf("Threshold(0) = %v", sc.Threshold(0))
		}
	})
}

func TestScorer_LLMJudgeValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		rule  scoring.Rule
		q     scoring.QuestionRef
		field string
	}{
		{name: "ClosedQANeedsReference", rule: scoring.Rule{Method: "llm_judge", Config: judge.Config{Template: "closed_qa"}}, field: "expected_answer"},
		{name: "FactualityValueBlank", rule: scoring.Rule{Method: "llm_judge", Value: "  ", Config: judge.Config{Template: "factuality"}}, field: "scoring.value"},
		{name: "RubricMissing", rule: scoring.Rule{Method: "llm_judge"}, field: "scoring.rubric"},
		{name: "VerdictMax", rule: scoring.Rule{Method: "llm_judge", Config: judge.Config{Rubric: "x", Verdict: judge.VerdictSpec{Kind: "score", Max: new(0)}}}, field: "scoring.verdict.max"},
		{name: "Threshold", rule: scoring.Rule{Method: "llm_judge", Threshold: new(2.0), Config: judgeCfg("x")}, field: "scoring.threshold"},
		{name: "InAssertion", rule: scoring.Rule{Assertions: []scoring.Assertion{{Rule: scoring.Rule{Method: "json_valid"}}, {Rule: scoring.Rule{Method: "llm_judge", Config: judge.Config{Template: "custom", Prompt: "{answer} {x}"}}}}}, field: "scoring.assertions[1].prompt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fe := fault.As(tc.rule.Validate(tc.q))
			if fe == nil || fe.Field != tc.field {
				t.Errorf("Validate = %v, want a fault on %q", fe, tc.field)
			}
		})
	}
}

func TestScorer_Assertions(t *testing.T) {
	t.Parallel()
	w := func(v float64) *float64 { return &v }
	rule := scoring.Rule{Assertions: []scoring.Assertion{
		{Rule: scoring.Rule{Method: scoring.MethodContains}, Weight: w(2)},
		{Rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: `(?i)sorry`, Negate: true}},
		{Rule: scoring.Rule{Method: scoring.MethodStartsWith, Value: "Answer"}},
	}}
	s, err := scoring.Compile(rule, exp("Paris"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "assertions" || s.NeedsJudge() {
		t.Fatalf("Name %q NeedsJudge %v", s.Name(), s.NeedsJudge())
	}
	r := s.Score("Answer: Paris")
	if !r.Passed || r.Score != 1 || len(r.Assertions) != 3 || r.Detail != "3 of 3 assertions passed, score 1 (threshold 1)" {
		t.Errorf("all pass: %+v", r)
	}
	// contains fails (weight 2 of 4): score 0.5, below the default
	// threshold 1.
	r = s.Score("Answer: Lyon")
	want := []scoring.AssertionResult{
		{Method: "contains", Weight: 2, Detail: `"Paris" not found in response`},
		{Method: "regex", Weight: 1, Passed: true, Score: 1, Detail: `negated: no match for pattern "(?i)sorry"`},
		{Method: "starts_with", Weight: 1, Passed: true, Score: 1, Detail: `starts with "Answer"`},
	}
	if r.Passed || r.Score != 0.5 || !reflect.DeepEqual(r.Assertions, want) {
		t.Errorf("one fails: %+v", r)
	}
	half := rule
	half.Threshold = w(0.5)
	hs, err := scoring.Compile(half, exp("Paris"))
	if err != nil {
		t.Fatal(err)
	}
	if r := hs.Score("Answer: Lyon"); !r.Passed || r.Score != 0.5 {
		t.Errorf("threshold 0.5: %+v", r)
	}
	if r := hs.Score("Sorry, Lyon"); r.Passed || r.Score != 0 {
		t.Errorf("none pass: %+v", r)
	}
	// Decimal weights that all pass reach threshold 1.
	dec, err := scoring.Compile(scoring.Rule{Assertions: []scoring.Assertion{
		{Rule: scoring.Rule{Method: "json_valid"}, Weight: w(0.1)}, {Rule: scoring.Rule{Method: "json_valid"}, Weight: w(0.2)}, {Rule: scoring.Rule{Method: "json_valid"}, Weight: w(0.7)},
	}}, scoring.QuestionRef{})
	if err != nil {
		t.Fatal(err)
	}
	if r := dec.Score("{}"); !r.Passed || r.Score != 1 {
		t.Errorf("decimal weights: %+v", r)
	}
}

func TestScorer_AssertionsJudged(t *testing.T) {
	t.Parallel()
	rule := scoring.Rule{Assertions: []scoring.Assertion{
		{Rule: scoring.Rule{Method: scoring.MethodLLMJudge, Config: judgeCfg("polite")}},
		{Rule: scoring.Rule{Method: scoring.MethodContains}},
		{Rule: scoring.Rule{Method: scoring.MethodLLMJudge, Config: judge.Config{Template: "closed_qa"}}},
	}}
	s, err := scoring.Compile(rule, exp("Paris"))
	if err != nil {
		t.Fatal(err)
	}
	js := s.Judges()
	if !s.NeedsJudge() || len(js) != 2 || js[0].Template != "rubric" || js[1].Template != "closed_qa" {
		t.Fatalf("Judges = %+v", js)
	}
	if !s.MissingJudges() || s.JudgeModelIDs() != nil {
		t.Errorf("MissingJudges %v, JudgeModelIDs %v before defaults", s.MissingJudges(), s.JudgeModelIDs())
	}
	j1, j2 := uuid.New(), uuid.New()
	withIDs := rule.WithDefaults(nil, []uuid.UUID{j1, j2})
	withIDs.Assertions[2].ModelIDs = []uuid.UUID{j2}
	ws, err := scoring.Compile(withIDs, exp("Paris"))
	if err != nil {
		t.Fatal(err)
	}
	if ws.MissingJudges() || !reflect.DeepEqual(ws.JudgeModelIDs(), []uuid.UUID{j1, j2}) {
		t.Errorf("MissingJudges %v, JudgeModelIDs %v after defaults", ws.MissingJudges(), ws.JudgeModelIDs())
	}
	if in, ok := s.JudgeInput(1, "q", "a"); !ok || in.Reference != "Paris" {
		t.Errorf("JudgeInput(1) = %+v, %v", in, ok)
	}
	if _, ok := s.JudgeInput(2, "q", "a"); ok {
		t.Error("JudgeInput(2) exists")
	}
	r := s.ScoreJudged("Paris", []judge.Outcome{passOutcome(true, 1), passOutcome(false, 0)})
	if r.Passed || r.Unscored || r.Score != 2.0/3 || r.Judge == nil || !r.Assertions[0].Passed || r.Assertions[2].Passed {
		t.Errorf("ScoreJudged = %+v", r)
	}
	// An unscored judge makes the whole set unscored, with its reason,
	// even when the other assertions would decide it.
	r = s.ScoreJudged("Lyon", []judge.Outcome{passOutcome(true, 1), unscoredOutcome(judge.ReasonParseFailure)})
	if !r.Unscored || r.Reason != judge.ReasonParseFailure || !r.Assertions[2].Unscored || r.Assertions[2].Reason != judge.ReasonParseFailure {
		t.Errorf("ScoreJudged with an unscored judge = %+v", r)
	}
}

func TestRule_ValidateAssertions(t *testing.T) {
	t.Parallel()
	a := func(r scoring.Rule) scoring.Assertion { return scoring.Assertion{Rule: r} }
	ok := a(scoring.Rule{Method: "json_valid"})
	cases := []struct {
		name  string
		rule  scoring.Rule
		field string
	}{
		{name: "WithMethod", rule: scoring.Rule{Method: "contains", Assertions: []scoring.Assertion{ok}}, field: "scoring.method"},
		{name: "Empty", rule: scoring.Rule{Assertions: []scoring.Assertion{}}, field: "scoring.assertions"},
		{name: "TooMany", rule: scoring.Rule{Assertions: make([]scoring.Assertion, scoring.MaxAssertions+1)}, field: "scoring.assertions"},
		{name: "FieldBeside", rule: scoring.Rule{Negate: true, Assertions: []scoring.Assertion{ok}}, field: "scoring.negate"},
		{name: "Threshold", rule: scoring.Rule{Threshold: new(0.0), Assertions: []scoring.Assertion{ok}}, field: "scoring.threshold"},
		{name: "WeightZero", rule: scoring.Rule{Assertions: []scoring.Assertion{ok, {Rule: ok.Rule, Weight: new(0.0)}}}, field: "scoring.assertions[1].weight"},
		{name: "WeightNegative", rule: scoring.Rule{Assertions: []scoring.Assertion{{Rule: ok.Rule, Weight: new(-1.0)}}}, field: "scoring.assertions[0].weight"},
		{name: "MethodMissing", rule: scoring.Rule{Assertions: []scoring.Assertion{ok, a(scoring.Rule{})}}, field: "scoring.assertions[1].method"},
		{name: "Pattern", rule: scoring.Rule{Assertions: []scoring.Assertion{a(scoring.Rule{Method: "regex", Pattern: "("})}}, field: "scoring.assertions[0].pattern"},
		{name: "Nested", rule: scoring.Rule{Assertions: []scoring.Assertion{a(scoring.Rule{Method: "json_valid", Assertions: []scoring.Assertion{ok}})}}, field: "scoring.assertions[0].assertions"},
		{name: "Expected", rule: scoring.Rule{Assertions: []scoring.Assertion{a(scoring.Rule{Method: "exact_match"})}}, field: "expected_answer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fe := fault.As(tc.rule.Validate(scoring.QuestionRef{}))
			if fe == nil || fe.Kind != fault.KindInvalid || fe.Field != tc.field {
				t.Errorf("Validate = %v, want a fault on %q", fe, tc.field)
			}
		})
	}
}

func TestRule_WithDefaults(t *testing.T) {
	t.Parallel()
	j1, j2 := uuid.New(), uuid.New()
	def := &scoring.Rule{Method: scoring.MethodLLMJudge, Config: judgeCfg("helpful")}
	got := scoring.Rule{}.WithDefaults(def, []uuid.UUID{j1})
	if got.Method != scoring.MethodLLMJudge || got.Rubric != "helpful" || !reflect.DeepEqual(got.ModelIDs, []uuid.UUID{j1}) || def.ModelIDs != nil {
		t.Errorf("zero rule = %+v (default now %+v)", got, def)
	}
	own := scoring.Rule{Method: scoring.MethodContains}
	if got := own.WithDefaults(def, []uuid.UUID{j1}); !reflect.DeepEqual(got, own) {
		t.Errorf("own rule changed: %+v", got)
	}
	set := scoring.Rule{Assertions: []scoring.Assertion{
		{Rule: scoring.Rule{Method: scoring.MethodLLMJudge, Config: judgeCfg("a")}},
		{Rule: scoring.Rule{Method: scoring.MethodLLMJudge, Config: judge.Config{Rubric: "b", ModelIDs: []uuid.UUID{j2}}}},
	}}
	got = set.WithDefaults(nil, []uuid.UUID{j1})
	if !reflect.DeepEqual(got.Assertions[0].ModelIDs, []uuid.UUID{j1}) || !reflect.DeepEqual(got.Assertions[1].ModelIDs, []uuid.UUID{j2}) || set.Assertions[0].ModelIDs != nil {
		t.Errorf("assertions = %+v (original %+v)", got.Assertions, set.Assertions)
	}
}

// TestScorer_JudgePipeline runs a judged rule the way the judging task
// does: JudgeInput, judge.BuildPrompt, the judges' replies through
// judge.Parse, judge.Aggregate with the rule's threshold, ScoreJudged. One
// panel judge replies with a truncated verdict and is left out.
func TestScorer_JudgePipeline(t *testing.T) {
	t.Parallel()
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	rule := scoring.Rule{Method: scoring.MethodLLMJudge, Config: judge.Config{
		ModelIDs: ids, Template: judge.TemplateClosedQA, Verdict: judge.VerdictSpec{Kind: judge.KindScore, Min: new(0), Max: new(10)},
	}}
	s, err := scoring.Compile(rule, exp("Paris"))
	if err != nil {
		t.Fatal(err)
	}
	response := "It's Paris."
	in, ok := s.JudgeInput(0, "Capital of France?", response)
	if !ok {
		t.Fatal("no judge input")
	}
	c := s.Judges()[0]
	p := judge.BuildPrompt(c, in, false)
	if !strings.Contains(p.User, "<answer>\nIt's Paris.\n</answer>") || !strings.Contains(p.User, "<schema>") {
		t.Fatalf("prompt:\n%s", p.User)
	}
	replies := []string{
		"Here is my verdict:\n```json\n{\"reasoning\": \"Matches the reference.\", \"verdict\": 9}\n```",
		`{"reasoning": "Correct", "verdict": 8`,
		`{"reasoning": "Correct but terse.", "verdict": 7,}`,
	}
	results := make([]judge.Result, len(ids))
	for i, reply := range replies {
		results[i] = judge.Result{ModelID: ids[i], Attempts: 1}
		v, err := judge.Parse(c, reply)
		if err != nil {
			results[i].Reason, results[i].Error = judge.ReasonParseFailure, err.Error()
			continue
		}
		results[i].Verdict = &v
	}
	o := judge.Aggregate(c, s.Threshold(0), results)
	r := s.ScoreJudged(response, []judge.Outcome{o})
	// Majority of the two valid verdicts (0.9 and 0.7 both pass at 0.5):
	// the mean of the winners, 0.8.
	if r.Unscored || !r.Passed || r.Score < 0.8-1e-9 || r.Score > 0.8+1e-9 || r.Judge.Judges[1].Reason != judge.ReasonParseFailure {
		t.Errorf("ScoreJudged = %+v (outcome %+v)", r, o)
	}
	if !strings.Contains(r.Detail, "panel of 3 (2 valid, majority)") {
		t.Errorf("Detail = %q", r.Detail)
	}
}
