package apply

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// APIVersion is the version of the file format this package reads and
// writes; a file must declare it as `apiVersion`.
const APIVersion = "sabe/v1"

// maxFileSize bounds a file read by Parse.
const maxFileSize = 32 << 20

// File is a benchmark-as-code file: the providers, models, suites (with
// their questions) and benchmarks a SABE should have, each matched by
// name. A kind whose list is absent is left alone, by --prune too; an
// empty list (`providers: []`) says there should be none.
type File struct {
	APIVersion string       `json:"apiVersion"`
	Providers  *[]Provider  `json:"providers,omitempty"`
	Models     *[]Model     `json:"models,omitempty"`
	Suites     *[]Suite     `json:"suites,omitempty"`
	Benchmarks *[]Benchmark `json:"benchmarks,omitempty"`

	// Dir is the directory `questions_from` paths are relative to.
	Dir string `json:"-"`
}

// Provider is a provider as the file gives it.
type Provider struct {
	Name    string            `json:"name"`
	Kind    oapi.ProviderKind `json:"kind"`
	BaseURL string            `json:"base_url"`
	// APIKey must be a ${ENV_VAR} reference, resolved at apply time; a
	// provider without one (a local server) leaves it out.
	APIKey string `json:"api_key,omitempty"`
	// Headers may carry credentials: their values may hold ${ENV_VAR}
	// references.
	Headers map[string]string    `json:"headers,omitempty"`
	Limits  *oapi.ProviderLimits `json:"limits,omitempty"`
}

// Model is a model as the file gives it: its provider by name.
type Model struct {
	Name              string                 `json:"name"`
	Provider          string                 `json:"provider"`
	ProviderModelID   string                 `json:"provider_model_id"`
	InputCostPerMtok  float64                `json:"input_cost_per_mtok"`
	OutputCostPerMtok float64                `json:"output_cost_per_mtok"`
	RequestOverrides  *oapi.RequestOverrides `json:"request_overrides,omitempty"`
}

// Suite is a suite with its questions: inline, and read from files in
// the formats of the import endpoint.
type Suite struct {
	Name           string          `json:"name"`
	Description    string          `json:"description,omitempty"`
	FewShot        []oapi.Message  `json:"few_shot,omitempty"`
	PromptTemplate string          `json:"prompt_template,omitempty"`
	Questions      []Question      `json:"questions,omitempty"`
	QuestionsFrom  []QuestionsFrom `json:"questions_from,omitempty"`
}

// Question is one question of a suite, matched by its key.
type Question struct {
	Key            string         `json:"key"`
	Prompt         string         `json:"prompt,omitempty"`
	Messages       []oapi.Message `json:"messages,omitempty"`
	Choices        []string       `json:"choices,omitempty"`
	Category       string         `json:"category,omitempty"`
	ExpectedAnswer string         `json:"expected_answer"`
	Scoring        *oapi.Scoring  `json:"scoring,omitempty"`
	Metadata       map[string]any `json:"metadata,omitempty"`
}

// QuestionsFrom names a question file to read into a suite, client side,
// in one of the import endpoint's formats.
type QuestionsFrom struct {
	// File is relative to the directory of the file that names it.
	File string `json:"file"`
	// Format is one of the import endpoint's (sabe, openai-evals,
	// inspect, promptfoo, csv); guessed from the file when left out.
	Format string `json:"format,omitempty"`
	// SkipUnsupported leaves out assertions SABE cannot score instead of
	// refusing the file.
	SkipUnsupported bool `json:"skip_unsupported,omitempty"`
}

// Benchmark is a benchmark with its suites and models by name.
type Benchmark struct {
	Name     string           `json:"name"`
	Suites   []string         `json:"suites"`
	Models   []string         `json:"models"`
	Config   *BenchmarkConfig `json:"config,omitempty"`
	Schedule *Schedule        `json:"schedule,omitempty"`
	// Budget is managed only when given (setting it needs an admin
	// token); `max_cost_usd_per_month: null` removes it.
	Budget *Budget `json:"budget,omitempty"`
	// Alerts are the benchmark's regression alert settings; left out, the
	// benchmark's alerts are disabled.
	Alerts *Alerts `json:"alerts,omitempty"`
}

// BenchmarkConfig is a benchmark's config; fields left out take the API's
// defaults (temperature 0, max_tokens 1024, samples 1).
type BenchmarkConfig struct {
	Temperature    *float64      `json:"temperature,omitempty"`
	MaxTokens      *int          `json:"max_tokens,omitempty"`
	Samples        *int          `json:"samples,omitempty"`
	SystemPrompt   string        `json:"system_prompt,omitempty"`
	MaxCostUSD     *float64      `json:"max_cost_usd,omitempty"`
	TimeoutSeconds int           `json:"timeout_seconds,omitempty"`
	Scoring        *oapi.Scoring `json:"scoring,omitempty"`
	// Judges are the default judge models, by name.
	Judges []string `json:"judges,omitempty"`
}

