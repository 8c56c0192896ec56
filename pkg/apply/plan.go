package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/client"
)

// Action is what a plan does to one object.
type Action string

// The actions of a plan.
const (
	Create    Action = "create"
	Update    Action = "update"
	Unchanged Action = "unchanged"
	// Archive deletes the object through the API, which archives what
	// history refers to (a provider is deleted, or kept while models
	// refer to it).
	Archive Action = "archive"
)

// Kind is a kind of object a file holds.
type Kind string

// The kinds, in the order they are created.
const (
	KindProvider  Kind = "provider"
	KindModel     Kind = "model"
	KindSuite     Kind = "suite"
	KindQuestion  Kind = "question"
	KindBenchmark Kind = "benchmark"
)

// Status is how a change ended when the plan was applied.
type Status string

// The statuses of an applied plan's changes.
const (
	StatusApplied    Status = "applied"
	StatusFailed     Status = "failed"
	StatusNotApplied Status = "not_applied"
)

// Change is one object's entry in a plan.
type Change struct {
	Action Action `json:"action"`
	Kind   Kind   `json:"kind"`
	Name   string `json:"name"`
	// Suite is a question's suite.
	Suite string `json:"suite,omitempty"`
	// Path is where the object is in the file (empty for an archive).
	Path   string        `json:"path,omitempty"`
	Fields []FieldChange `json:"fields,omitempty"`
	Note   string        `json:"note,omitempty"`
	// Status is set by Apply, for the changes that are not Unchanged.
	Status Status `json:"status,omitempty"`
	// Error is why the change failed.
	Error string `json:"error,omitempty"`

	// step carries the change out; nil for Unchanged, and for the
	// questions a batch before them creates.
	step func(ctx context.Context, x *executor) error
}

// Label is the change's object as the plan shows it: "model gpt-4o",
// "question geography/capital-fr".
func (c *Change) Label() string {
	if c.Kind == KindQuestion {
		return fmt.Sprintf("question %s/%s", c.Suite, c.Name)
	}
	return fmt.Sprintf("%s %s", c.Kind, c.Name)
}

// Plan is what applying a file to a SABE changes, object by object, in
// the order Apply carries it out: providers, models, suites, questions,
// benchmarks, then (with Prune) archives in the reverse order.
type Plan struct {
	Changes []*Change `json:"changes"`
	x       *executor
}

// Count is the number of changes with action a.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Pending is the number of changes that would write.
func (p *Plan) Pending() int { return len(p.Changes) - p.Count(Unchanged) }

// Options are how a plan is made.
type Options struct {
	// Prune archives the objects of each kind the file lists that the
	// file does not name, and the questions of its suites it does not
	// name.
	Prune bool
	// Expand resolves the ${ENV_VAR} references of api_key and header
	// values; an unset variable is an error naming it.
	Expand func(string) (string, error)
	// ReadFile reads a questions_from file (os.ReadFile; tests may
	// substitute).
	ReadFile func(name string) ([]byte, error)
}

// executor is what the steps of a plan share while it is applied: the
// client, and the ids of the objects by kind and lower-cased name,
// filled from the server and by each create.
type executor struct {
	c   *client.Client
	ids map[Kind]map[string]uuid.UUID
}

func (x *executor) set(k Kind, name string, id uuid.UUID) {
	if x.ids[k] == nil {
		x.ids[k] = map[string]uuid.UUID{}
	}
	x.ids[k][strings.ToLower(name)] = id
}

// id is the id of the object of kind k named name: found on the server,
// or created by an earlier step.
func (x *executor) id(k Kind, name string) (uuid.UUID, error) {
	id, ok := x.ids[k][strings.ToLower(name)]
	if !ok {
		return uuid.Nil, fmt.Errorf("%s %q has no id (it was not created)", k, name)
	}
	return id, nil
}

func (x *executor) idList(k Kind, names []string) ([]uuid.UUID, error) {
	out := make([]uuid.UUID, len(names))
	for i, n := range names {
		id, err := x.id(k, n)
		if err != nil {
			return nil, err
		}
		out[i] = id
	}
	return out, nil
}

