package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// Export reads a SABE's providers, models, suites with their questions,
// and benchmarks with their schedules (and budgets, when set) as a file
// that Build finds nothing to change in: provider keys and header values
// become ${ENV_VAR} references (KeyVar, HeaderVar), a question without a
// key is keyed by its id. notes say what the reader must know (which
// variables to set).
func Export(ctx context.Context, c *client.Client) (f *File, notes []string, err error) {
	st, err := readState(ctx, c, nil)
	if err != nil {
		return nil, nil, err
	}
	f = &File{APIVersion: APIVersion, Providers: &[]Provider{}, Models: &[]Model{}, Suites: &[]Suite{}, Benchmarks: &[]Benchmark{}}
	var vars []string
	for _, p := range st.providers {
		fp := Provider{Name: p.Name, Kind: p.Kind, BaseURL: p.BaseUrl, Limits: normLimits(&p.Limits)}
		if p.HasApiKey {
			fp.APIKey = "${" + KeyVar(p.Name) + "}"
			vars = append(vars, KeyVar(p.Name))
		}
		for _, h := range sortedKeys(p.Headers) {
			if fp.Headers == nil {
				fp.Headers = map[string]string{}
			}
			fp.Headers[h] = "${" + HeaderVar(p.Name, h) + "}"
			vars = append(vars, HeaderVar(p.Name, h))
		}
		*f.Providers = append(*f.Providers, fp)
	}
	for _, m := range st.models {
		*f.Models = append(*f.Models, Model{Name: m.Name, Provider: st.providerName[m.ProviderId], ProviderModelID: m.ProviderModelId,
			InputCostPerMtok: m.InputCostPerMtok, OutputCostPerMtok: m.OutputCostPerMtok, RequestOverrides: normOverrides(&m.RequestOverrides)})
	}
	unkeyed := 0
	for _, s := range st.suites {
		fs := Suite{Name: s.Name, Description: s.Description, FewShot: s.FewShot, PromptTemplate: s.PromptTemplate}
		for _, q := range st.questions[s.Id] {
			if q.Key == nil || *q.Key == "" {
				unkeyed++
			}
			fs.Questions = append(fs.Questions, questionOf(q))
		}
		*f.Suites = append(*f.Suites, fs)
	}
	for _, b := range st.benchmarks {
		*f.Benchmarks = append(*f.Benchmarks, st.benchmarkOf(b))
	}
	if len(vars) > 0 {
		notes = append(notes, "secrets are written as references: set "+strings.Join(vars, ", ")+" before applying the file")
	}
	if unkeyed > 0 {
		notes = append(notes, fmt.Sprintf("%d questions have no key: they are keyed by their id, which apply matches them by", unkeyed))
	}
	return f, notes, nil
}

func (st *state) benchmarkOf(b oapi.Benchmark) Benchmark {
	cfg := st.configOfServer(b.Config)
	return Benchmark{Name: b.Name, Suites: st.namesOf(st.suiteName, b.SuiteIds), Models: st.namesOf(st.modelName, b.ModelIds),
		Config: &cfg, Schedule: scheduleOfServer(b.Schedule), Budget: budgetOf(b.Budget), Alerts: alertsOf(b.Alerts)}
}

// budgetOf is a benchmark's budget for the file: nil (not managed) when
// there is none.
func budgetOf(b oapi.BenchmarkBudget) *Budget {
	if b.MaxCostUsdPerMonth == nil {
		return nil
	}
	return &Budget{MaxCostUSDPerMonth: b.MaxCostUsdPerMonth}
}

// notIdent is what an environment variable's name cannot hold.
var notIdent = regexp.MustCompile(`[^A-Z0-9]+`)

// envName turns parts into an environment variable's name: upper case,
// other characters as "_".
func envName(parts ...string) string {
	s := strings.Trim(notIdent.ReplaceAllString(strings.ToUpper(strings.Join(parts, "_")), "_"), "_")
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "P_" + s
	}
	return s
}

// KeyVar is the variable an exported file reads a provider's key from:
// OPENROUTER_API_KEY for "openrouter".
func KeyVar(provider string) string { return envName(provider, "API_KEY") }

// HeaderVar is the variable an exported file reads a provider header's
// value from: OPENROUTER_HEADER_HTTP_REFERER.
func HeaderVar(provider, header string) string { return envName(provider, "HEADER", header) }

// Marshal writes f as YAML, its fields in the order of the file format
// and with the API's names.
func (f *File) Marshal() ([]byte, error) {
	js, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	// JSON is YAML: parsed into nodes it keeps the fields' order; only
	// its flow style and quotes are dropped for YAML's block style.
	var doc yaml.Node
	if err := yaml.Unmarshal(js, &doc); err != nil {
		return nil, err
	}
	blockStyle(&doc)
	var b bytes.Buffer
	b.WriteString("# sabe apply -f this file; written by sabe export-config\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}
