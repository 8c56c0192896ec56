package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// benchmarkFromRow converts a benchmark row, with its schedule's state
// and unit count as of now.
func benchmarkFromRow(r dbsqlc.GetBenchmarkRow) catalog.Benchmark {
	b := catalog.Benchmark{
		ID: r.ID, Name: r.Name, SuiteIDs: r.SuiteIds, ModelIDs: r.ModelIds,
		ArchivedAt: r.ArchivedAt, BudgetMaxCostUSDMonth: r.BudgetMaxCostUsdMonth, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	_ = json.Unmarshal(r.Config, &b.Config)
	b.Alerts = alertSettings(r.Alerts)
	b.UnitCount = len(b.ModelIDs) * int(r.ActiveQuestions) * b.Config.Samples
	if r.ScheduleCron != nil {
		b.Schedule = &catalog.Schedule{
			Cron: *r.ScheduleCron, Timezone: r.ScheduleTimezone, Enabled: r.ScheduleEnabled, Overlap: schedule.Overlap(r.ScheduleOverlap),
			LastSkippedAt: r.ScheduleLastSkippedAt, LastSkipReason: deref(r.ScheduleLastSkipReason),
			SetByTokenID: r.ScheduleTokenID,
		}
	}
	b.ResolveSchedule(r.ScheduleLastAt, blockersOf(r), time.Now())
	return b
}

// alertSettings decodes a benchmark's alerts column; nil when NULL.
func alertSettings(raw []byte) *catalog.AlertSettings {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var a catalog.AlertSettings
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil
	}
	return &a
}

// alertsColumn encodes alert settings for the alerts column; nil: NULL.
func alertsColumn(a *catalog.AlertSettings) []byte {
	if a == nil {
		return nil
	}
	return mustJSON(a)
}

// blockersOf says what keeps a benchmark row from running.
func blockersOf(r dbsqlc.GetBenchmarkRow) catalog.Blockers {
	return catalog.Blockers{ArchivedModels: r.ArchivedModels, ArchivedSuites: r.ArchivedSuites, ActiveQuestions: int(r.ActiveQuestions)}
}

// checkSuites verifies that every suite exists and is active, naming the
// offending list element.
func checkSuites(ctx context.Context, q *dbsqlc.Queries, ids []uuid.UUID) error {
	suites, err := q.GetSuitesByIDs(ctx, ids)
	if err != nil {
		return err
	}
	active := make(map[uuid.UUID]bool, len(suites))
	for _, su := range suites {
		active[su.ID] = su.ArchivedAt == nil
	}
	return checkActive("suite_ids", "suite", ids, active)
}

// checkModels verifies that every model exists and is active, naming the
// offending list element.
func checkModels(ctx context.Context, q *dbsqlc.Queries, ids []uuid.UUID) error {
	return checkModelsAt(ctx, q, "model_ids", ids)
}

// checkModelsAt is checkModels for a list of models under any field (the
// benchmark's models, or its judges).
func checkModelsAt(ctx context.Context, q *dbsqlc.Queries, field string, ids []uuid.UUID) error {
	models, err := q.GetModelsByIDs(ctx, ids)
	if err != nil {
		return err
	}
	active := make(map[uuid.UUID]bool, len(models))
	for _, m := range models {
		active[m.ID] = m.ArchivedAt == nil
	}
	return checkActive(field, "model", ids, active)
}

func checkActive(field, kind string, ids []uuid.UUID, active map[uuid.UUID]bool) error {
	for i, id := range ids {
		if ok, found := active[id]; !found {
			return fault.Invalid(fmt.Sprintf("%s[%d]", field, i), "%s not found", kind)
		} else if !ok {
			return fault.Invalid(fmt.Sprintf("%s[%d]", field, i), "%s is archived", kind)
		}
	}
	return nil
}

