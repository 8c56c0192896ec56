package testenv

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// VerifyStandardWebhook checks a delivery's signature with the Standard
// Webhooks reference algorithm, written from the specification rather
// than taken from its library, so that tests check SABE against the
// specification and not only against the library it signs with: the
// secret is "whsec_" and the base64 of the key; the signed content is
// "<webhook-id>.<webhook-timestamp>.<body>"; the webhook-signature header
// holds space-separated "v1,<base64 HMAC-SHA256>" signatures, any of which
// may match; a timestamp more than five minutes from now is refused.
func VerifyStandardWebhook(secret string, body []byte, h http.Header, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return fmt.Errorf("secret is not whsec_ and base64: %v", err)
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q: %v", ts, err)
	}
	if d := now.Sub(time.Unix(secs, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("webhook-timestamp %s is %s from now, outside the replay window", ts, d)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Split(sigs, " ") {
		if version, value, ok := strings.Cut(sig, ","); ok && version == "v1" && hmac.Equal([]byte(value), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("no v1 signature in %q matches", sigs)
}
