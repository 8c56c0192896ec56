package notify

import "errors"

// Links is where events point: PublicURL (SABE_PUBLIC_URL) or, when it is
// empty, paths from the server's root.
type Links struct {
	PublicURL string
}

// Render is the body of a delivery of ev in format ("json": the Standard
// Webhooks payload {type, timestamp, data} with data's links; "slack": a
// Slack incoming-webhook message), and its content type.
func Render(format string, ev Event, links Links) (body []byte, contentType string, err error) {
	return nil, "", errors.New("notify: Render is not built yet")
}
