package scoring_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

// gradeCase is one response graded by one rule of the new methods, whose
// scores may be graded.
type gradeCase struct {
	name     string
	rule     scoring.Rule
	q        scoring.QuestionRef
	response string
	pass     bool
	// score, when not nil, must equal Result.Score; else it is 1 or 0.
	score *float64
	// detail, when set, must be contained in Result.Detail.
	detail string
}

func runGradeCases(t *testing.T, cases []gradeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := scoring.Compile(tc.rule, tc.q)
			if err != nil {
				t.Fatalf("Compile(%+v): %v", tc.rule, err)
			}
			got := s.Score(tc.response)
			want := 0.0
			if tc.pass {
				want = 1
			}
			if tc.score != nil {
				want = *tc.score
			}
			if got.Passed != tc.pass || got.Score != want || got.Unscored {
				t.Errorf("Score(%q) = passed %v score %v (%q), want %v %v", tc.response, got.Passed, got.Score, got.Detail, tc.pass, want)
			}
			if got.Detail == "" || (tc.detail != "" && !strings.Contains(got.Detail, tc.detail)) {
				t.Errorf("Score(%q).Detail = %q, want it to contain %q", tc.response, got.Detail, tc.detail)
			}
		})
	}
}

func exp(s string) scoring.QuestionRef { return scoring.QuestionRef{Expected: s} }

func TestScorer_StartsWith(t *testing.T) {
	t.Parallel()
	sw := scoring.Rule{Method: scoring.MethodStartsWith}
	runGradeCases(t, []gradeCase{
		{name: "OK", rule: sw, q: exp("Yes"), response: "Yes, because…", pass: true, detail: `starts with "Yes"`},
		{name: "OKLeadingSpaceAndCase", rule: sw, q: exp(" yes "), response: "\n  YES it is", pass: true},
		{name: "OKFold", rule: sw, q: exp("σοφ"), response: "ΣΟΦΊΑ", pass: true},
		{name: "OKValue", rule: scoring.Rule{Method: scoring.MethodStartsWith, Value: "No"}, q: exp("Yes"), response: "no.", pass: true},
		{name: "ErrCaseSensitive", rule: scoring.Rule{Method: scoring.MethodStartsWith, CaseSensitive: new(true)}, q: exp("Yes"), response: "yes", detail: `expected to start with "Yes", got "yes"`},
		{name: "ErrLater", rule: sw, q: exp("Yes"), response: "I say yes"},
		{name: "ErrShort", rule: sw, q: exp("Yes"), response: "Ye"},
	})
}

func TestScorer_ContainsAnyAll(t *testing.T) {
	t.Parallel()
	anyOf := scoring.Rule{Method: scoring.MethodContainsAny, Values: []string{"Paris", " Lutetia "}}
	allOf := scoring.Rule{Method: scoring.MethodContainsAll, Values: []string{"Paris", "France"}}
	runGradeCases(t, []gradeCase{
		{name: "AnyOK", rule: anyOf, response: "old LUTETIA", pass: true, detail: `found "Lutetia"`},
		{name: "AnyFirst", rule: anyOf, response: "Paris (Lutetia)", pass: true, detail: `found "Paris"`},
		{name: "AnyErr", rule: anyOf, response: "London", detail: "none of 2 strings found"},
		{name: "AnyCaseSensitive", rule: scoring.Rule{Method: scoring.MethodContainsAny, Values: []string{"Paris"}, CaseSensitive: new(true)}, response: "paris"},
		{name: "AllOK", rule: allOf, response: "Paris is in france", pass: true, detail: "found all 2 strings"},
		{name: "AllErr", rule: allOf, response: "Paris, Texas", detail: `"France" not found`},
		{name: "AllNegated", rule: scoring.Rule{Method: scoring.MethodContainsAll, Values: []string{"sorry", "cannot"}, Negate: true}, response: "Sorry, I cannot help", detail: "negated: "},
		{name: "AllNegatedPasses", rule: scoring.Rule{Method: scoring.MethodContainsAll, Values: []string{"sorry", "cannot"}, Negate: true}, response: "Here it is", pass: true},
	})
}

