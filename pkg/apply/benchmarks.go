package apply

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/schedule"
)

// The API's defaults of a schedule: a file that leaves a field out means
// these (a config's are catalog's).
const (
	defaultTimezone = "UTC"
	defaultOverlap  = string(schedule.OverlapSkip)
)

// benchmarkView is what a plan compares of a benchmark besides its
// config, schedule and budget: members by name, in a stable order.
type benchmarkView struct {
	Name   string   `json:"name"`
	Suites []string `json:"suites"`
	Models []string `json:"models"`
}

func sortedFold(names []string) []string {
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}

// configOfFile is the file's config with the API's defaults filled in:
// every field the API always has is set, so that it compares with the
// server's config as equal when it means the same.
func configOfFile(c *BenchmarkConfig) BenchmarkConfig {
	v := BenchmarkConfig{}
	if c != nil {
		v = *c
	}
	if v.Temperature == nil {
		t := catalog.DefaultTemperature
		v.Temperature = &t
	}
	if v.MaxTokens == nil {
		n := catalog.DefaultMaxTokens
		v.MaxTokens = &n
	}
	if v.Samples == nil {
		n := catalog.DefaultSamples
		v.Samples = &n
	}
	if v.Scoring != nil && same(v.Scoring, oapi.Scoring{}) {
		v.Scoring = nil
	}
	return v
}

// configOfServer is a benchmark's config as the file writes it, judges
// by name.
func (st *state) configOfServer(c oapi.BenchmarkConfig) BenchmarkConfig {
	v := BenchmarkConfig{Temperature: &c.Temperature, MaxTokens: &c.MaxTokens, Samples: &c.Samples, MaxCostUSD: c.MaxCostUsd}
	if c.SystemPrompt != nil {
		v.SystemPrompt = *c.SystemPrompt
	}
	if c.TimeoutSeconds != nil {
		v.TimeoutSeconds = *c.TimeoutSeconds
	}
	if c.Scoring != nil && !same(c.Scoring, oapi.Scoring{}) {
		v.Scoring = c.Scoring
	}
	if c.JudgeModelIds != nil {
		v.Judges = st.namesOf(st.modelName, *c.JudgeModelIds)
	}
	return v
}

// namesOf maps ids to names; an id without a name stays an id.
func (st *state) namesOf(names map[uuid.UUID]string, ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = names[id]
		if out[i] == "" {
			out[i] = id.String()
		}
	}
	return out
}

// scheduleOfFile is the file's schedule with the API's defaults filled
// in; nil when the file gives none.
func scheduleOfFile(s *Schedule) *Schedule {
	if s == nil {
		return nil
	}
	v := *s
	if v.Enabled == nil {
		t := true
		v.Enabled = &t
	}
	v.Timezone = cmp.Or(v.Timezone, defaultTimezone)
	v.Overlap = cmp.Or(v.Overlap, defaultOverlap)
	return &v
}

func scheduleOfServer(s *oapi.Schedule) *Schedule {
	if s == nil {
		return nil
	}
	enabled := s.Enabled
	return &Schedule{Cron: s.Cron, Timezone: s.Timezone, Enabled: &enabled, Overlap: string(s.Overlap)}
}

// configInput is the request form of a config, with the judges' ids.
func configInput(v BenchmarkConfig, x *executor) (*oapi.BenchmarkConfigInput, error) {
	in := &oapi.BenchmarkConfigInput{Temperature: v.Temperature, MaxTokens: v.MaxTokens, Samples: v.Samples,
		MaxCostUsd: v.MaxCostUSD, Scoring: v.Scoring}
	if v.SystemPrompt != "" {
		in.SystemPrompt = &v.SystemPrompt
	}
	if v.TimeoutSeconds != 0 {
		in.TimeoutSeconds = &v.TimeoutSeconds
	}
	if len(v.Judges) > 0 {
		ids, err := x.idList(KindModel, v.Judges)
		if err != nil {
			return nil, err
		}
		in.JudgeModelIds = &ids
	}
	return in, nil
}

