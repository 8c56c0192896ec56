package httpapi

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

// urlCheckTimeout bounds the check of a webhook URL, which may resolve its
// host name.
const urlCheckTimeout = 5 * time.Second

// checkWebhookURL applies the address policy deliveries are sent under
// (SABE_ALLOW_PRIVATE_WEBHOOKS) to a URL a request sets, so a webhook
// accepted here is not refused at every delivery; the check is made again
// then, since what a host name resolves to can change.
func (a *api) checkWebhookURL(ctx context.Context, raw *string) error {
	if raw == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, urlCheckTimeout)
	defer cancel()
	if err := notify.CheckURL(ctx, *raw, a.s.cfg.AllowPrivateWebhooks); err != nil {
		return fault.Invalid("url", "%s", err.Error())
	}
	return nil
}

// enqueueDelivery queues the first attempt of a delivery the API made.
// The delivery is committed and due already: when the queue cannot be
// reached the periodic sweep sends it, so this only logs.
func (a *api) enqueueDelivery(ctx context.Context, d *store.WebhookDelivery) {
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queueTimeout)
	defer cancel()
	if err := run.Enqueue(qctx, a.s.queue, notify.NewDeliverTask(d.ID, 1)); err != nil {
		a.s.log.WarnContext(ctx, "could not queue a webhook delivery; the sweep will send it",
			"webhook_id", d.WebhookID, "delivery_id", d.ID, "err", err)
	}
}

// ListWebhooks lists webhooks in creation order, without their secrets.
func (a *api) ListWebhooks(ctx context.Context, req oapi.ListWebhooksRequestObject) (oapi.ListWebhooksResponseObject, error) {
	limit, cursor := pageArgs(req.Params.Limit, req.Params.Cursor)
	page, err := a.s.store.ListWebhooks(ctx, limit, cursor)
	if err != nil {
		return nil, err
	}
	out := oapi.ListWebhooks200JSONResponse{Items: make([]oapi.Webhook, 0, len(page.Items)), NextCursor: nextCursor(page.Next)}
	for _, w := range page.Items {
		out.Items = append(out.Items, toWebhook(w))
	}
	return out, nil
}

// CreateWebhook subscribes an endpoint to events. The signing secret SABE
// generates is in this answer only.
func (a *api) CreateWebhook(ctx context.Context, req oapi.CreateWebhookRequestObject) (oapi.CreateWebhookResponseObject, error) {
	b := req.Body
	if b == nil {
		return nil, errNoBody
	}
	in := store.NewWebhook{Name: b.Name, URL: b.Url, Events: fromEventTypes(b.Events), Enabled: true, Now: time.Now()}
	if b.BenchmarkIds != nil {
		in.BenchmarkIDs = *b.BenchmarkIds
	}
	if b.Format != nil {
		in.Format = string(*b.Format)
	}
	if b.Enabled != nil {
		in.Enabled = *b.Enabled
	}
	if tok, ok := TokenFrom(ctx); ok {
		in.CreatedBy = &tok.ID
	}
	if err := a.checkWebhookURL(ctx, &in.URL); err != nil {
		return nil, err
	}
	secret, w, err := a.s.store.CreateWebhook(ctx, in)
	if err != nil {
		return nil, err
	}
	return oapi.CreateWebhook201JSONResponse(toCreatedWebhook(w, secret)), nil
}

