package provider_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/provider"
)

func TestRequest_String(t *testing.T) {
	t.Parallel()
	req := request("https://api.example.com/v1")
	req.Headers = map[string]string{"X-Api-Key": "hdr-secret-value"}
	req.Messages = []provider.Message{{Role: "user", Content: "private question text"}}
	for _, s := range []string{req.String(), fmt.Sprintf("%v", req), fmt.Sprintf("%+v", req), fmt.Sprintf("%#v", &req)} {
		if strings.Contains(s, testKey) || strings.Contains(s, "hdr-secret-value") || strings.Contains(s, "private question") {
			t.Errorf("%q reveals a credential", s)
		}
		if !strings.Contains(s, "gpt-test") || !strings.Contains(s, "X-Api-Key") {
			t.Errorf("%q lacks model or header name", s)
		}
	}
}
