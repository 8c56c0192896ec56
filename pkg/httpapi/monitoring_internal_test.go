package httpapi

import (
	"strings"
	"testing"
)

func TestFormatPayload(t *testing.T) {
	t.Parallel()
	const id = "0193f1a2-7c4e-7d3a-9b2f-5e6d7c8b9a01"

	for _, tc := range []struct {
		name, payload, want string
	}{
		{"OK", `{"run_id":"` + id + `","unit":17}`, "run_id=" + id + " unit=17"},
		{"OKBareID", `{"id":"` + strings.ToUpper(id) + `"}`, "id=" + id},
		{"WithholdsOthers", `{"run_id":"` + id + `","api_key":"sk-secret","prompt":"hello"}`, "run_id=" + id + " (2 other fields withheld)"},
		{"WithholdsNonUUIDIDs", `{"provider_id":"sk-secret"}`, "(1 other fields withheld)"},
		{"WithholdsNonObject", `"sk-secret"`, "(11 bytes withheld)"},
		{"WithholdsGarbage", "\x00\x01sk-secret", "(11 bytes withheld)"},
		{"Empty", `{}`, "(no identifiers)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := formatPayload("execution:run", []byte(tc.payload))
			if got != tc.want {
				t.Errorf("formatPayload(%s) = %q, want %q", tc.payload, got, tc.want)
			}
			if strings.Contains(got, "secret") || strings.Contains(got, "hello") {
				t.Errorf("formatPayload leaked a value: %q", got)
			}
		})
	}
}

func TestFormatResult(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		if got := formatResult("run:start", []byte(`{"key":"sk-secret"}`)); got != "(19 bytes withheld)" {
			t.Errorf("formatResult = %q", got)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		if got := formatResult("run:start", nil); got != "" {
			t.Errorf("formatResult(nil) = %q, want empty", got)
		}
	})
}
