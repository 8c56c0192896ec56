package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	asynqmetrics "github.com/hibiken/asynq/x/metrics"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sabe-dev/sabe/internal/metrics"
	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// dashboard is the part of Grafana's dashboard model the test reads.
type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Query string `json:"query"`
}

type panel struct {
	ID         int        `json:"id"`
	Type       string     `json:"type"`
	Title      string     `json:"title"`
	Datasource datasource `json:"datasource"`
	Targets    []struct {
		Datasource datasource `json:"datasource"`
		Expr       string     `json:"expr"`
		RefID      string     `json:"refId"`
	} `json:"targets"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// TestDashboard checks that sabe.json is a dashboard on a Prometheus
// data source chosen by the user, and that every metric its queries name
// is exported by SABE's code or by asynq's queue exporter the api serves.
func TestDashboard(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("sabe.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("sabe.json: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Error("the dashboard has no title or uid")
	}
	if !slices.Contains(d.Templating.List, variable{Name: "datasource", Type: "datasource", Query: "prometheus"}) {
		t.Error("the dashboard has no Prometheus data source variable named datasource")
	}

	known := exported(t)
	used := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: data source %+v, %d queries; want ${datasource} and a query", p.Title, p.Datasource, len(p.Targets))
		}
		refs := map[string]bool{}
		for _, q := range p.Targets {
			if refs[q.RefID] || q.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: query %q has a repeated refId or another data source", p.Title, q.RefID)
			}
			refs[q.RefID] = true
			names := metricNames(q.Expr)
			if len(names) == 0 {
				t.Errorf("panel %q: found no metric in %q", p.Title, q.Expr)
			}
			for _, n := range names {
				used[n] = true
				if !known[n] {
					t.Errorf("panel %q uses %s, which neither SABE nor asynq's exporter serves", p.Title, n)
				}
			}
		}
	}
	// What the dashboard is for: units/s, queue depth and latency,
	// provider errors and breakers, spend.
	for _, n := range []string{
		"sabe_record_batch_size_sum", "asynq_tasks_enqueued_total", "asynq_queue_latency_seconds",
		"sabe_provider_calls_total", "sabe_provider_breaker_state", "sabe_provider_cost_usd_total", "sabe_judge_cost_usd_total",
	} {
		if !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
}

var (
	promString  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promBraces  = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promLabels  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent   = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(?`)
	promKeyword = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}
)

// metricNames returns the metric names a PromQL expression selects:
// identifiers outside strings, label matchers, ranges and label lists that
// are not functions, aggregations or keywords.
func metricNames(expr string) []string {
	s := promString.ReplaceAllString(expr, `""`)
	s = promBraces.ReplaceAllString(s, " ")
	s = promLabels.ReplaceAllString(s, " ")
	var names []string
	for _, m := range promIdent.FindAllString(s, -1) {
		if strings.HasSuffix(m, "(") {
			continue // a function or an aggregation
		}
		m = strings.TrimSpace(m)
		if !slices.Contains(promKeyword, strings.ToLower(m)) {
			names = append(names, m)
		}
	}
	return names
}

func TestMetricNames(t *testing.T) {
	t.Parallel()
	got := metricNames(`histogram_quantile(0.95, sum by (le, provider) (rate(a_b_bucket{x="y", z=~"on|by"}[$__rate_interval]))) + (sum(increase(c[1h])) or vector(0)) and on (job) group by (job) (d or e)`)
	if want := []string{"a_b_bucket", "c", "d", "e"}; !slices.Equal(got, want) {
		t.Errorf("metricNames = %q, want %q", got, want)
	}
}

// exported lists the metric names SABE's processes serve, derived from the
// code: every metric declared with prometheus' Opts in internal/ and pkg/,
// the Go and process collectors the registries add, and what asynq's queue
// exporter yields against a real Redis holding a task. Histograms and
// summaries add their series' suffixes.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	add := func(name string, kind string) {
		known[name] = true
		switch kind {
		case "HistogramOpts", "HISTOGRAM":
			known[name+"_bucket"], known[name+"_sum"], known[name+"_count"] = true, true, true
		case "SummaryOpts", "SUMMARY":
			known[name+"_sum"], known[name+"_count"] = true, true
		}
	}
	declared := declaredMetrics(t, "../../internal", "../../pkg")
	if len(declared) < 15 {
		t.Fatalf("found %d metrics declared in the code; the scan is broken", len(declared))
	}
	for name, kind := range declared {
		add(name, kind)
	}

	rdb := testenv.Redis(t)
	if _, err := asynq.NewClientFromRedisClient(rdb).EnqueueContext(context.Background(), asynq.NewTask("grafana:test", nil), asynq.Queue("grafana-test")); err != nil {
		t.Fatal(err)
	}
	queues := prometheus.NewRegistry()
	queues.MustRegister(asynqmetrics.NewQueueMetricsCollector(asynq.NewInspectorFromRedisClient(rdb)))
	for _, g := range []prometheus.Gatherer{metrics.New().Registry(), httpapi.NewMetrics().Registry(), queues} {
		families, err := g.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			add(f.GetName(), dto.MetricType_name[int32(f.GetType())])
		}
	}
	if !known["asynq_queue_size"] || !known["process_resident_memory_bytes"] {
		t.Fatal("asynq's exporter or the process collector yielded nothing; the scan is broken")
	}
	return known
}

// declaredMetrics finds every prometheus.XxxOpts{Name: "..."} literal in
// the non-test Go files under dirs, with the kind of Opts.
func declaredMetrics(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	found := map[string]string{}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "web" || d.Name() == "dist" || d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil || !bytes.Contains(src, []byte("client_golang/prometheus")) {
				return err
			}
			f, err := parser.ParseFile(fset, path, src, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.CompositeLit)
				if !ok {
					return true
				}
				sel, ok := lit.Type.(*ast.SelectorExpr)
				if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
					return true
				}
				for _, e := range lit.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "Name" {
						if v, ok := kv.Value.(*ast.BasicLit); ok && v.Kind == token.STRING {
							name, err := strconv.Unquote(v.Value)
							if err == nil {
								found[name] = sel.Sel.Name
							}
						}
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return found
}
