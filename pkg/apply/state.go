package apply

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// state is what a SABE holds now, as far as a file concerns it. Archived
// objects are not matched by name: a file's object whose name only an
// archived one has is created anew, as the API's unique names allow.
type state struct {
	providers  []oapi.Provider
	models     []oapi.Model // active
	suites     []oapi.Suite
	benchmarks []oapi.Benchmark

	provider  map[string]oapi.Provider  // by lower-cased name
	model     map[string]oapi.Model     // active, by lower-cased name
	suite     map[string]oapi.Suite     // by lower-cased name
	benchmark map[string]oapi.Benchmark // by lower-cased name

	providerName map[uuid.UUID]string
	// modelName holds archived models too: a benchmark or judge may
	// still name one.
	modelName map[uuid.UUID]string
	suiteName map[uuid.UUID]string

	// questions are the active questions of the suites the file names
	// (all suites for an export), by suite id.
	questions map[uuid.UUID][]oapi.Question
}

// readState reads every provider, model, suite and benchmark, and the
// questions of the suites f names (of every suite when f is nil).
func readState(ctx context.Context, c *client.Client, f *File) (*state, error) {
	st := &state{
		provider: map[string]oapi.Provider{}, model: map[string]oapi.Model{},
		suite: map[string]oapi.Suite{}, benchmark: map[string]oapi.Benchmark{},
		providerName: map[uuid.UUID]string{}, modelName: map[uuid.UUID]string{}, suiteName: map[uuid.UUID]string{},
		questions: map[uuid.UUID][]oapi.Question{},
	}
	var err error
	if st.providers, err = c.AllProviders(ctx); err != nil {
		return nil, err
	}
	all, err := c.AllModels(ctx, true)
	if err != nil {
		return nil, err
	}
	if st.suites, err = c.AllSuites(ctx); err != nil {
		return nil, err
	}
	if st.benchmarks, err = c.AllBenchmarks(ctx); err != nil {
		return nil, err
	}
	for _, p := range st.providers {
		st.provider[strings.ToLower(p.Name)] = p
		st.providerName[p.Id] = p.Name
	}
	for _, m := range all {
		st.modelName[m.Id] = m.Name
		if m.ArchivedAt == nil && !m.Archived {
			st.models = append(st.models, m)
			st.model[strings.ToLower(m.Name)] = m
		}
	}
	for _, s := range st.suites {
		st.suite[strings.ToLower(s.Name)] = s
		st.suiteName[s.Id] = s.Name
	}
	for _, b := range st.benchmarks {
		st.benchmark[strings.ToLower(b.Name)] = b
	}
	for _, s := range st.suites {
		if f != nil && !named(f.suites(), s.Name, func(fs Suite) string { return fs.Name }) {
			continue
		}
		qs, err := c.AllQuestions(ctx, s.Id)
		if err != nil {
			return nil, err
		}
		st.questions[s.Id] = qs
	}
	return st, nil
}