func TestScorer_JSON(t *testing.T) {
	t.Parallel()
	valid := scoring.Rule{Method: scoring.MethodJSONValid}
	schema := scoring.Rule{Method: scoring.MethodJSONSchema, Schema: json.RawMessage(`{
		"type": "object",
		"properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
		"required": ["name"],
		"additionalProperties": false
	}`)}
	withDefs := scoring.Rule{Method: scoring.MethodJSONSchema, Schema: json.RawMessage(`{
		"$defs": {"n": {"type": "number"}},
		"type": "array", "items": {"$ref": "#/$defs/n"}, "minItems": 1
	}`)}
	runGradeCases(t, []gradeCase{
		{name: "ValidOK", rule: valid, response: ` {"a": [1, 2]} `, pass: true, detail: "valid JSON"},
		{name: "ValidScalar", rule: valid, response: `42`, pass: true},
		{name: "ValidFenced", rule: valid, response: "```json\n{\"a\": 1}\n```", pass: true},
		{name: "ValidErr", rule: valid, response: `{"a": 1,}`, detail: "not valid JSON: invalid character"},
		{name: "ValidErrTwoValues", rule: valid, response: `{} {}`},
		{name: "ValidErrEmpty", rule: valid, response: "  ", detail: "empty response"},
		{name: "ValidNegated", rule: scoring.Rule{Method: scoring.MethodJSONValid, Negate: true}, response: "plain words", pass: true},
		{name: "SchemaOK", rule: schema, response: `{"name": "Ada", "age": 36}`, pass: true, detail: "matches the schema"},
		{name: "SchemaFenced", rule: schema, response: "```\n{\"name\": \"Ada\"}\n```", pass: true},
		{name: "SchemaMissing", rule: schema, response: `{"age": 36}`, detail: `does not match the schema: at "/"`},
		{name: "SchemaWrongType", rule: schema, response: `{"name": "Ada", "age": 3.5}`, detail: `"/age"`},
		{name: "SchemaExtra", rule: schema, response: `{"name": "Ada", "x": 1}`},
		{name: "SchemaNotJSON", rule: schema, response: `name: Ada`, detail: "not valid JSON"},
		{name: "SchemaDefsOK", rule: withDefs, response: `[1, 2.5]`, pass: true},
		{name: "SchemaDefsErr", rule: withDefs, response: `[1, "2"]`, detail: `"/1"`},
		{name: "SchemaExtract", rule: scoring.Rule{Method: scoring.MethodJSONSchema, Schema: schema.Schema, Extract: `(?s)<json>(.*)</json>`}, response: `Here: <json>{"name":"x"}</json>`, pass: true},
	})
}

