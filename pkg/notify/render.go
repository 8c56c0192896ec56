package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The formats a webhook's deliveries are rendered in.
const (
	FormatJSON  = "json"
	FormatSlack = "slack"
)

// Links is where events point: PublicURL (SABE_PUBLIC_URL) or, when it is
// empty, paths from the server's root.
type Links struct {
	PublicURL string
}

// EventLinks are an event's links (the API's EventLinks): the API
// resource and the dashboard page it is about.
type EventLinks struct {
	API       string `json:"api"`
	Dashboard string `json:"dashboard"`
}

// eventIDs are the ids an event's links are made of, as its payloads name
// them.
type eventIDs struct {
	ID          uuid.UUID `json:"id"`
	RunID       uuid.UUID `json:"run_id"`
	BenchmarkID uuid.UUID `json:"benchmark_id"`
	ProviderID  uuid.UUID `json:"provider_id"`
	WebhookID   uuid.UUID `json:"webhook_id"`
}

// For is where an event of type typ with this payload points.
func (l Links) For(typ string, payload []byte) (EventLinks, error) {
	var ids eventIDs
	if err := json.Unmarshal(payload, &ids); err != nil {
		return EventLinks{}, fmt.Errorf("read the ids of a %s event: %w", typ, err)
	}
	var api, dashboard string
	switch typ {
	case RunCompleted, RunPartial, RunFailed, RunCancelled:
		api, dashboard = "/v1/runs/"+ids.RunID.String(), "/runs/"+ids.RunID.String()
	case RegressionDetected:
		api, dashboard = "/v1/alerts/"+ids.ID.String(), "/runs/"+ids.RunID.String()
	case ScheduleSkipped:
		api, dashboard = "/v1/benchmarks/"+ids.BenchmarkID.String(), "/schedules"
	case CircuitOpened, CircuitClosed:
		api, dashboard = "/v1/providers/"+ids.ProviderID.String(), "/providers"
	case WebhookTest:
		api, dashboard = "/v1/webhooks/"+ids.WebhookID.String(), "/admin/webhooks"
	default:
		return EventLinks{}, fmt.Errorf("no links for event type %q", typ)
	}
	base := strings.TrimSuffix(l.PublicURL, "/")
	return EventLinks{API: base + api, Dashboard: base + dashboard}, nil
}

// payload is the body of a json delivery (the API's WebhookPayload).
type payload struct {
	Type      string                     `json:"type"`
	Timestamp string                     `json:"timestamp"`
	Data      map[string]json.RawMessage `json:"data"`
}

// Render is the body of a delivery of ev in format ("json": the Standard
// Webhooks payload {type, timestamp, data} with data's links; "slack": a
// Slack incoming-webhook message), and its content type.
func Render(format string, ev Event, links Links) (body []byte, contentType string, err error) {
	l, err := links.For(ev.Type, ev.Payload)
	if err != nil {
		return nil, "", err
	}
	switch format {
	case FormatJSON:
		body, err = renderJSON(ev, l)
	case FormatSlack:
		body, err = renderSlack(ev, l)
	default:
		return nil, "", fmt.Errorf("unknown webhook format %q", format)
	}
	if err != nil {
		return nil, "", fmt.Errorf("render %s event %s as %s: %w", ev.Type, ev.ID, format, err)
	}
	return body, "application/json", nil
}

// renderJSON keeps the stored payload as it is (its numbers and strings
// verbatim) and adds the links beside its fields.
func renderJSON(ev Event, l EventLinks) ([]byte, error) {
	var data map[string]json.RawMessage
	if err := json.Unmarshal(ev.Payload, &data); err != nil {
		return nil, err
	}
	if data == nil {
		data = map[string]json.RawMessage{}
	}
	rawLinks, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	data["links"] = rawLinks
	return json.Marshal(payload{Type: ev.Type, Timestamp: ev.OccurredAt.UTC().Format(time.RFC3339Nano), Data: data})
}
