package notify

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sabe-dev/sabe/internal/text"
)

// Slack's limits on what a message's blocks carry.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackTextMax    = 2000 // the fallback line; Slack allows more, a line needs less
	slackLeaders    = 5
	slackFlipped    = 5
)

// slackMessage is a Slack incoming-webhook message: text is what
// notifications and clients without blocks show.
type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string         `json:"type"`
	Text     *slackText     `json:"text,omitempty"`
	Fields   []slackText    `json:"fields,omitempty"`
	Elements []slackElement `json:"elements,omitempty"`
}

type slackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// slackElement is a context block's text or an actions block's button.
type slackElement struct {
	Type string `json:"type"`
	Text any    `json:"text,omitempty"` // a string in context, a slackText in a button
	URL  string `json:"url,omitempty"`
}

// slackEscape makes user text literal in mrkdwn: Slack reads &, < and >
// as the start of entities, links and mentions.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func header(s string) slackBlock {
	return slackBlock{Type: "header", Text: &slackText{Type: "plain_text", Text: text.ClipRunes(s, slackHeaderMax), Emoji: true}}
}

func section(mrkdwn string) slackBlock {
	return slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: text.ClipRunes(mrkdwn, slackSectionMax)}}
}

func contextBlock(mrkdwn string) slackBlock {
	return slackBlock{Type: "context", Elements: []slackElement{{Type: "mrkdwn", Text: text.ClipRunes(mrkdwn, slackSectionMax)}}}
}

// linkBlocks lead to the dashboard: a button when the link is absolute
// (Slack refuses a button with a relative URL), else the path as text.
func linkBlocks(l EventLinks, occurred time.Time) []slackBlock {
	when := "Occurred " + occurred.UTC().Format("2006-01-02 15:04:05 UTC")
	if strings.HasPrefix(l.Dashboard, "http://") || strings.HasPrefix(l.Dashboard, "https://") {
		return []slackBlock{
			{Type: "actions", Elements: []slackElement{{Type: "button", Text: slackText{Type: "plain_text", Text: "Open in SABE"}, URL: l.Dashboard}}},
			contextBlock(when),
		}
	}
	return []slackBlock{contextBlock(when + " · dashboard: `" + slackEscape(l.Dashboard) + "`")}
}

func renderSlack(ev Event, l EventLinks) ([]byte, error) {
	var (
		msg slackMessage
		err error
	)
	switch ev.Type {
	case RunCompleted, RunPartial, RunFailed, RunCancelled:
		msg, err = slackRun(ev.Payload)
	case RegressionDetected:
		msg, err = slackRegression(ev.Payload)
	case ScheduleSkipped:
		msg, err = slackSkipped(ev.Payload)
	case CircuitOpened, CircuitClosed:
		msg, err = slackCircuit(ev.Payload)
	case WebhookTest:
		msg, err = slackTest(ev.Payload)
	default:
		err = fmt.Errorf("no Slack message for event type %q", ev.Type)
	}
	if err != nil {
		return nil, err
	}
	msg.Text = text.ClipRunes(msg.Text, slackTextMax)
	msg.Blocks = append(msg.Blocks, linkBlocks(l, ev.OccurredAt)...)
	return json.Marshal(msg)
}

func slackRun(raw []byte) (slackMessage, error) {
	var r RunFinished
	if err := json.Unmarshal(raw, &r); err != nil {
		return slackMessage{}, err
	}
	name := slackEscape(r.BenchmarkName)
	var b strings.Builder
	fmt.Fprintf(&b, "*Benchmark:* %s\n*Status:* %s · trigger %s", name, r.Status, slackEscape(r.Trigger))
	if r.ScheduledFor != nil {
		fmt.Fprintf(&b, " (scheduled for %s)", r.ScheduledFor.UTC().Format("2006-01-02 15:04 UTC"))
	}
	fmt.Fprintf(&b, "\n*Units:* %d of %d succeeded · %d failed · %d cancelled · %d skipped · %d unscored\n*Cost:* $%.4f",
		r.Succeeded, r.Total, r.Failed, r.Cancelled, r.Skipped, r.Unscored, r.CostUSD)
	if r.Reason != "" {
		fmt.Fprintf(&b, "\n*Reason:* %s", slackEscape(r.Reason))
	}
	blocks := []slackBlock{header(fmt.Sprintf("Run %s: %s", r.Status, r.BenchmarkName)), section(b.String())}
	if len(r.Leaderboard) > 0 {
		var lb strings.Builder
		lb.WriteString("*Leaderboard*")
		for _, line := range r.Leaderboard[:min(len(r.Leaderboard), slackLeaders)] {
			fmt.Fprintf(&lb, "\n%d. %s — %.3f (95%% CI %.3f–%.3f)", line.Rank, slackEscape(line.ModelName), line.Score, line.CILow, line.CIHigh)
		}
		blocks = append(blocks, section(lb.String()))
	}
	fallback := fmt.Sprintf("Run %s: %s (%d of %d units succeeded)", r.Status, name, r.Succeeded, r.Total)
	if len(r.Leaderboard) > 0 {
		fallback += fmt.Sprintf("; top: %s %.3f", slackEscape(r.Leaderboard[0].ModelName), r.Leaderboard[0].Score)
	}
	return slackMessage{Text: fallback, Blocks: blocks}, nil
}

// metricValue formats a value of a regression's metric.
func metricValue(metric string, v float64) string {
	switch metric {
	case "score":
		return fmt.Sprintf("%.3f", v)
	case "cost":
		return fmt.Sprintf("$%.6f", v)
	}
	return fmt.Sprintf("%.4g", v)
}