func TestScorer_Similarity(t *testing.T) {
	t.Parallel()
	sim := scoring.Rule{Method: scoring.MethodSimilarity}
	textbook := 0.571429
	f := func(v float64) *float64 { return &v }
	runGradeCases(t, []gradeCase{
		{name: "Equal", rule: sim, q: exp("kitten"), response: "kitten", pass: true, score: f(1)},
		{name: "IgnoresCaseAndSpace", rule: sim, q: exp("Kitten"), response: "  KITTEN\n", pass: true, score: f(1)},
		// kitten → sitting is distance 3 over 7 runes: 1 − 3/7.
		{name: "Textbook", rule: sim, q: exp("kitten"), response: "sitting", score: f(0.571429), detail: "similarity 0.571429"},
		{name: "Threshold", rule: scoring.Rule{Method: scoring.MethodSimilarity, Threshold: f(0.5)}, q: exp("kitten"), response: "sitting", pass: true, score: f(0.571429)},
		// Runes, not bytes: one substitution in five runes.
		{name: "Runes", rule: sim, q: exp("héllo"), response: "hallo", pass: true, score: f(0.8)},
		{name: "CaseSensitive", rule: scoring.Rule{Method: scoring.MethodSimilarity, CaseSensitive: new(true)}, q: exp("ab"), response: "AB", score: f(0)},
		{name: "Empty", rule: sim, q: exp("abc"), response: "", score: f(0)},
		{name: "Negated", rule: scoring.Rule{Method: scoring.MethodSimilarity, Negate: true}, q: exp("kitten"), response: "sitting", pass: true, score: f(1 - textbook)},
		{name: "TooLong", rule: sim, q: exp("a"), response: strings.Repeat("a", scoring.MaxSimilarityResponse+1), score: f(0), detail: "not compared"},
		// kitten → sitting is distance 3: within 3, not within 2; the
		// score is still the similarity.
		{name: "MaxDistance", rule: scoring.Rule{Method: scoring.MethodSimilarity, MaxDistance: new(3)}, q: exp("kitten"), response: "sitting", pass: true, score: f(textbook), detail: "distance 3"},
		{name: "MaxDistanceExceeded", rule: scoring.Rule{Method: scoring.MethodSimilarity, MaxDistance: new(2)}, q: exp("kitten"), response: "sitting", score: f(textbook), detail: "at most 2"},
		{name: "MaxDistanceZero", rule: scoring.Rule{Method: scoring.MethodSimilarity, MaxDistance: new(0), CaseSensitive: new(true)}, q: exp("Paris"), response: " Paris\n", pass: true, score: f(1)},
		{name: "MaxDistanceNegated", rule: scoring.Rule{Method: scoring.MethodSimilarity, MaxDistance: new(2), Negate: true}, q: exp("kitten"), response: "sitting", pass: true, score: f(1 - textbook)},
		{name: "MaxDistanceTooLong", rule: scoring.Rule{Method: scoring.MethodSimilarity, MaxDistance: new(scoring.MaxSimilarityExpected)}, q: exp("a"), response: strings.Repeat("a", scoring.MaxSimilarityResponse+1), score: f(0), detail: "not compared"},
		{name: "LongestCompared", rule: sim, q: exp(strings.Repeat("ab", scoring.MaxSimilarityExpected/2)), response: strings.Repeat("ab", scoring.MaxSimilarityResponse/2), score: f(0.25)},
	})
}

func TestScorer_MultipleChoice(t *testing.T) {
	t.Parallel()
	mc := scoring.Rule{Method: scoring.MethodMultipleChoice}
	q := scoring.QuestionRef{Expected: "C", Choices: []string{"Berlin", "Madrid", "Paris", "Rome"}}
	byText := scoring.QuestionRef{Expected: " paris ", Choices: q.Choices}
	var cases []gradeCase
	for _, resp := range []string{
		"C", "c", "(C)", "C.", "C)", "**C**", "Answer: C", "answer: C", "The answer is C.", "The answer is (C)",
		"**Answer:** C", "Final answer - C", "I think A is tempting, but the answer is C",
		"Let me think.\nC. Paris", "My choice: (C)", "[C]", "Paris", "Answer: A. Wait, no. Answer: C",
	} {
		cases = append(cases, gradeCase{name: "OK/" + resp, rule: mc, q: q, response: resp, pass: true, detail: "expected C, got C"})
	}
	cases = append(cases,
		gradeCase{name: "OKByText", rule: mc, q: byText, response: "(C)", pass: true},
		gradeCase{name: "ErrWrong", rule: mc, q: q, response: "Answer: B", detail: "expected C, got B"},
		gradeCase{name: "ErrOutOfRange", rule: mc, q: q, response: "(E)", detail: "no choice letter found"},
		gradeCase{name: "ErrNothing", rule: mc, q: q, response: "I don't know", detail: "no choice letter found, expected C"},
		gradeCase{name: "ErrLowercaseInProse", rule: mc, q: q, response: "the answer is a city"},
		gradeCase{name: "ErrAmbiguous", rule: mc, q: q, response: "(A) or (C)", detail: "several choices named (A and C)"},
		gradeCase{name: "Extract", rule: scoring.Rule{Method: scoring.MethodMultipleChoice, Extract: `FINAL: (\w)`}, q: q, response: "(A) looks good. FINAL: C", pass: true},
	)
	runGradeCases(t, cases)
}

