package store

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/fault"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

func benchmarkFromRow(r dbsqlc.GetBenchmarkRow) catalog.Benchmark {
	b := catalog.Benchmark{
		ID: r.ID, Name: r.Name, SuiteIDs: r.SuiteIds, ModelIDs: r.ModelIds,
		Archived: r.ArchivedAt != nil, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	_ = json.Unmarshal(r.Config, &b.Config)
	b.Schedule, b.NextRunAt = scheduleFromRow(r.ScheduleCron, r.ScheduleTimezone, r.ScheduleEnabled, r.ScheduleOverlap, r.ScheduleLastAt, b.Archived)
	return b
}

// checkMembers verifies that every suite and model exists and is active,
// naming the offending list element, and returns the run fan-out the
// benchmark would have.
func checkMembers(ctx context.Context, q *dbsqlc.Queries, suiteIDs, modelIDs []uuid.UUID, samples, maxUnits int) (int, error) {
	suites, err := q.GetSuitesByIDs(ctx, suiteIDs)
	if err != nil {
		return 0, err
	}
	active := map[uuid.UUID]bool{}
	for _, su := range suites {
		active[su.ID] = su.ArchivedAt == nil
	}
	for i, id := range suiteIDs {
		if ok, found := active[id]; !found || !ok {
			return 0, fault.Invalid(fmt.Sprintf("suite_ids.%d", i), "suite not found or archived")
		}
	}
	models, err := q.GetModelsByIDs(ctx, modelIDs)
	if err != nil {
		return 0, err
	}
	clear(active)
	for _, m := range models {
		active[m.ID] = m.ArchivedAt == nil
	}
	for i, id := range modelIDs {
		if ok, found := active[id]; !found || !ok {
			return 0, fault.Invalid(fmt.Sprintf("model_ids.%d", i), "model not found or archived")
		}
	}
	nq, err := q.CountActiveQuestions(ctx, suiteIDs)
	if err != nil {
		return 0, err
	}
	units := len(modelIDs) * int(nq) * samples
	if maxUnits > 0 && units > maxUnits {
		return 0, fault.Invalid("model_ids", "a run would fan out into %d units (%d models × %d questions × %d samples), over the limit of %d",
			units, len(modelIDs), nq, samples, maxUnits)
	}
	return units, nil
}

// CreateBenchmark stores a benchmark after checking its members and its
// fan-out against maxUnits (0: no limit).
func (s *Store) CreateBenchmark(ctx context.Context, in catalog.BenchmarkInput, maxUnits int) (*catalog.Benchmark, error) {
	id := newID()
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if _, err := checkMembers(ctx, q, in.SuiteIDs, in.ModelIDs, in.Config.Samples, maxUnits); err != nil {
			return err
		}
		if _, err := q.CreateBenchmark(ctx, dbsqlc.CreateBenchmarkParams{ID: id, Name: in.Name, Config: mustJSON(in.Config)}); err != nil {
			return conflict(err, "a benchmark with this name")
		}
		if err := q.SetBenchmarkSuites(ctx, dbsqlc.SetBenchmarkSuitesParams{BenchmarkID: id, SuiteIds: in.SuiteIDs}); err != nil {
			return err
		}
		if in.Schedule != nil {
			if err := setSchedule(ctx, q, id, in.Schedule.Normalized(), nil, nil); err != nil {
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
	if err := s.fillUnits(ctx, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

func (s *Store) fillUnits(ctx context.Context, b *catalog.Benchmark) error {
	nq, err := s.q.CountActiveQuestions(ctx, b.SuiteIDs)
	if err != nil {
		return err
	}
	b.UnitCount = len(b.ModelIDs) * int(nq) * b.Config.Samples
	return nil
}

// ListBenchmarks returns a page of benchmarks in creation order.
func (s *Store) ListBenchmarks(ctx context.Context, includeArchived bool, limit int, cursor string) (Page[catalog.Benchmark], error) {
	page, err := listPage(cursor, limit, func(after *uuid.UUID, lim int32) ([]dbsqlc.ListBenchmarksRow, error) {
		return s.q.ListBenchmarks(ctx, dbsqlc.ListBenchmarksParams{After: after, IncludeArchived: includeArchived, Lim: lim})
	}, func(r dbsqlc.ListBenchmarksRow) catalog.Benchmark {
		return benchmarkFromRow(dbsqlc.GetBenchmarkRow(r))
	}, func(r dbsqlc.ListBenchmarksRow) uuid.UUID { return r.ID })
	if err != nil {
		return Page[catalog.Benchmark]{}, err
	}
	for i := range page.Items {
		if err := s.fillUnits(ctx, &page.Items[i]); err != nil {
			return Page[catalog.Benchmark]{}, err
		}
	}
	return page, nil
}

// UpdateBenchmark changes a benchmark that is not archived. Runs already
// made keep their own snapshot. A schedule change applies from the next
// tick.
func (s *Store) UpdateBenchmark(ctx context.Context, id uuid.UUID, p catalog.BenchmarkPatch, maxUnits int) (*catalog.Benchmark, error) {
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if _, err := q.LockBenchmark(ctx, id); err != nil {
			return notFound(err, "benchmark")
		}
		cur, err := q.GetBenchmark(ctx, id)
		if err != nil {
			return err
		}
		b := benchmarkFromRow(cur)
		if p.SuiteIDs != nil {
			b.SuiteIDs = p.SuiteIDs
		}
		if p.ModelIDs != nil {
			b.ModelIDs = p.ModelIDs
		}
		if p.Config != nil {
			b.Config = *p.Config
		}
		if _, err := checkMembers(ctx, q, b.SuiteIDs, b.ModelIDs, b.Config.Samples, maxUnits); err != nil {
			return err
		}
		arg := dbsqlc.UpdateBenchmarkParams{ID: id, Name: p.Name}
		if p.Config != nil {
			arg.Config = mustJSON(p.Config)
		}
		if _, err := q.UpdateBenchmark(ctx, arg); err != nil {
			return conflict(err, "a benchmark with this name")
		}
		if p.Schedule != nil {
			sc, err := p.Schedule.Apply(b.Schedule)
			if err != nil {
				return err
			}
			if err := setSchedule(ctx, q, id, sc, b.Schedule, cur.ScheduleLastAt); err != nil {
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
				"config", setIf(p.Config != nil), "schedule", setIf(p.Schedule != nil)))
	})
	if err != nil {
		return nil, err
	}
	return s.GetBenchmark(ctx, id)
}

// DeleteBenchmark deletes a benchmark without runs, or archives one with
// runs (their results stay). It reports whether it archived.
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
