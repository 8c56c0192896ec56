package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// AlertFilter narrows the regression alerts listed; a nil field does not.
type AlertFilter struct {
	BenchmarkID *uuid.UUID
	ModelID     *uuid.UUID
	RunID       *uuid.UUID
	Metric      *oapi.AlertMetric
	// From keeps alerts raised at or after it, To those raised before it.
	From, To *time.Time
}

func (f AlertFilter) query() url.Values {
	q := url.Values{}
	for k, id := range map[string]*uuid.UUID{"benchmark_id": f.BenchmarkID, "model_id": f.ModelID, "run_id": f.RunID} {
		if id != nil {
			q.Set(k, id.String())
		}
	}
	if f.Metric != nil {
		q.Set("metric", string(*f.Metric))
	}
	if f.From != nil {
		q.Set("from", f.From.UTC().Format(time.RFC3339Nano))
	}
	if f.To != nil {
		q.Set("to", f.To.UTC().Format(time.RFC3339Nano))
	}
	return q
}

// ListAlerts reads one page of regression alerts, newest first (GET
// /v1/alerts), narrowed by f; cursor is "" for the first page.
func (c *Client) ListAlerts(ctx context.Context, f AlertFilter, limit int, cursor string) (oapi.AlertList, error) {
	q := f.query()
	for k, v := range pageQuery(limit, cursor) {
		q[k] = v
	}
	var out oapi.AlertList
	err := c.Do(ctx, http.MethodGet, withQuery("/v1/alerts", q), nil, &out)
	return out, err
}

// EachAlert calls fn with each alert f keeps, newest first, page by page,
// until fn returns false or the pages end.
func (c *Client) EachAlert(ctx context.Context, f AlertFilter, fn func(oapi.Alert) bool) error {
	return eachItem(ctx, c, "/v1/alerts", f.query(), fn)
}

// GetAlert reads one regression alert with its evidence (GET
// /v1/alerts/{id}).
func (c *Client) GetAlert(ctx context.Context, id uuid.UUID) (oapi.Alert, error) {
	var out oapi.Alert
	err := c.Do(ctx, http.MethodGet, "/v1/alerts/"+id.String(), nil, &out)
	return out, err
}
