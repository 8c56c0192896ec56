package client

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// TestProvider checks a provider live with its stored key
// (POST /v1/providers/{id}/test): with a model id of the provider's it
// sends a one-token completion, without one ("") it lists the provider's
// models. The answer says whether it worked (Ok) and, if not, the stage
// that failed; an unhealthy provider is not an error.
func (c *Client) TestProvider(ctx context.Context, providerID uuid.UUID, model string) (oapi.ProviderTestResult, error) {
	var in oapi.TestProviderRequest
	if model != "" {
		in.Model = &model
	}
	var out oapi.ProviderTestResult
	err := c.Do(ctx, http.MethodPost, "/v1/providers/"+providerID.String()+"/test", in, &out)
	return out, err
}