// checkFanOut returns the run fan-out a benchmark of these members would
// have, refusing one over maxUnits (0: no limit).
func checkFanOut(ctx context.Context, q *dbsqlc.Queries, suiteIDs []uuid.UUID, models, samples, maxUnits int) (int, error) {
	nq, err := q.CountActiveQuestions(ctx, suiteIDs)
	if err != nil {
		return 0, err
	}
	units := models * int(nq) * samples
	if maxUnits > 0 && units > maxUnits {
		return 0, fault.Invalid("model_ids", "a run would fan out into %d units (%d models × %d questions × %d samples), over the limit of %d",
			units, models, nq, samples, maxUnits)
	}
	return units, nil
}

// CreateBenchmark stores a benchmark after checking its members and its
// fan-out against maxUnits (0: no limit).
func (s *Store) CreateBenchmark(ctx context.Context, in catalog.BenchmarkInput, maxUnits int) (*catalog.Benchmark, error) {
	id := newID()
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if err := checkSuites(ctx, q, in.SuiteIDs); err != nil {
			return err
		}
		if err := checkModels(ctx, q, in.ModelIDs); err != nil {
			return err
		}
		// The members are checked first: an unknown suite or model is the
		// more useful error, and the fan-out depends on them.
		if err := in.Config.Validate("config"); err != nil {
			return err
		}
		if err := checkConfigScoring(ctx, q, in.SuiteIDs, in.Config); err != nil {
			return err
		}
		if _, err := checkFanOut(ctx, q, in.SuiteIDs, len(in.ModelIDs), in.Config.Samples, maxUnits); err != nil {
			return err
		}
		if _, err := q.CreateBenchmark(ctx, dbsqlc.CreateBenchmarkParams{ID: id, Name: in.Name, Config: mustJSON(in.Config), Alerts: alertsColumn(in.Alerts)}); err != nil {
			return conflict(err, "a benchmark with this name")
		}
		if err := q.SetBenchmarkSuites(ctx, dbsqlc.SetBenchmarkSuitesParams{BenchmarkID: id, SuiteIds: in.SuiteIDs}); err != nil {
			return err
		}
		if in.Schedule != nil {
			if err := setSchedule(ctx, q, id, in.Schedule.Normalized(), nil, nil, s.limits.MinScheduleInterval); err != nil {
				return err
			}
		}
		if err := q.SetBenchmarkModels(ctx, dbsqlc.SetBenchmarkModelsParams{BenchmarkID: id, ModelIds: in.ModelIDs}); err != nil {
			return err
		}
		return auditChange(ctx, q, audit.ActionBenchmarkCreate, audit.ResourceBenchmark, id.String(), "")
	})
	if err != nil {
		return nil, err
	}
	return s.GetBenchmark(ctx, id)
}

// BenchmarkNames returns the names of the given benchmarks, archived or
// not, for answers that show names beside ids; unknown ids are left out.
func (s *Store) BenchmarkNames(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	rows, err := s.q.BenchmarkNames(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("benchmark names: %w", err)
	}
	return labels(rows, func(r dbsqlc.BenchmarkNamesRow) (uuid.UUID, string) { return r.ID, r.Name }), nil
}

// GetBenchmark returns a benchmark with the number of units a run of it
// would have now.
func (s *Store) GetBenchmark(ctx context.Context, id uuid.UUID) (*catalog.Benchmark, error) {
	row, err := s.q.GetBenchmark(ctx, id)
	if err != nil {
		return nil, notFound(err, "benchmark")
	}
	b := benchmarkFromRow(row)
	return &b, nil
}

// ListBenchmarks returns a page of benchmarks in creation order.
func (s *Store) ListBenchmarks(ctx context.Context, includeArchived bool, limit int, cursor string) (Page[catalog.Benchmark], error) {
	return listPage(cursor, limit, func(after *uuid.UUID, lim int32) ([]dbsqlc.ListBenchmarksRow, error) {
		return s.q.ListBenchmarks(ctx, dbsqlc.ListBenchmarksParams{After: after, IncludeArchived: includeArchived, Lim: lim})
	}, func(r dbsqlc.ListBenchmarksRow) catalog.Benchmark {
		return benchmarkFromRow(dbsqlc.GetBenchmarkRow(r))
	}, func(r dbsqlc.ListBenchmarksRow) uuid.UUID { return r.ID })
}

