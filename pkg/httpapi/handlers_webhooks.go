package httpapi

import (
	"context"
	"errors"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// errUnbuilt marks a handler of the notifications contract whose body is
// being written (issue 17); it never reaches a commit that is submitted.
var errUnbuilt = errors.New("not built yet")

func (a *api) ListWebhooks(ctx context.Context, req oapi.ListWebhooksRequestObject) (oapi.ListWebhooksResponseObject, error) {
	return nil, errUnbuilt
}

func (a *api) CreateWebhook(ctx context.Context, req oapi.CreateWebhookRequestObject) (oapi.CreateWebhookResponseObject, error) {
	return nil, errUnbuilt
}

func (a *api) GetWebhook(ctx context.Context, req oapi.GetWebhookRequestObject) (oapi.GetWebhookResponseObject, error) {
	return nil, errUnbuilt
}

func (a *api) UpdateWebhook(ctx context.Context, req oapi.UpdateWebhookRequestObject) (oapi.UpdateWebhookResponseObject, error) {
	return nil, errUnbuilt
}

func (a *api) DeleteWebhook(ctx context.Context, req oapi.DeleteWebhookRequestObject) (oapi.DeleteWebhookResponseObject, error) {
	return nil, errUnbuilt
}

func (a *api) RotateWebhookSecret(ctx context.Context, req oapi.RotateWebhookSecretRequestObject) (oapi.RotateWebhookSecretResponseObject, error) {
	return nil, errUnbuilt
}

func (a *api) TestWebhook(ctx context.Context, req oapi.TestWebhookRequestObject) (oapi.TestWebhookResponseObject, error) {
	return nil, errUnbuilt
}

func (a *api) ListWebhookDeliveries(ctx context.Context, req oapi.ListWebhookDeliveriesRequestObject) (oapi.ListWebhookDeliveriesResponseObject, error) {
	return nil, errUnbuilt
}

func (a *api) GetWebhookDelivery(ctx context.Context, req oapi.GetWebhookDeliveryRequestObject) (oapi.GetWebhookDeliveryResponseObject, error) {
	return nil, errUnbuilt
}

func (a *api) RedeliverWebhookDelivery(ctx context.Context, req oapi.RedeliverWebhookDeliveryRequestObject) (oapi.RedeliverWebhookDeliveryResponseObject, error) {
	return nil, errUnbuilt
}
