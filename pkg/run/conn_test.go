package run_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/run"
)

// TestProviderConn_Format checks that a decrypted connection printed by
// any verb, or logged, shows neither its key nor a header value.
func TestProviderConn_Format(t *testing.T) {
	t.Parallel()
	const key, header = "sk-conn-secret-4455aa", "hdr-conn-secret-66bb"
	c := run.ProviderConn{Name: "azure", BaseURL: "https://x.example/v1", APIKey: key, Headers: map[string]string{"api-key": header}}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("conn", "conn", c, "ptr", &c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", &c), fmt.Sprintf("%x", c), logged.String()} {
		if strings.Contains(out, "secret") || strings.Contains(out, "736b2d636f6e6e") {
			t.Errorf("%q shows a secret", out)
		}
		if !strings.Contains(out, "api-key") && !strings.Contains(out, "6170692d6b6579") {
			t.Errorf("%q does not name the header", out)
		}
	}
}
