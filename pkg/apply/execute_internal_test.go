package apply

import (
	"errors"
	"testing"

	"github.com/sabe-dev/sabe/pkg/client"
)

func TestAtPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		field, path, want string
	}{
		{"input_cost_per_mtok", "models[1]", "models[1].input_cost_per_mtok: bad"},
		{"suite_ids.0", "benchmarks[0]", "benchmarks[0].suites[0]: bad"},
		{"model_ids[2]", "benchmarks[3]", "benchmarks[3].models[2]: bad"},
		{"config.judge_model_ids[1]", "benchmarks[0]", "benchmarks[0].config.judges[1]: bad"},
		{"schedule.cron", "benchmarks[0]", "benchmarks[0].schedule.cron: bad"},
		{"", "providers[0]", "providers[0]: bad"},
	} {
		err := atPath(&client.Error{Status: 422, Code: "invalid", Message: "bad", Field: tc.field}, tc.path)
		if err.Error() != tc.want {
			t.Errorf("atPath(%q, %q) = %q, want %q", tc.field, tc.path, err, tc.want)
		}
	}
	// An error with a path of its own, or not from the API, stays as it is.
	fe := &FieldError{Path: "suites[0].questions[2].scoring.pattern", Msg: "bad"}
	if got := atPath(fe, "suites[0]"); got != error(fe) {
		t.Errorf("atPath changed a FieldError: %v", got)
	}
	plain := errors.New("connection refused")
	if got := atPath(plain, "models[0]"); got != plain {
		t.Errorf("atPath changed a transport error: %v", got)
	}
}
