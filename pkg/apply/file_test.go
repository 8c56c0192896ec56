package apply_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/apply"
)

func TestParse_Example(t *testing.T) {
	t.Parallel()
	fh, err := os.Open("../../examples/sabe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	f, err := apply.Parse(fh, "../../examples")
	if err != nil {
		t.Fatal(err)
	}
	if len(*f.Providers) != 1 || len(*f.Models) != 2 || len(*f.Suites) != 2 || len(*f.Benchmarks) != 1 {
		t.Fatalf("parsed %d providers, %d models, %d suites, %d benchmarks", len(*f.Providers), len(*f.Models), len(*f.Suites), len(*f.Benchmarks))
	}
	q := (*f.Suites)[1].Questions[0]
	if q.Key != "add-1" || q.ExpectedAnswer != "42" || q.Scoring == nil || q.Scoring.Method != "numeric" {
		t.Fatalf("question = %+v", q)
	}
	if got := (*f.Providers)[0].APIKey; got != "${OPENROUTER_API_KEY}" {
		t.Fatalf("api_key = %q, the reference as written", got)
	}
	a := (*f.Benchmarks)[0].Alerts
	if a == nil || len(a.Metrics) != 2 || a.Metrics[1] != "latency_p95" || a.MinEffect == nil || a.MinEffect.Score == nil || *a.MinEffect.Score != 0.03 ||
		a.CompareTo != "previous_run" || a.Alpha == nil || *a.Alpha != 0.05 || a.Enabled != nil {
		t.Fatalf("alerts = %+v, want the example's as written", a)
	}
}

func TestParse_Errors(t *testing.T) {
	t.Parallel()
	const head = "apiVersion: sabe/v1\n"
	const bench = head + "benchmarks:\n  - name: b\n    suites: [s]\n    models: [m]\n"
	for _, tc := range []struct {
		name, file, want string
	}{
		{"UnknownField", head + "benchmarks:\n  - name: a\n    suites: [s]\n    models: [m]\n  - name: b\n    suites: [s]\n    models: [m]\n    schedule:\n      crn: '@daily'\n",
			"line 10: benchmarks[1].schedule.crn: unknown field"},
		{"WrongType", head + "models:\n  - name: m\n    provider: p\n    input_cost_per_mtok: cheap\n", "models[0].input_cost_per_mtok: want a number"},
		{"LiteralKey", head + "providers:\n  - name: p\n    kind: openai\n    base_url: https://x\n    api_key: sk-live-123\n",
			"providers[0].api_key: api_key must be a ${ENV_VAR} reference"},
		{"MissingKey", head + "suites:\n  - name: s\n    questions:\n      - prompt: hi\n        expected_answer: x\n", "suites[0].questions[0].key: required"},
		{"DuplicateKey", head + "suites:\n  - name: s\n    questions:\n      - {key: a, prompt: x, expected_answer: y}\n      - {key: a, prompt: z, expected_answer: y}\n",
			`suites[0].questions[1].key: "a" is also suites[0].questions[0]`},
		{"DuplicateName", head + "suites:\n  - name: S\n  - name: s\n", `suites[1].name: "s" is also suites[0]`},
		{"Version", "apiVersion: v2\n", `apiVersion: must be "sabe/v1"`},
		{"NotAList", head + "providers: {name: p}\n", "providers: want a list"},
		{"AlertsUnknownField", bench + "    alerts:\n      min_efect: {score: 0.1}\n", "line 7: benchmarks[0].alerts.min_efect: unknown field"},
		{"AlertsMinEffectUnknownMetric", bench + "    alerts:\n      min_effect: {accuracy: 0.1}\n", "benchmarks[0].alerts.min_effect.accuracy: unknown field"},
		{"AlertsMetric", bench + "    alerts:\n      metrics: [score, latency]\n", `benchmarks[0].alerts.metrics[1]: "latency": give score, latency_p95 or cost`},
		{"AlertsMetricTwice", bench + "    alerts:\n      metrics: [cost, cost]\n", `benchmarks[0].alerts.metrics[1]: "cost" is also metrics[0]`},
		{"AlertsNoMetrics", bench + "    alerts:\n      metrics: []\n", "benchmarks[0].alerts.metrics: give one metric or more"},
		{"AlertsCompareTo", bench + "    alerts:\n      compare_to: last_month\n", `benchmarks[0].alerts.compare_to: "last_month": give previous_run or previous_week`},
		{"AlertsAlpha", bench + "    alerts:\n      alpha: 0.5\n", "benchmarks[0].alerts.alpha: 0.5: give 0.0001 to 0.2"},
		{"AlertsMinEffectRange", bench + "    alerts:\n      min_effect: {score: 2}\n", "benchmarks[0].alerts.min_effect.score: 2: give 0 to 1"},
		{"AlertsWrongType", bench + "    alerts:\n      enabled: sometimes\n", "benchmarks[0].alerts.enabled: want"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := apply.Parse(strings.NewReader(tc.file), ".")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			var fe *apply.FieldError
			var ps apply.Problems
			if !errors.As(err, &fe) && !errors.As(err, &ps) {
				t.Fatalf("err is %T, want a FieldError or Problems", err)
			}
		})
	}
}

// A file written by Marshal reads back as the same file: what
// export-config writes, apply takes.
func TestFile_MarshalRoundTrip(t *testing.T) {
	t.Parallel()
	fh, err := os.Open("../../examples/sabe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	f, err := apply.Parse(fh, ".")
	if err != nil {
		t.Fatal(err)
	}
	// Values YAML would read as another type unless quoted.
	(*f.Suites)[0].Questions[0].ExpectedAnswer = "true"
	(*f.Suites)[0].Description = "line one\nline two: with a colon"
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g, err := apply.Parse(strings.NewReader(string(b)), ".")
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	b2, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) {
		t.Fatalf("round trip differs:\n%s\n---\n%s", b, b2)
	}
	if got := (*g.Suites)[0].Questions[0].ExpectedAnswer; got != "true" {
		t.Fatalf("expected_answer = %q after the round trip", got)
	}
	if !strings.Contains(string(b), "api_key: ${OPENROUTER_API_KEY}") {
		t.Fatalf("the key reference is not written as is:\n%s", b)
	}
}

func TestDerivedKey(t *testing.T) {
	t.Parallel()
	a := apply.DerivedKey(apply.Question{Prompt: "What is 2+2?", ExpectedAnswer: "4"})
	b := apply.DerivedKey(apply.Question{Prompt: "What is 2+2?", ExpectedAnswer: "5"})
	c := apply.DerivedKey(apply.Question{Prompt: "What is 2+3?"})
	if a != b || a == c || !strings.HasPrefix(a, "h-") || len(a) != 14 {
		t.Fatalf("keys %q %q %q: want the same for the same prompt, another for another", a, b, c)
	}
}

func TestKeyVar(t *testing.T) {
	t.Parallel()
	if got := apply.KeyVar("open-router.ai"); got != "OPEN_ROUTER_AI_API_KEY" {
		t.Fatalf("KeyVar = %q", got)
	}
	if got := apply.HeaderVar("mock", "HTTP-Referer"); got != "MOCK_HEADER_HTTP_REFERER" {
		t.Fatalf("HeaderVar = %q", got)
	}
}