// UpdateBenchmark changes a benchmark that is not archived (Conflict when
// it is). Runs already made keep their own snapshot. A schedule change
// applies from the next tick. Only what the patch changes is checked: a
// benchmark whose model was archived can still be renamed or have its
// schedule disabled, and replacing the archived members unblocks it.
func (s *Store) UpdateBenchmark(ctx context.Context, id uuid.UUID, p catalog.BenchmarkPatch, maxUnits int) (*catalog.Benchmark, error) {
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if _, err := q.LockBenchmark(ctx, id); err != nil {
			return notFoundOrFrozen(err, "benchmark", func() (*time.Time, error) {
				cur, err := q.GetBenchmark(ctx, id)
				return cur.ArchivedAt, err
			})
		}
		cur, err := q.GetBenchmark(ctx, id)
		if err != nil {
			return err
		}
		b := benchmarkFromRow(cur)
		if p.SuiteIDs != nil {
			if err := checkSuites(ctx, q, p.SuiteIDs); err != nil {
				return err
			}
			b.SuiteIDs = p.SuiteIDs
		}
		if p.ModelIDs != nil {
			if err := checkModels(ctx, q, p.ModelIDs); err != nil {
				return err
			}
			b.ModelIDs = p.ModelIDs
		}
		if p.Config != nil {
			if err := p.Config.Validate("config"); err != nil {
				return err
			}
			b.Config = *p.Config
		}
		if p.SuiteIDs != nil || p.Config != nil {
			if err := checkConfigScoring(ctx, q, b.SuiteIDs, b.Config); err != nil {
				return err
			}
		}
		if p.SuiteIDs != nil || p.ModelIDs != nil || p.Config != nil {
			if _, err := checkFanOut(ctx, q, b.SuiteIDs, len(b.ModelIDs), b.Config.Samples, maxUnits); err != nil {
				return err
			}
		}
		arg := dbsqlc.UpdateBenchmarkParams{ID: id, Name: p.Name}
		if p.Config != nil {
			arg.Config = mustJSON(p.Config)
		}
		if _, err := q.UpdateBenchmark(ctx, arg); err != nil {
			return conflict(err, "a benchmark with this name")
		}
		if p.Alerts != nil || p.RemoveAlerts {
			if err := q.SetBenchmarkAlerts(ctx, dbsqlc.SetBenchmarkAlertsParams{ID: id, Alerts: alertsColumn(p.Alerts)}); err != nil {
				return err
			}
		}
		if p.Schedule != nil {
			sc, err := p.Schedule.Apply(b.Schedule)
			if err != nil {
				return err
			}
			if err := setSchedule(ctx, q, id, sc, b.Schedule, cur.ScheduleLastAt, s.limits.MinScheduleInterval); err != nil {
				return err
			}
		}
		if p.SuiteIDs != nil {
			if err := q.ClearBenchmarkSuites(ctx, id); err != nil {
				return err
			}
			if err := q.SetBenchmarkSuites(ctx, dbsqlc.SetBenchmarkSuitesParams{BenchmarkID: id, SuiteIds: p.SuiteIDs}); err != nil {
				return err
			}
		}
		if p.ModelIDs != nil {
			if err := q.ClearBenchmarkModels(ctx, id); err != nil {
				return err
			}
			if err := q.SetBenchmarkModels(ctx, dbsqlc.SetBenchmarkModelsParams{BenchmarkID: id, ModelIds: p.ModelIDs}); err != nil {
				return err
			}
		}
		return auditChange(ctx, q, audit.ActionBenchmarkUpdate, audit.ResourceBenchmark, id.String(),
			changedFields("name", setIf(p.Name != nil), "suite_ids", setIf(p.SuiteIDs != nil), "model_ids", setIf(p.ModelIDs != nil),
				"config", setIf(p.Config != nil), "schedule", setIf(p.Schedule != nil),
				"alerts", setIf(p.Alerts != nil || p.RemoveAlerts)))
	})
	if err != nil {
		return nil, err
	}
	return s.GetBenchmark(ctx, id)
}

