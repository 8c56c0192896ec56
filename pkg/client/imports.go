package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// ImportError is the API's refusal of an import with a 422 that lists
// every bad line of the file (an oapi.ImportError): API is the answer's
// error, which names the first; Lines holds them all, in the order of the
// file (at most the first 1000, as the API answers).
type ImportError struct {
	API   *Error
	Lines []oapi.LineError
}

// Error implements error with the API's summary of the refusal.
func (e *ImportError) Error() string { return e.API.Error() }

// Unwrap returns the *Error, so that StatusOf and errors.As see it.
func (e *ImportError) Unwrap() error { return e.API }

// ImportFile imports a question file into a suite (POST
// /v1/suites/{id}/questions:import), all of it or nothing. format is one
// of the API's ImportFormat values ("sabe", "openai-evals", "inspect",
// "promptfoo", "csv"; "" is the server's default, sabe); with
// skipUnsupported, assertions SABE cannot score are left out and listed in
// the result's Skipped instead of refusing the file. The file travels as
// text/plain, whatever its format. A refusal that lists bad lines is an
// *ImportError; every other answer of 300 or more is an *Error.
func (c *Client) ImportFile(ctx context.Context, suiteID uuid.UUID, format string, skipUnsupported bool, body io.Reader) (oapi.ImportQuestionsResult, error) {
	q := url.Values{}
	if format != "" {
		q.Set("format", format)
	}
	if skipUnsupported {
		q.Set("skip_unsupported", strconv.FormatBool(true))
	}
	path := "/v1/suites/" + suiteID.String() + "/questions:import"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out oapi.ImportQuestionsResult
	err := c.DoRaw(ctx, http.MethodPost, path, "text/plain; charset=utf-8", body, &out)
	if e, ok := errors.AsType[*Error](err); ok && e.Status == http.StatusUnprocessableEntity {
		var wire oapi.ImportError
		if json.Unmarshal(e.raw, &wire) == nil && len(wire.Errors) > 0 {
			return oapi.ImportQuestionsResult{}, &ImportError{API: e, Lines: wire.Errors}
		}
	}
	if err != nil {
		return oapi.ImportQuestionsResult{}, fmt.Errorf("import into suite %s: %w", suiteID, err)
	}
	return out, nil
}