func TestChoicesPrompt(t *testing.T) {
	t.Parallel()
	got := scoring.ChoicesPrompt("Capital of France?\n", []string{"Berlin", " Paris "})
	if want := "Capital of France?\n\nA. Berlin\nB. Paris"; got != want {
		t.Errorf("ChoicesPrompt = %q, want %q", got, want)
	}
	if got := scoring.ChoicesPrompt("x", nil); got != "x" {
		t.Errorf("ChoicesPrompt without choices = %q", got)
	}
}

func TestScorer_ExtractAndNegate(t *testing.T) {
	t.Parallel()
	runGradeCases(t, []gradeCase{
		{name: "ExtractGroup", rule: scoring.Rule{Method: scoring.MethodExactMatch, Extract: `Answer: (.*)`}, q: exp("Paris"), response: "Thinking…\nAnswer: paris", pass: true, detail: `matched "Paris"`},
		{name: "ExtractWholeMatch", rule: scoring.Rule{Method: scoring.MethodNumeric, Extract: `\d+ apples`}, q: exp("3"), response: "2 pears and 3 apples and 9", pass: true},
		{name: "ExtractNothing", rule: scoring.Rule{Method: scoring.MethodContains, Extract: `Answer: (.*)`}, q: exp("Paris"), response: "Paris", detail: `extract pattern "Answer: (.*)" found nothing`},
		// A response without the part to compare fails whatever negate says.
		{name: "ExtractNothingNegated", rule: scoring.Rule{Method: scoring.MethodContains, Extract: `Answer: (.*)`, Negate: true}, q: exp("Paris"), response: "Paris", detail: "found nothing"},
		{name: "ExtractOnlyFirstGroupCompared", rule: scoring.Rule{Method: scoring.MethodContains, Extract: `Answer: (\w+)`}, q: exp("Paris"), response: "Answer: Lyon, not Paris"},
		{name: "NegateExact", rule: scoring.Rule{Method: scoring.MethodExactMatch, Negate: true}, q: exp("Paris"), response: "Lyon", pass: true, detail: `negated: expected "Paris", got "Lyon"`},
		{name: "NegateRegex", rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: `(?i)as an ai`, Negate: true}, response: "As an AI, I…", detail: "negated: matched"},
		{name: "NegateNumeric", rule: scoring.Rule{Method: scoring.MethodNumeric, Negate: true}, q: exp("4"), response: "5", pass: true},
	})
}

