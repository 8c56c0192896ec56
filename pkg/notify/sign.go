package notify

import (
	"fmt"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Sign is the webhook-signature header of a message (Standard Webhooks:
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>"), one signature per
// secret, space-separated: during a rotation's overlap both the new and
// the previous secret sign, and a receiver holding either verifies. The
// published library signs, so SABE's signatures are the scheme's by
// construction.
func Sign(secrets []string, msgID string, ts time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for i, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			// The library's error quotes nothing of the secret, but say
			// only which one it was.
			return "", fmt.Errorf("signing secret %d is not a Standard Webhooks secret", i+1)
		}
		sig, err := wh.Sign(msgID, ts, body)
		if err != nil {
			return "", fmt.Errorf("sign: %w", err)
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}