// GetWebhook returns a webhook without its secret.
func (a *api) GetWebhook(ctx context.Context, req oapi.GetWebhookRequestObject) (oapi.GetWebhookResponseObject, error) {
	w, err := a.s.store.GetWebhook(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return oapi.GetWebhook200JSONResponse(toWebhook(w)), nil
}

// UpdateWebhook changes the given fields. Enabling a webhook SABE disabled
// clears why, and its failure count.
func (a *api) UpdateWebhook(ctx context.Context, req oapi.UpdateWebhookRequestObject) (oapi.UpdateWebhookResponseObject, error) {
	b := req.Body
	if b == nil {
		return nil, errNoBody
	}
	p := store.WebhookPatch{Name: b.Name, URL: b.Url, BenchmarkIDs: b.BenchmarkIds, Enabled: b.Enabled, Now: time.Now()}
	if b.Events != nil {
		events := fromEventTypes(*b.Events)
		p.Events = &events
	}
	if b.Format != nil {
		f := string(*b.Format)
		p.Format = &f
	}
	if err := a.checkWebhookURL(ctx, p.URL); err != nil {
		return nil, err
	}
	w, err := a.s.store.UpdateWebhook(ctx, req.Id, p)
	if err != nil {
		return nil, err
	}
	return oapi.UpdateWebhook200JSONResponse(toWebhook(w)), nil
}

// DeleteWebhook deletes a webhook with its deliveries.
func (a *api) DeleteWebhook(ctx context.Context, req oapi.DeleteWebhookRequestObject) (oapi.DeleteWebhookResponseObject, error) {
	if err := a.s.store.DeleteWebhook(ctx, req.Id); err != nil {
		return nil, err
	}
	return oapi.DeleteWebhook204Response{}, nil
}

// RotateWebhookSecret gives a webhook a new secret, shown in this answer
// only; the previous one keeps signing beside it for a day.
func (a *api) RotateWebhookSecret(ctx context.Context, req oapi.RotateWebhookSecretRequestObject) (oapi.RotateWebhookSecretResponseObject, error) {
	secret, w, err := a.s.store.RotateWebhookSecret(ctx, req.Id, time.Now())
	if err != nil {
		return nil, err
	}
	return oapi.RotateWebhookSecret200JSONResponse(toCreatedWebhook(w, secret)), nil
}

// TestWebhook writes a webhook.test event for this webhook alone and
// queues its delivery; the answer is the pending delivery.
func (a *api) TestWebhook(ctx context.Context, req oapi.TestWebhookRequestObject) (oapi.TestWebhookResponseObject, error) {
	d, err := a.s.store.CreateTestDelivery(ctx, req.Id, time.Now())
	if err != nil {
		return nil, err
	}
	a.enqueueDelivery(ctx, d)
	return oapi.TestWebhook202JSONResponse(toWebhookDelivery(d)), nil
}

// ListWebhookDeliveries lists a webhook's deliveries, newest first, each
// with its attempts.
func (a *api) ListWebhookDeliveries(ctx context.Context, req oapi.ListWebhookDeliveriesRequestObject) (oapi.ListWebhookDeliveriesResponseObject, error) {
	limit, cursor := pageArgs(req.Params.Limit, req.Params.Cursor)
	var f store.WebhookDeliveryFilter
	if req.Params.Status != nil {
		f.Status = string(*req.Params.Status)
	}
	if req.Params.EventType != nil {
		f.EventType = string(*req.Params.EventType)
	}
	page, err := a.s.store.ListWebhookDeliveries(ctx, req.Id, f, limit, cursor)
	if err != nil {
		return nil, err
	}
	out := oapi.ListWebhookDeliveries200JSONResponse{Items: make([]oapi.WebhookDelivery, 0, len(page.Items)), NextCursor: nextCursor(page.Next)}
	for i := range page.Items {
		out.Items = append(out.Items, toWebhookDelivery(&page.Items[i]))
	}
	return out, nil
}

// GetWebhookDelivery returns one delivery of the webhook with its
// attempts; a delivery of another webhook is not found.
func (a *api) GetWebhookDelivery(ctx context.Context, req oapi.GetWebhookDeliveryRequestObject) (oapi.GetWebhookDeliveryResponseObject, error) {
	d, err := a.s.store.GetWebhookDelivery(ctx, req.Id, uuid.UUID(req.DeliveryId))
	if err != nil {
		return nil, err
	}
	return oapi.GetWebhookDelivery200JSONResponse(toWebhookDelivery(d)), nil
}

// RedeliverWebhookDelivery makes a new delivery of a delivery's event and
// queues it; the answer is the pending delivery.
func (a *api) RedeliverWebhookDelivery(ctx context.Context, req oapi.RedeliverWebhookDeliveryRequestObject) (oapi.RedeliverWebhookDeliveryResponseObject, error) {
	d, err := a.s.store.Redeliver(ctx, req.Id, uuid.UUID(req.DeliveryId), time.Now())
	if err != nil {
		return nil, err
	}
	a.enqueueDelivery(ctx, d)
	return oapi.RedeliverWebhookDelivery202JSONResponse(toWebhookDelivery(d)), nil
}
