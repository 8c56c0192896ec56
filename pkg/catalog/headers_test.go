package catalog_test

import (
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
)

// TestProviderInput_ValidateHeaders checks that a header net/http would
// refuse at every call is refused once, when the provider is written.
func TestProviderInput_ValidateHeaders(t *testing.T) {
	t.Parallel()
	base := catalog.ProviderInput{Name: "p", Kind: catalog.KindOpenAI, BaseURL: "https://x.example/v1"}
	for _, tc := range []struct {
		name    string
		headers map[string]string
		field   string
	}{
		{"OK", map[string]string{"HTTP-Referer": "https://sabe.dev", "X-Title": "a\tb", "api-key": "k"}, ""},
		{"ErrNameNUL", map[string]string{"X-A\x00b": "v"}, "headers"},
		{"ErrNameSeparator", map[string]string{"X(a)": "v"}, "headers"},
		{"ErrNameNonASCII", map[string]string{"X-Ä": "v"}, "headers"},
		{"ErrNameSlash", map[string]string{"X/a": "v"}, "headers"},
		{"ErrValueNUL", map[string]string{"X-A": "a\x00b"}, "headers.X-A"},
		{"ErrValueControl", map[string]string{"X-A": "a\x01b"}, "headers.X-A"},
		{"ErrValueDEL", map[string]string{"X-A": "a\x7fb"}, "headers.X-A"},
		{"ErrValueNewline", map[string]string{"X-A": "a\nb"}, "headers.X-A"},
		{"ErrSameNameTwice", map[string]string{"X-A": "1", "x-a": "2"}, "headers"},
		{"ErrReservedAnyCase", map[string]string{"AUTHORIZATION": "x"}, "headers.AUTHORIZATION"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := base
			in.Headers = tc.headers
			err := in.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if fault.KindOf(err) != fault.KindInvalid || fieldOf(err) != tc.field {
				t.Fatalf("Validate = %v (field %q), want invalid %q", err, fieldOf(err), tc.field)
			}
			for _, v := range tc.headers {
				if len(v) > 2 && strings.Contains(err.Error(), v) {
					t.Errorf("error %q repeats a header value", err)
				}
			}
		})
	}
}

func fieldOf(err error) string {
	if e := fault.As(err); e != nil {
		return e.Field
	}
	return ""
}
