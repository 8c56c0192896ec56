package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// webhookPath is the path of one webhook, or of something under it when
// rest is given ("/test", "/deliveries").
func webhookPath(id uuid.UUID, rest string) string {
	return "/v1/webhooks/" + id.String() + rest
}

// CreateWebhook subscribes an endpoint to events (POST /v1/webhooks). The
// answer carries the signing secret, which the API never shows again.
func (c *Client) CreateWebhook(ctx context.Context, in oapi.CreateWebhookRequest) (oapi.CreatedWebhook, error) {
	var out oapi.CreatedWebhook
	err := c.Do(ctx, http.MethodPost, "/v1/webhooks", in, &out)
	return out, err
}

// GetWebhook reads a webhook without its secret (GET /v1/webhooks/{id}).
func (c *Client) GetWebhook(ctx context.Context, id uuid.UUID) (oapi.Webhook, error) {
	var out oapi.Webhook
	err := c.Do(ctx, http.MethodGet, webhookPath(id, ""), nil, &out)
	return out, err
}

// ListWebhooks reads one page of webhooks in creation order (GET
// /v1/webhooks); cursor is "" for the first page.
func (c *Client) ListWebhooks(ctx context.Context, limit int, cursor string) (oapi.WebhookList, error) {
	var out oapi.WebhookList
	err := c.Do(ctx, http.MethodGet, withQuery("/v1/webhooks", pageQuery(limit, cursor)), nil, &out)
	return out, err
}

// AllWebhooks reads every webhook, page by page (GET /v1/webhooks).
func (c *Client) AllWebhooks(ctx context.Context) ([]oapi.Webhook, error) {
	return listAll[oapi.Webhook](ctx, c, "/v1/webhooks", nil)
}

// UpdateWebhook changes the fields of a webhook that in sets (PATCH
// /v1/webhooks/{id}); enabling one SABE disabled clears its failures.
func (c *Client) UpdateWebhook(ctx context.Context, id uuid.UUID, in oapi.UpdateWebhookRequest) (oapi.Webhook, error) {
	var out oapi.Webhook
	err := c.Do(ctx, http.MethodPatch, webhookPath(id, ""), in, &out)
	return out, err
}

// DeleteWebhook deletes a webhook with its deliveries (DELETE
// /v1/webhooks/{id}).
func (c *Client) DeleteWebhook(ctx context.Context, id uuid.UUID) error {
	return c.Do(ctx, http.MethodDelete, webhookPath(id, ""), nil, nil)
}

// RotateWebhookSecret gives a webhook a new signing secret, returned this
// once (POST /v1/webhooks/{id}/rotate-secret); the old one keeps signing
// too until PreviousSecretExpiresAt.
func (c *Client) RotateWebhookSecret(ctx context.Context, id uuid.UUID) (oapi.CreatedWebhook, error) {
	var out oapi.CreatedWebhook
	err := c.Do(ctx, http.MethodPost, webhookPath(id, "/rotate-secret"), nil, &out)
	return out, err
}

// TestWebhook sends a webhook.test event to a webhook (POST
// /v1/webhooks/{id}/test) and returns its delivery, pending: follow it
// with WaitDelivery. A disabled webhook answers 409.
func (c *Client) TestWebhook(ctx context.Context, id uuid.UUID) (oapi.WebhookDelivery, error) {
	var out oapi.WebhookDelivery
	err := c.Do(ctx, http.MethodPost, webhookPath(id, "/test"), nil, &out)
	return out, err
}

// DeliveryFilter narrows a webhook's deliveries; a nil field does not.
type DeliveryFilter struct {
	Status    *oapi.WebhookDeliveryStatus
	EventType *oapi.WebhookEventType
}

func (f DeliveryFilter) query() url.Values {
	q := url.Values{}
	if f.Status != nil {
		q.Set("status", string(*f.Status))
	}
	if f.EventType != nil {
		q.Set("event_type", string(*f.EventType))
	}
	return q
}

// ListDeliveries reads one page of a webhook's deliveries, newest first,
// each with its attempts (GET /v1/webhooks/{id}/deliveries).
func (c *Client) ListDeliveries(ctx context.Context, webhookID uuid.UUID, f DeliveryFilter, limit int, cursor string) (oapi.WebhookDeliveryList, error) {
	q := f.query()
	for k, v := range pageQuery(limit, cursor) {
		q[k] = v
	}
	var out oapi.WebhookDeliveryList
	err := c.Do(ctx, http.MethodGet, withQuery(webhookPath(webhookID, "/deliveries"), q), nil, &out)
	return out, err
}

// EachDelivery calls fn with each of a webhook's deliveries, newest
// first, page by page, until fn returns false or the pages end.
func (c *Client) EachDelivery(ctx context.Context, webhookID uuid.UUID, f DeliveryFilter, fn func(oapi.WebhookDelivery) bool) error {
	return eachItem(ctx, c, webhookPath(webhookID, "/deliveries"), f.query(), fn)
}

// GetDelivery reads one delivery with its attempts (GET
// /v1/webhooks/{id}/deliveries/{delivery_id}).
func (c *Client) GetDelivery(ctx context.Context, webhookID, deliveryID uuid.UUID) (oapi.WebhookDelivery, error) {
	var out oapi.WebhookDelivery
	err := c.Do(ctx, http.MethodGet, webhookPath(webhookID, "/deliveries/"+deliveryID.String()), nil, &out)
	return out, err
}

// Redeliver sends a delivery's event to its webhook again as a new
// delivery with the same webhook-id (POST
// /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver).
func (c *Client) Redeliver(ctx context.Context, webhookID, deliveryID uuid.UUID) (oapi.WebhookDelivery, error) {
	var out oapi.WebhookDelivery
	err := c.Do(ctx, http.MethodPost, webhookPath(webhookID, "/deliveries/"+deliveryID.String()+"/redeliver"), nil, &out)
	return out, err
}

// WaitDelivery reads a delivery every interval until it is no longer
// pending and returns it as it ended (succeeded, failed or cancelled).
// Between reads it calls each (when not nil) with the delivery as last
// read; an error from each stops the wait. It returns ctx's error when ctx
// ends first, with the delivery as last read.
func (c *Client) WaitDelivery(ctx context.Context, webhookID, deliveryID uuid.UUID, interval time.Duration, each func(oapi.WebhookDelivery) error) (oapi.WebhookDelivery, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var d oapi.WebhookDelivery // as last read
	for {
		got, err := c.GetDelivery(ctx, webhookID, deliveryID)
		if err != nil {
			return d, err
		}
		d = got
		if d.Status != oapi.DeliveryPending {
			return d, nil
		}
		if each != nil {
			if err := each(d); err != nil {
				return d, err
			}
		}
		select {
		case <-ctx.Done():
			return d, fmt.Errorf("wait for delivery %s (%d attempts): %w", deliveryID, len(d.Attempts), ctx.Err())
		case <-t.C:
		}
	}
}
