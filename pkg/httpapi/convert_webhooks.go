package httpapi

import (
	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/store"
)

// toWebhook renders a webhook; it has no secret to leak: the store's
// Webhook holds none.
func toWebhook(w *store.Webhook) oapi.Webhook {
	events := make([]oapi.WebhookEventType, len(w.Events))
	for i, e := range w.Events {
		events[i] = oapi.WebhookEventType(e)
	}
	return oapi.Webhook{
		Id: w.ID, Name: w.Name, Url: w.URL, Events: events, BenchmarkIds: append([]uuid.UUID{}, w.BenchmarkIDs...),
		Format: oapi.WebhookFormat(w.Format), Enabled: w.Enabled, SecretPrefix: w.SecretPrefix,
		PreviousSecretExpiresAt: utcPtr(w.PreviousSecretExpiresAt), ConsecutiveFailures: w.ConsecutiveFailures,
		DisabledReason: w.DisabledReason, DisabledAt: utcPtr(w.DisabledAt), LastDeliveryAt: utcPtr(w.LastDeliveryAt),
		LastSuccessAt: utcPtr(w.LastSuccessAt), CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC(),
	}
}

// toCreatedWebhook is a webhook with its secret, for the two answers that
// show it: creation and rotation.
func toCreatedWebhook(w *store.Webhook, secret string) oapi.CreatedWebhook {
	o := toWebhook(w)
	return oapi.CreatedWebhook{
		Id: o.Id, Name: o.Name, Url: o.Url, Events: o.Events, BenchmarkIds: o.BenchmarkIds, Format: o.Format,
		Enabled: o.Enabled, SecretPrefix: o.SecretPrefix, PreviousSecretExpiresAt: o.PreviousSecretExpiresAt,
		ConsecutiveFailures: o.ConsecutiveFailures, DisabledReason: o.DisabledReason, DisabledAt: o.DisabledAt,
		LastDeliveryAt: o.LastDeliveryAt, LastSuccessAt: o.LastSuccessAt, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		Secret: secret,
	}
}

func toWebhookDelivery(d *store.WebhookDelivery) oapi.WebhookDelivery {
	attempts := make([]oapi.WebhookAttempt, len(d.Attempts))
	for i, a := range d.Attempts {
		attempts[i] = oapi.WebhookAttempt{
			Attempt: a.Attempt, StartedAt: a.StartedAt.UTC(), StatusCode: a.StatusCode, LatencyMs: a.LatencyMs,
			Error: a.Error, ResponseExcerpt: a.ResponseExcerpt,
		}
	}
	return oapi.WebhookDelivery{
		Id: d.ID, WebhookId: d.WebhookID, EventId: notify.MessageID(d.EventID), EventType: oapi.WebhookEventType(d.EventType),
		Status: oapi.WebhookDeliveryStatus(d.Status), RedeliveryOf: d.RedeliveryOf, Attempts: attempts,
		NextAttemptAt: utcPtr(d.NextAttemptAt), CreatedAt: d.CreatedAt.UTC(), FinishedAt: utcPtr(d.FinishedAt),
		LastError: d.LastError,
	}
}

func fromEventTypes(in []oapi.WebhookEventType) []string {
	out := make([]string, len(in))
	for i, e := range in {
		out[i] = string(e)
	}
	return out
}