// Schedule is when a benchmark runs by itself. A benchmark without one in
// the file has its schedule disabled, if it has one.
type Schedule struct {
	Cron     string `json:"cron"`
	Timezone string `json:"timezone,omitempty"`
	Enabled  *bool  `json:"enabled,omitempty"`
	Overlap  string `json:"overlap,omitempty"`
}

// Budget is a benchmark's monthly spend budget in US dollars.
type Budget struct {
	MaxCostUSDPerMonth *float64 `json:"max_cost_usd_per_month"`
}

// envRefOnly is a value that is one ${NAME} reference and nothing else.
var envRefOnly = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)

// Parse reads a file (YAML, or JSON, which is YAML) strictly: an unknown
// field, a value of the wrong type, a literal API key, a name given twice
// or a reference to nothing is an error naming the field by its path
// (`benchmarks[1].schedule.cron`). dir is the directory questions_from
// paths are relative to. Several problems are returned together as
// Problems.
func Parse(r io.Reader, dir string) (*File, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("the file is larger than %d MiB", maxFileSize>>20)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("the file holds more than one YAML document; give one per -f")
	}
	f := &File{Dir: dir}
	if err := decodeStrict(&doc, "", f); err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return f, nil
}

// Problems are every problem found in a file, in the file's order.
type Problems []*FieldError

func (p Problems) Error() string {
	msgs := make([]string, len(p))
	for i, e := range p {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// check finds what decoding cannot: required fields, names given twice,
// literal keys, and question keys.
func (f *File) check() error {
	var ps Problems
	bad := func(path, format string, a ...any) {
		ps = append(ps, &FieldError{Path: path, Msg: fmt.Sprintf(format, a...)})
	}
	if f.APIVersion != APIVersion {
		bad("apiVersion", "must be %q", APIVersion)
	}
	names := func(kind string, n int, name func(int) string) {
		seen := map[string]int{}
		for i := range n {
			p := fmt.Sprintf("%s[%d].name", kind, i)
			nm := name(i)
			if strings.TrimSpace(nm) == "" {
				bad(p, "required")
				continue
			}
			if j, ok := seen[strings.ToLower(nm)]; ok {
				bad(p, "%q is also %s[%d] (names match in any case)", nm, kind, j)
				continue
			}
			seen[strings.ToLower(nm)] = i
		}
	}
	providers, models, suites, benchmarks := f.providers(), f.models(), f.suites(), f.benchmarks()
	names("providers", len(providers), func(i int) string { return providers[i].Name })
	names("models", len(models), func(i int) string { return models[i].Name })
	names("suites", len(suites), func(i int) string { return suites[i].Name })
	names("benchmarks", len(benchmarks), func(i int) string { return benchmarks[i].Name })
	for i, p := range providers {
		if p.APIKey != "" && !envRefOnly.MatchString(p.APIKey) {
			bad(fmt.Sprintf("providers[%d].api_key", i), "api_key must be a ${ENV_VAR} reference (the key itself never goes in the file)")
		}
	}
	for i, m := range models {
		if m.Provider == "" {
			bad(fmt.Sprintf("models[%d].provider", i), "required: the provider's name")
		}
	}
	for i, s := range suites {
		seen := map[string]int{}
		for j, q := range s.Questions {
			p := fmt.Sprintf("suites[%d].questions[%d].key", i, j)
			if strings.TrimSpace(q.Key) == "" {
				bad(p, "required: the question's name within its suite, which apply matches it by")
				continue
			}
			if q.Key != strings.TrimSpace(q.Key) {
				bad(p, "no leading or trailing spaces")
				continue
			}
			if k, ok := seen[q.Key]; ok {
				bad(p, "%q is also suites[%d].questions[%d]", q.Key, i, k)
				continue
			}
			seen[q.Key] = j
		}
		for j, qf := range s.QuestionsFrom {
			if qf.File == "" {
				bad(fmt.Sprintf("suites[%d].questions_from[%d].file", i, j), "required")
			}
		}
	}
	for i, b := range benchmarks {
		if len(b.Suites) == 0 {
			bad(fmt.Sprintf("benchmarks[%d].suites", i), "required: one suite name or more")
		}
		if len(b.Models) == 0 {
			bad(fmt.Sprintf("benchmarks[%d].models", i), "required: one model name or more")
		}
		if b.Schedule != nil && b.Schedule.Cron == "" {
			bad(fmt.Sprintf("benchmarks[%d].schedule.cron", i), "required")
		}
		checkAlerts(fmt.Sprintf("benchmarks[%d].alerts", i), b.Alerts, bad)
	}
	if len(ps) > 0 {
		return ps
	}
	return nil
}

func (f *File) providers() []Provider   { return listOf(f.Providers) }
func (f *File) models() []Model         { return listOf(f.Models) }
func (f *File) suites() []Suite         { return listOf(f.Suites) }
func (f *File) benchmarks() []Benchmark { return listOf(f.Benchmarks) }

// listOf is a kind's list, nil when the file leaves the kind out.
func listOf[T any](l *[]T) []T {
	if l == nil {
		return nil
	}
	return *l
}
