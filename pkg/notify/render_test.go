package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
)

var update = flag.Bool("update", false, "rewrite the golden files of pkg/notify/testdata")

var (
	occurred   = time.Date(2026, 12, 7, 9, 30, 15, 0, time.UTC)
	runID      = uuid.MustParse("0190c3b2-0000-7000-8000-000000000001")
	benchID    = uuid.MustParse("0190c3b2-0000-7000-8000-000000000002")
	modelA     = uuid.MustParse("0190c3b2-0000-7000-8000-00000000000a")
	modelB     = uuid.MustParse("0190c3b2-0000-7000-8000-00000000000b")
	providerID = uuid.MustParse("0190c3b2-0000-7000-8000-000000000003")
)

func mustPayload(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// renderCase is one event the golden files cover, and the OpenAPI schema
// its json data must satisfy.
type renderCase struct {
	name   string
	schema string
	ev     Event
	links  Links
}

func renderCases(t testing.TB) []renderCase {
	sched := occurred.Add(-30 * time.Minute)
	rel := -0.125
	ev := func(typ string, payload any) Event {
		return Event{ID: uuid.MustParse("0190c3b2-0000-7000-8000-0000000000ee"), Type: typ, OccurredAt: occurred, BenchmarkID: &benchID, Payload: mustPayload(t, payload)}
	}
	public := Links{PublicURL: "https://sabe.example.com/"}
	return []renderCase{
		{"run_completed", "RunEventData", ev(RunCompleted, RunFinished{
			RunID: runID, BenchmarkID: benchID, BenchmarkName: "Support <QA> & triage", Status: "completed", Trigger: "schedule",
			ScheduledFor: &sched, CreatedAt: occurred.Add(-20 * time.Minute), FinishedAt: occurred, Total: 40, Succeeded: 40, CostUSD: 0.01234,
			Leaderboard: []LeaderLine{
				{Rank: 1, ModelID: modelA, ModelName: "gpt-4o", Score: 0.85, CILow: 0.74, CIHigh: 0.93},
				{Rank: 2, ModelID: modelB, ModelName: "claude <sonnet>", Score: 0.8, CILow: 0.68, CIHigh: 0.9},
			},
		}), public},
		{"run_failed", "RunEventData", ev(RunFailed, RunFinished{
			RunID: runID, BenchmarkID: benchID, BenchmarkName: "smoke", Status: "failed", Trigger: "api",
			Reason: "every unit failed: provider answered 401", CreatedAt: occurred.Add(-time.Minute), FinishedAt: occurred,
			Total: 4, Failed: 4, Leaderboard: []LeaderLine{},
		}), Links{}},
		{"regression_detected", "RegressionEventData", ev(RegressionDetected, Regression{
			ID: uuid.MustParse("0190c3b2-0000-7000-8000-0000000000a1"), RunID: runID, BaselineRunID: uuid.MustParse("0190c3b2-0000-7000-8000-0000000000b0"),
			BenchmarkID: benchID, BenchmarkName: "Support QA", ModelID: modelA, ModelName: "gpt-4o", Metric: "score",
			Previous: 0.8, Current: 0.7, Diff: -0.1, CILow: -0.16, CIHigh: -0.04, RelativeChange: &rel, PValue: 0.002, PAdjusted: 0.012,
			Correction: "holm", Comparisons: 6, MinEffect: 0.02, Questions: 40, Regressed: 6, Improved: 2,
			Flipped: []FlippedQuestion{
				{QuestionID: uuid.MustParse("0190c3b2-0000-7000-8000-0000000000c1"), Category: "math", PromptExcerpt: "Is 7 < 9 & 9 > 3?", PreviousRevision: 1, CurrentRevision: 1, PreviousPassRate: 1, CurrentPassRate: 0, Change: "regressed"},
				{QuestionID: uuid.MustParse("0190c3b2-0000-7000-8000-0000000000c2"), Category: "geo", PromptExcerpt: "Capital of France?", PreviousRevision: 2, CurrentRevision: 2, PreviousPassRate: 0.5, CurrentPassRate: 1, Change: "improved"},
			},
			CreatedAt: occurred,
		}), public},
		{"schedule_skipped", "ScheduleSkippedEventData", ev(ScheduleSkipped, map[string]any{ // schedule.SkippedEvent, which imports this package
			"benchmark_id": benchID, "benchmark_name": "nightly", "scheduled_for": sched, "reason": "the previous scheduled run is unfinished (overlap skip)",
		}), Links{}},
		{"circuit_opened", "CircuitEventData", ev(CircuitOpened, CircuitChanged{
			ProviderID: providerID, ProviderName: "openrouter", State: "open", Since: occurred, LastError: "provider answered 503: <html>unavailable</html>",
		}), public},
		{"circuit_closed", "CircuitEventData", ev(CircuitClosed, CircuitChanged{
			ProviderID: providerID, ProviderName: "openrouter", State: "closed", Since: occurred.Add(-5 * time.Minute), ClosedAt: &occurred, LastError: "",
		}), public},
		{"webhook_test", "WebhookTestEventData", ev(WebhookTest, WebhookTested{
			WebhookID: uuid.MustParse("0190c3b2-0000-7000-8000-0000000000f1"), Message: "a test event from SABE",
		}), Links{}},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("%s: not JSON: %v", name, err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/notify -run TestRender -update)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs from the golden file (go test ./pkg/notify -run TestRender -update to accept):\n%s", path, pretty.String())
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromFile("../httpapi/openapi.yaml")
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	opts := []openapi3.SchemaValidationOption{
		openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562)),
		openapi3.WithStringFormatValidator("date-time", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringDateTime)),
	}
	for _, c := range renderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			body, ctype, err := Render(FormatJSON, c.ev, c.links)
			if err != nil || ctype != "application/json" {
				t.Fatalf("Render(json) = %q, %v", ctype, err)
			}
			golden(t, c.name+".json", body)

			var msg map[string]any
			if err := json.Unmarshal(body, &msg); err != nil {
				t.Fatal(err)
			}
			if msg["type"] != c.ev.Type || msg["timestamp"] != "2026-12-07T09:30:15Z" {
				t.Errorf("type, timestamp = %v, %v", msg["type"], msg["timestamp"])
			}
			if err := doc.Components.Schemas["WebhookEventType"].Value.VisitJSON(msg["type"], opts...); err != nil {
				t.Errorf("type: %v", err)
			}
			if err := doc.Components.Schemas[c.schema].Value.VisitJSON(msg["data"], opts...); err != nil {
				t.Errorf("data does not satisfy %s: %v", c.schema, err)
			}
			links := msg["data"].(map[string]any)["links"].(map[string]any)
			if c.links.PublicURL != "" && !strings.HasPrefix(links["dashboard"].(string), "https://sabe.example.com/") {
				t.Errorf("links = %v, want them under the public URL", links)
			}

			body, _, err = Render(FormatSlack, c.ev, c.links)
			if err != nil {
				t.Fatalf("Render(slack) = %v", err)
			}
			golden(t, c.name+".slack.json", body)
		})
	}
}

