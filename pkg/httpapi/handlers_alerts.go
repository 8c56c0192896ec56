package httpapi

import (
	"context"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

func (a *api) ListAlerts(ctx context.Context, req oapi.ListAlertsRequestObject) (oapi.ListAlertsResponseObject, error) {
	return nil, errUnbuilt
}

func (a *api) GetAlert(ctx context.Context, req oapi.GetAlertRequestObject) (oapi.GetAlertResponseObject, error) {
	return nil, errUnbuilt
}