// planner builds one plan.
type planner struct {
	f    *File
	st   *state
	o    Options
	plan *Plan
	ps   Problems
	// prunes are the archives, added to the plan after every other
	// change, in reverse dependency order.
	prunes map[Kind][]*Change
}

func (pl *planner) add(c *Change) { pl.plan.Changes = append(pl.plan.Changes, c) }

func (pl *planner) bad(path, format string, a ...any) {
	pl.ps = append(pl.ps, &FieldError{Path: path, Msg: fmt.Sprintf(format, a...)})
}

// Build reads the SABE's current state through c and compares the file
// with it. Nothing is written. A file that cannot be applied as it is (a
// reference to nothing, an unset variable, a provider whose kind would
// change) is an error, as Problems when it has paths.
func Build(ctx context.Context, c *client.Client, f *File, o Options) (*Plan, error) {
	if o.Expand == nil {
		return nil, errors.New("apply: Options.Expand is required to resolve ${ENV_VAR} references")
	}
	st, err := readState(ctx, c, f)
	if err != nil {
		return nil, fmt.Errorf("read the current state: %w", err)
	}
	pl := &planner{f: f, st: st, o: o, plan: &Plan{}, prunes: map[Kind][]*Change{}}
	pl.plan.x = &executor{c: c, ids: map[Kind]map[string]uuid.UUID{}}
	for _, p := range st.providers {
		pl.plan.x.set(KindProvider, p.Name, p.Id)
	}
	for _, m := range st.models {
		pl.plan.x.set(KindModel, m.Name, m.Id)
	}
	for _, s := range st.suites {
		pl.plan.x.set(KindSuite, s.Name, s.Id)
	}
	if f.Providers != nil {
		pl.providers()
	}
	if f.Models != nil {
		pl.models()
	}
	if f.Suites != nil {
		pl.suites(ctx)
	}
	if f.Benchmarks != nil {
		pl.benchmarks()
	}
	for _, k := range []Kind{KindBenchmark, KindQuestion, KindSuite, KindModel, KindProvider} {
		pl.plan.Changes = append(pl.plan.Changes, pl.prunes[k]...)
	}
	if len(pl.ps) > 0 {
		return nil, pl.ps
	}
	return pl.plan, nil
}

// pruned reports whether Prune archives the server's object of kind k
// named name: the file lists k, does not name it, and Prune is on.
func (pl *planner) pruned(k Kind, name string) bool {
	if !pl.o.Prune {
		return false
	}
	switch k {
	case KindProvider:
		return pl.f.Providers != nil && !named(pl.f.providers(), name, func(p Provider) string { return p.Name })
	case KindModel:
		return pl.f.Models != nil && !named(pl.f.models(), name, func(m Model) string { return m.Name })
	case KindSuite:
		return pl.f.Suites != nil && !named(pl.f.suites(), name, func(s Suite) string { return s.Name })
	}
	return false
}

// resolves checks a reference from path to the object of kind k named
// name: the file names it, or the server has it and Prune leaves it.
func (pl *planner) resolves(path string, k Kind, name string) {
	var inFile, onServer bool
	switch k {
	case KindProvider:
		inFile = named(pl.f.providers(), name, func(p Provider) string { return p.Name })
		_, onServer = pl.st.provider[strings.ToLower(name)]
	case KindModel:
		inFile = named(pl.f.models(), name, func(m Model) string { return m.Name })
		_, onServer = pl.st.model[strings.ToLower(name)]
	case KindSuite:
		inFile = named(pl.f.suites(), name, func(s Suite) string { return s.Name })
		_, onServer = pl.st.suite[strings.ToLower(name)]
	}
	switch {
	case inFile:
	case onServer && pl.pruned(k, name):
		pl.bad(path, "%s %q is not in the file, and --prune would archive it", k, name)
	case !onServer:
		pl.bad(path, "no %s named %q in the file or on the server", k, name)
	}
}

func named[T any](items []T, name string, nameOf func(T) string) bool {
	for _, it := range items {
		if strings.EqualFold(nameOf(it), name) {
			return true
		}
	}
	return false
}
