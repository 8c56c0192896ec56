package client

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// CancelRun asks a run to stop (POST /v1/runs/{id}/cancel): no new
// provider call starts for it, and it finishes as cancelled shortly;
// follow it with WaitRun. Asking again is harmless; a finished run answers
// 409.
func (c *Client) CancelRun(ctx context.Context, runID uuid.UUID) (oapi.Run, error) {
	var out oapi.Run
	err := c.Do(ctx, http.MethodPost, "/v1/runs/"+runID.String()+"/cancel", nil, &out)
	return out, err
}
