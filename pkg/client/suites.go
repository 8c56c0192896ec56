package client

import (
	"context"
	"net/http"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// ListSuites reads one page of suites (GET /v1/suites); cursor is "" for
// the first page, then the page's NextCursor.
func (c *Client) ListSuites(ctx context.Context, limit int, cursor string) (oapi.SuiteList, error) {
	var out oapi.SuiteList
	err := c.Do(ctx, http.MethodGet, withQuery("/v1/suites", pageQuery(limit, cursor)), nil, &out)
	return out, err
}
