package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// FollowRun follows a run through its event stream
// (GET /v1/runs/{id}/events) rather than by polling: it calls each (when
// not nil) with the run at once and whenever its progress or status
// changes, and returns the run as it ended once the server sends the
// final event. An error from each stops following. The stream is bounded
// by ctx only, not by the client's timeout: bound it with a deadline on
// ctx. A stream that ends before its final event (the server shut down)
// is an error; follow again to resume.
func (c *Client) FollowRun(ctx context.Context, id uuid.UUID, each func(oapi.Run) error) (oapi.Run, error) {
	path := "/v1/runs/" + id.String() + "/events"
	resp, err := c.stream(ctx, path, "text/event-stream")
	if err != nil {
		return oapi.Run{}, err
	}
	defer resp.Body.Close()
	var last oapi.Run
	name, data := "", ""
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxBody)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event:"):
			name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
		case line == "" && data != "":
			var r oapi.Run
			if err := json.Unmarshal([]byte(data), &r); err != nil {
				return last, fmt.Errorf("GET %s: decode %s event: %w", path, name, err)
			}
			last = r
			if name == "final" {
				return r, nil
			}
			if each != nil {
				if err := each(r); err != nil {
					return r, err
				}
			}
			name, data = "", ""
		}
	}
	if err := sc.Err(); err != nil {
		return last, fmt.Errorf("GET %s: %w", path, err)
	}
	return last, fmt.Errorf("GET %s: the stream ended before the run finished (last %s)", path, last.Status)
}