func (pl *planner) benchmarks() {
	for i, b := range pl.f.benchmarks() {
		path := fmt.Sprintf("benchmarks[%d]", i)
		for j, s := range b.Suites {
			pl.resolves(fmt.Sprintf("%s.suites[%d]", path, j), KindSuite, s)
		}
		for j, m := range b.Models {
			pl.resolves(fmt.Sprintf("%s.models[%d]", path, j), KindModel, m)
		}
		if b.Config != nil {
			for j, m := range b.Config.Judges {
				pl.resolves(fmt.Sprintf("%s.config.judges[%d]", path, j), KindModel, m)
			}
		}
		want := benchmarkView{Name: b.Name, Suites: sortedFold(b.Suites), Models: sortedFold(b.Models)}
		wantCfg, wantSched := configOfFile(b.Config), scheduleOfFile(b.Schedule)
		cur, exists := pl.st.benchmark[strings.ToLower(b.Name)]
		if !exists {
			pl.createBenchmark(path, b, wantCfg, wantSched)
			continue
		}
		have := benchmarkView{Name: cur.Name, Suites: sortedFold(pl.st.namesOf(pl.st.suiteName, cur.SuiteIds)),
			Models: sortedFold(pl.st.namesOf(pl.st.modelName, cur.ModelIds))}
		haveCfg, haveSched := pl.st.configOfServer(cur.Config), scheduleOfServer(cur.Schedule)
		fields := diffFold(diff("", have, want), have, want)
		cfgFields := diff("config.", haveCfg, wantCfg)
		var schedFields []FieldChange
		var sched *oapi.SchedulePatch
		switch {
		case wantSched == nil && haveSched != nil && *haveSched.Enabled:
			// The file has no schedule: it should not run by itself.
			f := false
			sched = &oapi.SchedulePatch{Enabled: &f}
			schedFields = []FieldChange{{Field: "schedule.enabled", Old: "true", New: "false"}}
		case wantSched != nil && haveSched == nil:
			sched = schedulePatch(*wantSched, nil)
			schedFields = []FieldChange{{Field: "schedule", Old: "(none)", New: render(canonicalAny(wantSched))}}
		case wantSched != nil:
			schedFields = diff("schedule.", *haveSched, *wantSched)
			if len(schedFields) > 0 {
				sched = schedulePatch(*wantSched, schedFields)
			}
		}
		budgetFields, budget := budgetChange(b.Budget, cur.Budget)
		alertFields, alerts := alertsChange(alertsOfFile(b.Alerts), alertsOfServer(cur.Alerts))
		all := append(append(append(append(fields, cfgFields...), schedFields...), alertFields...), budgetFields...)
		id := cur.Id
		pl.update(KindBenchmark, b.Name, path, all, func(ctx context.Context, x *executor) error {
			var in oapi.UpdateBenchmarkRequest
			for _, fc := range fields {
				switch fc.Field {
				case "name":
					in.Name = &want.Name
				case "suites":
					ids, err := x.idList(KindSuite, b.Suites)
					if err != nil {
						return err
					}
					in.SuiteIds = &ids
				case "models":
					ids, err := x.idList(KindModel, b.Models)
					if err != nil {
						return err
					}
					in.ModelIds = &ids
				}
			}
			if len(cfgFields) > 0 {
				cfg, err := configInput(wantCfg, x)
				if err != nil {
					return err
				}
				in.Config = cfg
			}
			in.Schedule = sched
			in.Alerts = alerts
			if in != (oapi.UpdateBenchmarkRequest{}) {
				if _, err := x.c.UpdateBenchmark(ctx, id, in); err != nil {
					return err
				}
			}
			if budget != nil {
				if _, err := x.c.SetBenchmarkBudget(ctx, id, *budget); err != nil {
					return withPath(err, "budget.max_cost_usd_per_month")
				}
			}
			return nil
		})
	}
	if !pl.o.Prune {
		return
	}
	for _, cur := range pl.st.benchmarks {
		if named(pl.f.benchmarks(), cur.Name, func(b Benchmark) string { return b.Name }) {
			continue
		}
		id := cur.Id
		pl.prunes[KindBenchmark] = append(pl.prunes[KindBenchmark], &Change{Action: Archive, Kind: KindBenchmark, Name: cur.Name,
			step: func(ctx context.Context, x *executor) error { return x.c.DeleteBenchmark(ctx, id) }})
	}
}

