package apply

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/sabe-dev/sabe/pkg/client"
)

// Result is how applying a plan went.
type Result struct {
	// Applied counts the changes made, Pending those the plan had.
	Applied, Pending int
	// Failed is the change that failed, nil when all were made; the
	// changes after it were not tried (Status not_applied).
	Failed *Change
}

// Apply carries the plan out in its order, stopping at the first change
// that fails: that change says why (Error, with its path in the file
// where the API named a field), the ones before it are made, the ones
// after it are not tried. The error returned is the failed change's.
func (p *Plan) Apply(ctx context.Context) (Result, error) {
	res := Result{Pending: p.Pending()}
	var failure error
	for _, c := range p.Changes {
		if c.Action == Unchanged {
			continue
		}
		if res.Failed != nil {
			c.Status = StatusNotApplied
			continue
		}
		if c.step != nil {
			if err := c.step(ctx, p.x); err != nil {
				err = atPath(err, c.Path)
				c.Status, c.Error = StatusFailed, err.Error()
				res.Failed, failure = c, fmt.Errorf("%s %s: %w", c.Action, c.Label(), err)
				continue
			}
		}
		c.Status = StatusApplied
		res.Applied++
	}
	return res, failure
}

// apiField maps the API's names for a benchmark's members to the file's:
// `suite_ids.0` or `model_ids[2]` is `suites[0]` or `models[2]`.
var apiField = regexp.MustCompile(`^(suite_ids|model_ids|config\.judge_model_ids)(?:\.(\d+)|\[(\d+)\])?(.*)$`)

// atPath puts the API's field of err under the file's path of the
// object: `input_cost_per_mtok` of models[1] is
// `models[1].input_cost_per_mtok`. An error that already has a path
// (a FieldError) is left alone.
func atPath(err error, path string) error {
	var fe *FieldError
	if errors.As(err, &fe) || path == "" {
		return err
	}
	var ae *client.Error
	if !errors.As(err, &ae) {
		return err
	}
	field := ae.Field
	if m := apiField.FindStringSubmatch(field); m != nil {
		name := map[string]string{"suite_ids": "suites", "model_ids": "models", "config.judge_model_ids": "config.judges"}[m[1]]
		idx := m[2] + m[3]
		field = name
		if idx != "" {
			field += "[" + idx + "]"
		}
		field += m[4]
	}
	msg := ae.Message
	if msg == "" {
		msg = ae.Error()
	}
	return &FieldError{Path: join(path, field), Msg: msg}
}

// withPath gives an API error without a field of its own the field f.
func withPath(err error, f string) error {
	var ae *client.Error
	if errors.As(err, &ae) && ae.Field == "" {
		cp := *ae
		cp.Field = f
		return &cp
	}
	return err
}