func TestRule_ValidateNewFields(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	mcq := scoring.QuestionRef{Expected: "B", Choices: []string{"x", "y"}}
	cases := []struct {
		name  string
		rule  scoring.Rule
		q     scoring.QuestionRef
		field string // "" means valid
	}{
		{name: "OKStartsWithValue", rule: scoring.Rule{Method: "starts_with", Value: "x"}},
		{name: "OKMultipleChoice", rule: scoring.Rule{Method: "multiple_choice"}, q: mcq},
		{name: "OKChoicesWithContains", rule: scoring.Rule{Method: "contains"}, q: scoring.QuestionRef{Expected: "x", Choices: []string{"x", "y"}}},
		{name: "OKMultipleChoiceText", rule: scoring.Rule{Method: "multiple_choice"}, q: scoring.QuestionRef{Expected: "Y", Choices: []string{"x", "y"}}},
		{name: "OKJSONValidNoExpected", rule: scoring.Rule{Method: "json_valid"}},
		{name: "OKSchemaBool", rule: scoring.Rule{Method: "json_schema", Schema: json.RawMessage(`true`)}},
		{name: "OKSchemaDraft7", rule: scoring.Rule{Method: "json_schema", Schema: json.RawMessage(`{"$schema":"http://json-schema.org/draft-07/schema#","type":"string"}`)}},
		{name: "OKCaseSensitiveIgnored", rule: scoring.Rule{Method: "json_valid", CaseSensitive: new(true)}},
		{name: "ErrMethodUnknown", rule: scoring.Rule{Method: "fuzzy"}, field: "scoring.method"},
		{name: "ErrStartsWithEmpty", rule: scoring.Rule{Method: "starts_with"}, q: exp(" "), field: "expected_answer"},
		{name: "ErrValueBlank", rule: scoring.Rule{Method: "contains", Value: " "}, q: exp("x"), field: "scoring.value"},
		{name: "ErrValueWithRegex", rule: scoring.Rule{Method: "regex", Pattern: "x", Value: "y"}, field: "scoring.value"},
		{name: "ErrNumericValue", rule: scoring.Rule{Method: "numeric", Value: "four"}, q: exp("4"), field: "scoring.value"},
		{name: "ErrValuesMissing", rule: scoring.Rule{Method: "contains_any"}, field: "scoring.values"},
		{name: "ErrValuesEmptyList", rule: scoring.Rule{Method: "contains_all", Values: []string{}}, field: "scoring.values"},
		{name: "ErrValuesBlank", rule: scoring.Rule{Method: "contains_all", Values: []string{"a", " "}}, field: "scoring.values[1]"},
		{name: "ErrValuesTooMany", rule: scoring.Rule{Method: "contains_any", Values: make([]string, scoring.MaxValues+1)}, field: "scoring.values"},
		{name: "ErrValuesWithContains", rule: scoring.Rule{Method: "contains", Values: []string{"a"}}, q: exp("x"), field: "scoring.values"},
		{name: "ErrSchemaMissing", rule: scoring.Rule{Method: "json_schema"}, field: "scoring.schema"},
		{name: "ErrSchemaNotJSON", rule: scoring.Rule{Method: "json_schema", Schema: json.RawMessage(`{`)}, field: "scoring.schema"},
		{name: "ErrSchemaNotObject", rule: scoring.Rule{Method: "json_schema", Schema: json.RawMessage(`[1]`)}, field: "scoring.schema"},
		{name: "ErrSchemaInvalid", rule: scoring.Rule{Method: "json_schema", Schema: json.RawMessage(`{"type": 5}`)}, field: "scoring.schema"},
		{name: "ErrSchemaRemoteRef", rule: scoring.Rule{Method: "json_schema", Schema: json.RawMessage(`{"$ref": "https://example.com/s.json"}`)}, field: "scoring.schema"},
		{name: "ErrSchemaFileRef", rule: scoring.Rule{Method: "json_schema", Schema: json.RawMessage(`{"$ref": "file:///etc/passwd"}`)}, field: "scoring.schema"},
		{name: "ErrSchemaTooLarge", rule: scoring.Rule{Method: "json_schema", Schema: json.RawMessage(`{"description":"` + strings.Repeat("x", scoring.MaxSchemaBytes) + `"}`)}, field: "scoring.schema"},
		{name: "ErrSchemaWithJSONValid", rule: scoring.Rule{Method: "json_valid", Schema: json.RawMessage(`{}`)}, field: "scoring.schema"},
		{name: "ErrSimilarityThresholdZero", rule: scoring.Rule{Method: "similarity", Threshold: f(0)}, q: exp("x"), field: "scoring.threshold"},
		{name: "ErrSimilarityThresholdAbove1", rule: scoring.Rule{Method: "similarity", Threshold: f(1.5)}, q: exp("x"), field: "scoring.threshold"},
		{name: "ErrSimilarityExpectedTooLong", rule: scoring.Rule{Method: "similarity"}, q: exp(strings.Repeat("x", scoring.MaxSimilarityExpected+1)), field: "expected_answer"},
		{name: "ErrMaxDistanceWithThreshold", rule: scoring.Rule{Method: "similarity", Threshold: f(0.5), MaxDistance: new(2)}, q: exp("x"), field: "scoring.max_distance"},
		{name: "ErrMaxDistanceNegative", rule: scoring.Rule{Method: "similarity", MaxDistance: new(-1)}, q: exp("x"), field: "scoring.max_distance"},
		{name: "ErrMaxDistanceTooLarge", rule: scoring.Rule{Method: "similarity", MaxDistance: new(scoring.MaxSimilarityExpected + 1)}, q: exp("x"), field: "scoring.max_distance"},
		{name: "ErrMaxDistanceWithContains", rule: scoring.Rule{Method: "contains", MaxDistance: new(2)}, q: exp("x"), field: "scoring.max_distance"},
		{name: "ErrMaxDistanceBesideAssertions", rule: scoring.Rule{MaxDistance: new(2), Assertions: []scoring.Assertion{{Rule: scoring.Rule{Method: "contains"}}}}, q: exp("x"), field: "scoring.max_distance"},
		{name: "OKMaxDistanceInAssertion", rule: scoring.Rule{Assertions: []scoring.Assertion{{Rule: scoring.Rule{Method: "similarity", MaxDistance: new(2)}}}}, q: exp("x")},
		{name: "ErrThresholdWithContains", rule: scoring.Rule{Method: "contains", Threshold: f(0.5)}, q: exp("x"), field: "scoring.threshold"},
		{name: "ErrChoicesMissing", rule: scoring.Rule{Method: "multiple_choice"}, q: exp("A"), field: "choices"},
		{name: "ErrChoicesTooMany", rule: scoring.Rule{Method: "multiple_choice"}, q: scoring.QuestionRef{Expected: "A", Choices: make([]string, 27)}, field: "choices"},
		{name: "ErrChoiceBlank", rule: scoring.Rule{Method: "multiple_choice"}, q: scoring.QuestionRef{Expected: "A", Choices: []string{"a", ""}}, field: "choices[1]"},
		{name: "ErrChoicesOneWithContains", rule: scoring.Rule{Method: "contains"}, q: scoring.QuestionRef{Expected: "x", Choices: []string{"x"}}, field: "choices"},
		{name: "ErrChoiceBlankWithContains", rule: scoring.Rule{Method: "contains"}, q: scoring.QuestionRef{Expected: "x", Choices: []string{"x", " "}}, field: "choices[1]"},
		{name: "ErrChoicesEmptyList", rule: scoring.Rule{Method: "multiple_choice"}, q: scoring.QuestionRef{Expected: "A", Choices: []string{}}, field: "choices"},
		{name: "ErrChoiceExpectedOutOfRange", rule: scoring.Rule{Method: "multiple_choice"}, q: scoring.QuestionRef{Expected: "C", Choices: []string{"x", "y"}}, field: "expected_answer"},
		{name: "ErrExtractInvalid", rule: scoring.Rule{Method: "contains", Extract: "(a"}, q: exp("x"), field: "scoring.extract"},
		{name: "ErrExtractTooLong", rule: scoring.Rule{Method: "contains", Extract: strings.Repeat("a", scoring.MaxPatternLength+1)}, q: exp("x"), field: "scoring.extract"},
		{name: "ErrExtractTooBig", rule: scoring.Rule{Method: "contains", Extract: `(?:\w+\s*){999}`}, q: exp("x"), field: "scoring.extract"},
		{name: "ErrJudgeFieldWithContains", rule: scoring.Rule{Method: "contains", Config: judgeCfg("x")}, q: exp("x"), field: "scoring.rubric"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.rule.Validate(tc.q)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			fe := fault.As(err)
			if fe == nil || fe.Kind != fault.KindInvalid || fe.Field != tc.field || fe.Message == "" {
				t.Fatalf("Validate = %v, want fault.Invalid on %q", err, tc.field)
			}
			if strings.Contains(fe.Message, "sabe.invalid") {
				t.Errorf("message leaks the schema's internal URL: %q", fe.Message)
			}
		})
	}
}