func slackRegression(raw []byte) (slackMessage, error) {
	var r Regression
	if err := json.Unmarshal(raw, &r); err != nil {
		return slackMessage{}, err
	}
	bench, model := slackEscape(r.BenchmarkName), slackEscape(r.ModelName)
	v := func(x float64) string { return metricValue(r.Metric, x) }
	signed := func(x float64) string {
		if x >= 0 {
			return "+" + v(x)
		}
		return "−" + v(math.Abs(x))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*Benchmark:* %s\n*Model:* %s\n*Metric:* %s\n*Change:* %s → %s (%s",
		bench, model, r.Metric, v(r.Previous), v(r.Current), signed(r.Diff))
	if r.RelativeChange != nil {
		pct := fmt.Sprintf("%.1f%%", math.Abs(*r.RelativeChange*100))
		if *r.RelativeChange < 0 {
			pct = "−" + pct
		} else {
			pct = "+" + pct
		}
		fmt.Fprintf(&b, ", %s", pct)
	}
	fmt.Fprintf(&b, ")\n*95%% interval of the difference:* %s to %s\n*Corrected p-value:* %.4g (%s over %d comparisons; uncorrected %.4g)\n*Minimum effect:* %s\n*Questions:* %d paired · %d regressed · %d improved",
		signed(r.CILow), signed(r.CIHigh), r.PAdjusted, r.Correction, r.Comparisons, r.PValue, v(r.MinEffect), r.Questions, r.Regressed, r.Improved)
	blocks := []slackBlock{header(fmt.Sprintf("Regression: %s on %s (%s)", r.ModelName, r.BenchmarkName, r.Metric)), section(b.String())}
	if len(r.Flipped) > 0 {
		var fb strings.Builder
		fmt.Fprintf(&fb, "*Questions whose verdict flipped* (%d of %d shown)", min(len(r.Flipped), slackFlipped), len(r.Flipped))
		for _, q := range r.Flipped[:min(len(r.Flipped), slackFlipped)] {
			fmt.Fprintf(&fb, "\n• %s [%s] %s: %.0f%% → %.0f%%", q.Change, slackEscape(q.Category), slackEscape(q.PromptExcerpt), q.PreviousPassRate*100, q.CurrentPassRate*100)
		}
		blocks = append(blocks, section(fb.String()))
	}
	fallback := fmt.Sprintf("Regression on %s: %s %s %s → %s (%s, 95%% CI %s to %s, corrected p %.4g)",
		bench, model, r.Metric, v(r.Previous), v(r.Current), signed(r.Diff), signed(r.CILow), signed(r.CIHigh), r.PAdjusted)
	return slackMessage{Text: fallback, Blocks: blocks}, nil
}

func slackSkipped(raw []byte) (slackMessage, error) {
	// schedule.SkippedEvent's fields (pkg/schedule imports this package
	// to kick the dispatch, so this one does not import it).
	var s struct {
		BenchmarkName string    `json:"benchmark_name"`
		ScheduledFor  time.Time `json:"scheduled_for"`
		Reason        string    `json:"reason"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return slackMessage{}, err
	}
	name, reason := slackEscape(s.BenchmarkName), slackEscape(s.Reason)
	at := s.ScheduledFor.UTC().Format("2006-01-02 15:04 UTC")
	return slackMessage{
		Text: fmt.Sprintf("Scheduled run of %s at %s skipped: %s", name, at, reason),
		Blocks: []slackBlock{
			header("Scheduled run skipped: " + s.BenchmarkName),
			section(fmt.Sprintf("*Benchmark:* %s\n*Scheduled for:* %s\n*Reason:* %s", name, at, reason)),
		},
	}, nil
}

func slackCircuit(raw []byte) (slackMessage, error) {
	var c CircuitChanged
	if err := json.Unmarshal(raw, &c); err != nil {
		return slackMessage{}, err
	}
	name := slackEscape(c.ProviderName)
	since := c.Since.UTC().Format("2006-01-02 15:04:05 UTC")
	var b strings.Builder
	fmt.Fprintf(&b, "*Provider:* %s\n*Circuit:* %s\n*Open since:* %s", name, c.State, since)
	title, fallback := "Provider circuit opened: "+c.ProviderName, fmt.Sprintf("Provider %s: circuit opened, calls stopped", name)
	if c.State == "closed" {
		title, fallback = "Provider circuit closed: "+c.ProviderName, fmt.Sprintf("Provider %s: circuit closed, calls resumed", name)
		if c.ClosedAt != nil {
			fmt.Fprintf(&b, "\n*Closed at:* %s (open for %s)", c.ClosedAt.UTC().Format("2006-01-02 15:04:05 UTC"), c.ClosedAt.Sub(c.Since).Round(time.Second))
		}
	}
	if c.LastError != "" {
		fmt.Fprintf(&b, "\n*Last error:* %s", slackEscape(c.LastError))
	}
	return slackMessage{Text: fallback, Blocks: []slackBlock{header(title), section(b.String())}}, nil
}

func slackTest(raw []byte) (slackMessage, error) {
	var w WebhookTested
	if err := json.Unmarshal(raw, &w); err != nil {
		return slackMessage{}, err
	}
	msg := slackEscape(w.Message)
	return slackMessage{
		Text:   "SABE webhook test: " + msg,
		Blocks: []slackBlock{header("SABE webhook test"), section(msg)},
	}, nil
}