func TestRender_Errors(t *testing.T) {
	t.Parallel()
	ev := Event{Type: WebhookTest, OccurredAt: occurred, Payload: []byte(`{"webhook_id":"0190c3b2-0000-7000-8000-0000000000f1","message":"x"}`)}
	if _, _, err := Render("xml", ev, Links{}); err == nil {
		t.Error("an unknown format rendered")
	}
	if _, _, err := Render(FormatJSON, Event{Type: "nope", Payload: []byte(`{}`)}, Links{}); err == nil {
		t.Error("an unknown event type rendered")
	}
	if _, _, err := Render(FormatSlack, Event{Type: RunCompleted, Payload: []byte(`[`)}, Links{}); err == nil {
		t.Error("a broken payload rendered")
	}
}

func TestSlackEscape(t *testing.T) {
	t.Parallel()
	if got, want := slackEscape("a <@U123> & <!channel> > b"), "a &lt;@U123&gt; &amp; &lt;!channel&gt; &gt; b"; got != want {
		t.Errorf("slackEscape = %q, want %q", got, want)
	}
}

// BenchmarkRender times rendering a finished run's event, as a dispatch
// does once per delivery.
func BenchmarkRender(b *testing.B) {
	c := renderCases(b)[0]
	for _, format := range []string{FormatJSON, FormatSlack} {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := Render(format, c.ev, c.links); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