func TestRule_JSONCompatible(t *testing.T) {
	t.Parallel()
	// A rule of the four old methods encodes exactly as before, so stored
	// rules and their fingerprints do not change.
	old := scoring.Rule{Method: scoring.MethodNumeric, Tolerance: new(0.5), CaseSensitive: new(true)}
	out, err := json.Marshal(old)
	if err != nil || string(out) != `{"method":"numeric","tolerance":0.5,"case_sensitive":true}` {
		t.Errorf("Marshal = %s, %v", out, err)
	}
	in := `{"assertions":[{"method":"contains","value":"x","weight":2},{"method":"llm_judge","rubric":"polite","verdict":{"kind":"score","min":0,"max":10},"threshold":0.7}],"threshold":0.5}`
	var r scoring.Rule
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Assertions) != 2 || *r.Assertions[0].Weight != 2 || r.Assertions[1].Rubric != "polite" || *r.Assertions[1].Verdict.Min != 0 {
		t.Fatalf("Unmarshal = %+v", r)
	}
	out, _ = json.Marshal(r)
	var got, want any
	_ = json.Unmarshal(out, &got)
	_ = json.Unmarshal([]byte(in), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n%s\n%s", out, in)
	}
}

func TestRule_SchemaPatternBounds(t *testing.T) {
	t.Parallel()
	classes := `"` + strings.Repeat(`[a-z]`, scoring.MaxPatternClasses) + `"`
	cases := []struct {
		name   string
		schema string
		ok     bool
	}{
		{name: "OK", schema: `{"type":"string","pattern":"^[a-z]+$"}`, ok: true},
		{name: "OKPatternProperties", schema: `{"patternProperties":{"^x-[a-z]+$":{"type":"string"}}}`, ok: true},
		{name: "ErrSyntax", schema: `{"pattern":"(a"}`},
		{name: "ErrProgram", schema: `{"pattern":"(?:\\w+\\s*){999}"}`},
		{name: "ErrClassesInAll", schema: `{"properties":{"a":{"pattern":` + classes + `},"b":{"pattern":` + classes + `},"c":{"pattern":"[x]"}}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := scoring.Rule{Method: "json_schema", Schema: json.RawMessage(tc.schema)}.Validate(scoring.QuestionRef{})
			if tc.ok != (err == nil) {
				t.Fatalf("Validate = %v, want ok %v", err, tc.ok)
			}
			if fe := fault.As(err); err != nil && (fe == nil || fe.Field != "scoring.schema") {
				t.Errorf("Validate = %v, want a fault on scoring.schema", err)
			}
		})
	}
	r := scoring.Rule{Assertions: []scoring.Assertion{
		{Rule: scoring.Rule{Method: "regex", Pattern: `[a][b]`, Extract: `\pL`}},
		{Rule: scoring.Rule{Method: "json_schema", Schema: json.RawMessage(`{"required":["a"],"pattern":"[c]","patternProperties":{"[d][e]":{}}}`)}},
	}}
	if got := r.PatternClasses(); got != 6 {
		t.Errorf("PatternClasses = %d, want 6", got)
	}
}

func TestRule_MaxDistanceMatchesOpenAPI(t *testing.T) {
	t.Parallel()
	// The API converts its Scoring to a Rule through JSON: max_distance
	// must have one name in both, also inside assertions.
	in := oapi.Scoring{Assertions: &[]oapi.ScoringAssertion{{Method: new(oapi.ScoringMethod("similarity")), MaxDistance: new(4)}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var r scoring.Rule
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Assertions) != 1 || r.Assertions[0].MaxDistance == nil || *r.Assertions[0].MaxDistance != 4 {
		t.Fatalf("Rule from %s = %+v", b, r)
	}
	out, err := json.Marshal(scoring.Rule{Method: scoring.MethodSimilarity, MaxDistance: new(2)})
	if err != nil {
		t.Fatal(err)
	}
	var back oapi.Scoring
	if err := json.Unmarshal(out, &back); err != nil || back.MaxDistance == nil || *back.MaxDistance != 2 {
		t.Fatalf("Scoring from %s = %+v, %v", out, back, err)
	}
}