// diffFold drops the member lists' changes that are only of case: names
// match in any case.
func diffFold(fields []FieldChange, have, want benchmarkView) []FieldChange {
	eq := func(a, b []string) bool {
		return slices.EqualFunc(a, b, strings.EqualFold)
	}
	fields = dropField(fields, "suites", eq(have.Suites, want.Suites))
	return dropField(fields, "models", eq(have.Models, want.Models))
}

func (pl *planner) createBenchmark(path string, b Benchmark, cfg BenchmarkConfig, sched *Schedule) {
	c := &Change{Action: Create, Kind: KindBenchmark, Name: b.Name, Path: path}
	c.step = func(ctx context.Context, x *executor) error {
		suites, err := x.idList(KindSuite, b.Suites)
		if err != nil {
			return err
		}
		models, err := x.idList(KindModel, b.Models)
		if err != nil {
			return err
		}
		in := oapi.CreateBenchmarkRequest{Name: b.Name, SuiteIds: suites, ModelIds: models}
		if in.Config, err = configInput(cfg, x); err != nil {
			return err
		}
		if sched != nil {
			ov := oapi.ScheduleOverlap(sched.Overlap)
			in.Schedule = &oapi.ScheduleInput{Cron: sched.Cron, Timezone: &sched.Timezone, Enabled: sched.Enabled, Overlap: &ov}
		}
		if a := alertsOfFile(b.Alerts); a != nil {
			in.Alerts = alertsInput(*a)
		}
		out, err := x.c.CreateBenchmark(ctx, in)
		if err != nil {
			return err
		}
		if b.Budget != nil && b.Budget.MaxCostUSDPerMonth != nil {
			if _, err := x.c.SetBenchmarkBudget(ctx, out.Id, oapi.BenchmarkBudget{MaxCostUsdPerMonth: b.Budget.MaxCostUSDPerMonth}); err != nil {
				return withPath(err, "budget.max_cost_usd_per_month")
			}
		}
		return nil
	}
	pl.add(c)
}

// schedulePatch sets the fields that changed, or all of them (a new
// schedule) when changed is nil.
func schedulePatch(v Schedule, changed []FieldChange) *oapi.SchedulePatch {
	p := &oapi.SchedulePatch{}
	ov := oapi.ScheduleOverlap(v.Overlap)
	all := changed == nil
	has := func(f string) bool {
		return all || slices.ContainsFunc(changed, func(fc FieldChange) bool { return fc.Field == "schedule."+f })
	}
	if has("cron") {
		p.Cron = &v.Cron
	}
	if has("timezone") {
		p.Timezone = &v.Timezone
	}
	if has("enabled") {
		p.Enabled = v.Enabled
	}
	if has("overlap") {
		p.Overlap = &ov
	}
	return p
}

// budgetChange compares the file's budget (nil: not managed) with the
// server's, and returns the PUT to make when they differ.
func budgetChange(want *Budget, have oapi.BenchmarkBudget) ([]FieldChange, *oapi.BenchmarkBudget) {
	if want == nil || same(want.MaxCostUSDPerMonth, have.MaxCostUsdPerMonth) {
		return nil, nil
	}
	fc := FieldChange{Field: "budget.max_cost_usd_per_month", Old: render(canonicalAny(have.MaxCostUsdPerMonth)), New: render(canonicalAny(want.MaxCostUSDPerMonth))}
	return []FieldChange{fc}, &oapi.BenchmarkBudget{MaxCostUsdPerMonth: want.MaxCostUSDPerMonth}
}