// DeleteBenchmark deletes a benchmark without runs, or archives one with
// runs (their results stay), disabling its schedule in the same
// transaction. It reports whether it archived.
func (s *Store) DeleteBenchmark(ctx context.Context, id uuid.UUID) (archived bool, err error) {
	err = s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if _, err := q.GetBenchmark(ctx, id); err != nil {
			return notFound(err, "benchmark")
		}
		has, err := q.BenchmarkHasRuns(ctx, id)
		if err != nil {
			return err
		}
		reason := ""
		if has {
			archived, reason = true, "archived: has runs"
			_, err = q.ArchiveBenchmark(ctx, id)
		} else {
			_, err = q.DeleteBenchmark(ctx, id)
		}
		if err != nil {
			return err
		}
		return auditChange(ctx, q, audit.ActionBenchmarkDelete, audit.ResourceBenchmark, id.String(), reason)
	})
	return archived, err
}

// EstimateBenchmark estimates the tokens and cost of a run of a benchmark
// started now: its active questions and samples, each model's current
// prices, and each model's mean output tokens over its newest
// catalog.EstimateHistoryWindow succeeded executions (max_tokens when it
// has none). It reads at one snapshot, so the parts agree.
func (s *Store) EstimateBenchmark(ctx context.Context, id uuid.UUID) (*catalog.Estimate, error) {
	var est catalog.Estimate
	err := s.inTx(ctx, pgx.RepeatableRead, func(q *dbsqlc.Queries) error {
		row, err := q.GetBenchmark(ctx, id)
		if err != nil {
			return notFound(err, "benchmark")
		}
		b := benchmarkFromRow(row)
		prompts, err := q.PromptTokenEstimate(ctx, dbsqlc.PromptTokenEstimateParams{
			SystemChars: int32(utf8.RuneCountInString(b.Config.SystemPrompt)), SuiteIds: b.SuiteIDs,
		})
		if err != nil {
			return err
		}
		models, err := q.GetModelsByIDs(ctx, b.ModelIDs)
		if err != nil {
			return err
		}
		history, err := q.ModelOutputHistory(ctx, dbsqlc.ModelOutputHistoryParams{ModelIds: b.ModelIDs, PerModel: catalog.EstimateHistoryWindow})
		if err != nil {
			return err
		}
		byID := make(map[uuid.UUID]dbsqlc.Model, len(models))
		for _, m := range models {
			byID[m.ID] = m
		}
		hist := make(map[uuid.UUID]catalog.ModelHistory, len(history))
		for _, h := range history {
			hist[h.ModelID] = catalog.ModelHistory{Executions: int(h.Executions), MeanOutputTokens: h.MeanOutputTokens}
		}
		in := catalog.EstimateInput{
			Questions: int(prompts.Questions), PromptTokens: prompts.InputTokens,
			Samples: b.Config.Samples, MaxTokens: b.Config.MaxTokens,
			Models: make([]catalog.EstimateModel, 0, len(b.ModelIDs)),
		}
		for _, mid := range b.ModelIDs {
			m, ok := byID[mid]
			if !ok {
				return fmt.Errorf("benchmark %s lists model %s, which does not exist", id, mid)
			}
			in.Models = append(in.Models, catalog.EstimateModel{
				ID: m.ID, Name: m.Name, InputCostPerMTok: m.InputCostPerMtok, OutputCostPerMTok: m.OutputCostPerMtok,
				History: hist[m.ID],
			})
		}
		est = catalog.EstimateRun(in)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &est, nil
}
