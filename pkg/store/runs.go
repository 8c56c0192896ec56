package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// RunConfig is the configuration a run stores: the benchmark's config and
// the suites and models it was created from.
type RunConfig struct {
	catalog.BenchmarkConfig
	SuiteIDs []uuid.UUID `json:"suite_ids"`
	ModelIDs []uuid.UUID `json:"model_ids"`
}

func runFromRow(r dbsqlc.Run) *run.Run {
	out := &run.Run{
		ID: r.ID, BenchmarkID: r.BenchmarkID, Status: run.Status(r.Status), Trigger: run.Trigger(r.Trigger),
		ScheduledFor: r.ScheduledFor, ModelCount: int(r.ModelCount), QuestionCount: int(r.QuestionCount), Samples: int(r.Samples),
		Progress:   run.Progress{Total: int(r.TotalUnits), Succeeded: int(r.Succeeded), Failed: int(r.Failed), Cancelled: int(r.Cancelled), Skipped: int(r.Skipped)},
		MaxCostUSD: r.MaxCostUsd, DeadlineAt: r.DeadlineAt,
		CostUSD: r.CostUsd, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens,
		LatencyP50Ms: r.LatencyP50Ms, LatencyP95Ms: r.LatencyP95Ms, Error: deref(r.Error),
		CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, CancelRequestedAt: r.CancelRequestedAt,
	}
	var rc RunConfig
	_ = json.Unmarshal(r.Config, &rc)
	out.Config, out.SuiteIDs, out.ModelIDs = rc.BenchmarkConfig, rc.SuiteIDs, rc.ModelIDs
	return out
}

// NewRun says which run to create.
type NewRun struct {
	BenchmarkID uuid.UUID
	Trigger     run.Trigger
	// ScheduledFor is the schedule occurrence a run with trigger schedule
	// is for; a benchmark has at most one run per occurrence.
	ScheduledFor *time.Time
	// TokenID is the token that asks for the run, whose daily budgets it
	// is charged to; nil for an operator's run on the database. Ignored
	// for trigger schedule: such a run is charged to the token that last
	// set the schedule, or to the benchmark's budget.
	TokenID *uuid.UUID
	// MaxCostUSD overrides the benchmark's spend cap for this run.
	MaxCostUSD *float64
}

// CreateRun inserts a queued run of a benchmark with its snapshot (config,
// models, question revisions) in one transaction at repeatable read, so the
// counts and the snapshot agree even while questions are being added. A
// run for a schedule occurrence that already has one returns that run.
// The run passes the Store's RunLimits in the same transaction: the units
// checked and charged are the units of the snapshot. Over a limit the
// error is a fault (Conflict, Invalid) or a *BudgetError.
func (s *Store) CreateRun(ctx context.Context, nr NewRun) (*run.Run, error) {
	r, _, err := s.EnsureRun(ctx, nr)
	return r, err
}

// EnsureRun is CreateRun that also reports whether it inserted the run:
// for a ScheduledFor whose occurrence already has a run it returns that
// run and false, not an error.
func (s *Store) EnsureRun(ctx context.Context, nr NewRun) (*run.Run, bool, error) {
	var out *run.Run
	var created bool
	err := s.inTxRetry(ctx, pgx.RepeatableRead, func(q *dbsqlc.Queries) error {
		var err error
		out, created, err = createRun(ctx, q, s.limits, nr)
		return err
	})
	return out, created, err
}

// createRun is CreateRun inside the caller's repeatable-read transaction.
// It is the only code that inserts runs, so every trigger passes lim.
func createRun(ctx context.Context, q *dbsqlc.Queries, lim RunLimits, nr NewRun) (*run.Run, bool, error) {
	benchmarkID, trigger := nr.BenchmarkID, nr.Trigger
	if (nr.ScheduledFor != nil) != (trigger == run.TriggerSchedule) {
		return nil, false, fmt.Errorf("create run of benchmark %s: scheduled_for goes with trigger schedule, and only with it", benchmarkID)
	}
	if nr.ScheduledFor != nil {
		row, err := q.GetScheduledRun(ctx, dbsqlc.GetScheduledRunParams{BenchmarkID: benchmarkID, ScheduledFor: nr.ScheduledFor})
		if err == nil {
			return runFromRow(row), false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, false, err
		}
	}
	if _, err := q.LockBenchmark(ctx, benchmarkID); err != nil {
		return nil, false, notFoundOrFrozen(err, "benchmark", func() (*time.Time, error) {
			b, err := q.GetBenchmark(ctx, benchmarkID)
			return b.ArchivedAt, err
		})
	}
	b, err := q.GetBenchmark(ctx, benchmarkID)
	if err != nil {
		return nil, false, err
	}
	bench := benchmarkFromRow(b)
	if reason := blockersOf(b).Reason(); reason != "" {
		return nil, false, fault.Conflict("%s", reason)
	}
	if len(bench.ModelIDs) == 0 {
		return nil, false, fault.Conflict("the benchmark has no models")
	}
	modelCount, questionCount := int32(len(bench.ModelIDs)), b.ActiveQuestions
	total := bench.UnitCount
	id := newID()
	created := time.Now().UTC().Truncate(time.Microsecond)
	maxCost := bench.Config.MaxCostUSD
	if nr.MaxCostUSD != nil {
		maxCost = nr.MaxCostUSD
	}
	ch, err := chargeRun(ctx, q, lim, b, nr, total, maxCost, created)
	if err != nil {
		return nil, false, err
	}
	maxCost = ch.maxCost
	var deadline *time.Time
	if secs := bench.Config.TimeoutSeconds; secs > 0 {
		d := created.Add(time.Duration(secs) * time.Second)
		deadline = &d
	}
	config := mustJSON(RunConfig{BenchmarkConfig: bench.Config, SuiteIDs: bench.SuiteIDs, ModelIDs: bench.ModelIDs})
	var row dbsqlc.Run
	if nr.ScheduledFor != nil {
		// The unique (benchmark_id, scheduled_for) key is the last guard
		// against a second run for one occurrence: at repeatable read a
		// concurrent insert surfaces as a serialization failure, retried,
		// after which the run above is found.
		row, err = q.CreateScheduledRun(ctx, dbsqlc.CreateScheduledRunParams{
			ID: id, BenchmarkID: benchmarkID, ScheduledFor: nr.ScheduledFor, Config: config,
			ModelCount: modelCount, QuestionCount: questionCount, Samples: int32(bench.Config.Samples),
			TotalUnits: int32(total), CreatedAt: created, MaxCostUsd: maxCost, DeadlineAt: deadline, ChargedTokenID: ch.token,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			existing, gerr := q.GetScheduledRun(ctx, dbsqlc.GetScheduledRunParams{BenchmarkID: benchmarkID, ScheduledFor: nr.ScheduledFor})
			if gerr != nil {
				return nil, false, gerr
			}
			return runFromRow(existing), false, nil
		}
	} else {
		row, err = q.CreateRun(ctx, dbsqlc.CreateRunParams{
			ID: id, BenchmarkID: benchmarkID, Trigger: string(trigger), Config: config,
			ModelCount: modelCount, QuestionCount: questionCount, Samples: int32(bench.Config.Samples),
			TotalUnits: int32(total), CreatedAt: created, MaxCostUsd: maxCost, DeadlineAt: deadline, ChargedTokenID: ch.token,
		})
	}
	if err != nil {
		return nil, false, err
	}
	nm, err := q.SnapshotRunModels(ctx, dbsqlc.SnapshotRunModelsParams{RunID: id, BenchmarkID: benchmarkID})
	if err != nil {
		return nil, false, err
	}
	nq, err := q.SnapshotRunQuestions(ctx, dbsqlc.SnapshotRunQuestionsParams{RunID: id, BenchmarkID: benchmarkID})
	if err != nil {
		return nil, false, err
	}
	if nm != int64(modelCount) || nq != int64(questionCount) {
		return nil, false, fmt.Errorf("run snapshot of benchmark %s: %d models and %d questions, expected %d and %d", benchmarkID, nm, nq, modelCount, questionCount)
	}
	if err := auditChange(ctx, q, audit.ActionRunStart, audit.ResourceRun, id.String(),
		fmt.Sprintf("benchmark %s, trigger %s, %d units", benchmarkID, trigger, total)); err != nil {
		return nil, false, err
	}
	return runFromRow(row), true, nil
}

// GetRun returns a run.
func (s *Store) GetRun(ctx context.Context, id uuid.UUID) (*run.Run, error) {
	row, err := s.q.GetRun(ctx, id)
	if err != nil {
		return nil, notFound(err, "run")
	}
	return runFromRow(row), nil
}

// RunFilter narrows ListRuns.
type RunFilter struct {
	BenchmarkID *uuid.UUID
	Status      *run.Status
}

// ListRuns returns a page of runs, newest first.
func (s *Store) ListRuns(ctx context.Context, f RunFilter, limit int, cursor string) (Page[*run.Run], error) {
	var status *string
	if f.Status != nil {
		st := string(*f.Status)
		status = &st
	}
	// Newest first: the cursor's id is the one to list runs before.
	return listPage(cursor, limit, func(before *uuid.UUID, lim int32) ([]dbsqlc.Run, error) {
		return s.q.ListRuns(ctx, dbsqlc.ListRunsParams{BenchmarkID: f.BenchmarkID, Status: status, Before: before, Lim: lim})
	}, runFromRow, func(r dbsqlc.Run) uuid.UUID { return r.ID })
}

// RequestCancel records a cancel request on an unfinished run; Conflict
// when it has finished.
func (s *Store) RequestCancel(ctx context.Context, id uuid.UUID) (*run.Run, error) {
	var out *run.Run
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		row, err := q.RequestRunCancel(ctx, id)
		if err != nil {
			if _, gerr := q.GetRun(ctx, id); gerr != nil {
				return notFound(gerr, "run")
			}
			return fault.Conflict("run has already finished")
		}
		out = runFromRow(row)
		return auditChange(ctx, q, audit.ActionRunCancel, audit.ResourceRun, id.String(), "")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FailRun closes a run that could not be started (its task could not be
// enqueued), so no run is left queued with no work behind it.
func (s *Store) FailRun(ctx context.Context, r *run.Run, reason string) error {
	_, err := s.q.FinishRun(ctx, dbsqlc.FinishRunParams{ID: r.ID, Status: string(run.StatusFailed), Error: &reason})
	return err
}

// MarkRunning moves a queued run to running and returns it as it is now.
func (s *Store) MarkRunning(ctx context.Context, id uuid.UUID) (*run.Run, error) {
	row, err := s.q.MarkRunRunning(ctx, id)
	if err == nil {
		return runFromRow(row), nil
	}
	return s.GetRun(ctx, id)
}

// LoadSnapshot returns a run with the models and question revisions it
// asks, in unit order.
func (s *Store) LoadSnapshot(ctx context.Context, id uuid.UUID) (*run.Snapshot, error) {
	r, err := s.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	models, err := s.q.ListRunModels(ctx, id)
	if err != nil {
		return nil, err
	}
	questions, err := s.q.ListRunQuestions(ctx, id)
	if err != nil {
		return nil, err
	}
	snap := &run.Snapshot{Run: r, Models: make([]run.SnapshotModel, len(models)), Questions: make([]run.SnapshotQuestion, len(questions))}
	for i, m := range models {
		snap.Models[i] = run.SnapshotModel{
			Position: int(m.Position), ModelID: m.ModelID, ProviderID: m.ProviderID, Name: m.Name, ProviderModelID: m.ProviderModelID,
			InputCostPerMTok: m.InputCostPerMtok, OutputCostPerMTok: m.OutputCostPerMtok,
		}
		_ = json.Unmarshal(m.RequestOverrides, &snap.Models[i].Overrides)
	}
	for i, q := range questions {
		snap.Questions[i] = run.SnapshotQuestion{
			Position: int(q.Position), QuestionID: q.QuestionID, RevisionID: q.RevisionID, Revision: int(q.Revision),
			Prompt: q.Prompt, Category: q.Category, ExpectedAnswer: q.ExpectedAnswer,
		}
		if err := json.Unmarshal(q.Scoring, &snap.Questions[i].Scoring); err != nil {
			return nil, fmt.Errorf("run %s question %s scoring: %w", id, q.QuestionID, err)
		}
	}
	if len(snap.Models) != r.ModelCount || len(snap.Questions) != r.QuestionCount {
		return nil, fmt.Errorf("run %s snapshot has %d models and %d questions, expected %d and %d", id, len(snap.Models), len(snap.Questions), r.ModelCount, r.QuestionCount)
	}
	return snap, nil
}

// RecordedUnits lists the units of a run that have an execution.
func (s *Store) RecordedUnits(ctx context.Context, r *run.Run) ([]run.UnitKey, error) {
	rows, err := s.q.ListRecordedUnits(ctx, dbsqlc.ListRecordedUnitsParams{RunCreatedAt: r.CreatedAt, RunID: r.ID})
	if err != nil {
		return nil, err
	}
	out := make([]run.UnitKey, len(rows))
	for i, k := range rows {
		out[i] = run.UnitKey{ModelID: k.ModelID, QuestionID: k.QuestionID, Sample: int(k.Sample)}
	}
	return out, nil
}

// RecordExecution stores an execution and its evaluation, exactly once per
// (run, model, question, sample); it reports whether this call inserted.
// A Recorder batches these calls from many goroutines.
func (s *Store) RecordExecution(ctx context.Context, e *run.Execution) (bool, error) {
	var inserted [1]bool
	if err := s.RecordExecutions(ctx, []*run.Execution{e}, inserted[:]); err != nil {
		return false, err
	}
	return inserted[0], nil
}

// Counts returns how many units of the run are recorded, by outcome.
func (s *Store) Counts(ctx context.Context, r *run.Run) (run.Progress, error) {
	c, err := s.q.RunCounts(ctx, dbsqlc.RunCountsParams{RunCreatedAt: r.CreatedAt, RunID: r.ID})
	if err != nil {
		return run.Progress{}, err
	}
	return run.Progress{Total: r.Total(), Succeeded: int(c.Succeeded), Failed: int(c.Failed), Cancelled: int(c.Cancelled), Skipped: int(c.Skipped)}, nil
}

// FailureCauses returns the most common causes of the run's failed units
// by provider and error, most units first, at most limit of them.
func (s *Store) FailureCauses(ctx context.Context, r *run.Run, limit int) ([]run.FailureCause, error) {
	rows, err := s.q.RunFailureCauses(ctx, dbsqlc.RunFailureCausesParams{RunCreatedAt: r.CreatedAt, RunID: r.ID, Lim: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("failure causes of run %s: %w", r.ID, err)
	}
	out := make([]run.FailureCause, len(rows))
	for i, row := range rows {
		out[i] = run.FailureCause{ProviderID: row.ProviderID, ProviderName: row.ProviderName, Error: row.Error, Units: int(row.Units)}
	}
	return out, nil
}

// RunProviders returns the providers of a run's models, by name; a
// deleted provider has an empty name.
func (s *Store) RunProviders(ctx context.Context, id uuid.UUID) ([]run.ProviderRef, error) {
	rows, err := s.q.RunProviders(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("providers of run %s: %w", id, err)
	}
	out := make([]run.ProviderRef, len(rows))
	for i, row := range rows {
		out[i] = run.ProviderRef{ID: row.ProviderID, Name: row.ProviderName}
	}
	return out, nil
}

// Finalize computes a run's totals and outcomes, stores the rankings rank
// makes of its outcomes and sets its final status, in one transaction. A
// run is finalized once: when another finalizer won, it returns the run as
// finished and false.
func (s *Store) Finalize(ctx context.Context, r *run.Run, status run.Status, reason string, rank run.RankFunc) (*run.Run, bool, error) {
	var out *run.Run
	first := true
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		t, err := q.RunTotals(ctx, dbsqlc.RunTotalsParams{RunCreatedAt: r.CreatedAt, RunID: r.ID})
		if err != nil {
			return err
		}
		arg := dbsqlc.FinishRunParams{
			ID: r.ID, Status: string(status), Succeeded: t.Succeeded, Failed: t.Failed, Cancelled: t.Cancelled, Skipped: t.Skipped,
			CostUsd: t.CostUsd, InputTokens: t.InputTokens, OutputTokens: t.OutputTokens,
		}
		if t.Succeeded > 0 {
			arg.LatencyP50Ms, arg.LatencyP95Ms = &t.LatencyP50Ms, &t.LatencyP95Ms
		}
		if reason != "" {
			arg.Error = &reason
		}
		row, err := q.FinishRun(ctx, arg)
		if err != nil {
			if err == pgx.ErrNoRows {
				first = false
				return nil
			}
			return err
		}
		// The compact per-(model, question) record outlives the raw rows
		// that retention deletes; rank computes the rankings from it (by
		// the same code as the leaderboards, in SABE).
		if _, err := q.InsertOutcomes(ctx, dbsqlc.InsertOutcomesParams{RunCreatedAt: r.CreatedAt, RunID: r.ID}); err != nil {
			return err
		}
		questions, err := runQuestionStats(ctx, q, r.ID, nil)
		if err != nil {
			return err
		}
		models, err := q.ListRunModels(ctx, r.ID)
		if err != nil {
			return err
		}
		names := make(map[uuid.UUID]string, len(models))
		for _, m := range models {
			names[m.ModelID] = m.Name
		}
		rk := rank(questions, names)
		rows := rankingRows(r.ID, "", rk.Overall)
		for cat, entries := range rk.ByCategory {
			rows = append(rows, rankingRows(r.ID, cat, entries)...)
		}
		if _, err := q.InsertRankings(ctx, rows); err != nil {
			return err
		}
		// Only runs with results count in the week's and month's
		// comparisons and leaderboards.
		if status == run.StatusCompleted || status == run.StatusPartial {
			if err := q.AddQuestionStats(ctx, r.ID); err != nil {
				return err
			}
		}
		// Every run's executions are in the rollups, whatever its status.
		if err := q.InvalidateRollups(ctx, dbsqlc.InvalidateRollupsParams{RunID: r.ID, BenchmarkID: r.BenchmarkID, RunCreatedAt: r.CreatedAt}); err != nil {
			return err
		}
		out = runFromRow(row)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if !first {
		out, err = s.GetRun(ctx, r.ID)
		return out, false, err
	}
	return out, true, nil
}

// rankingRows are the rows that store one leaderboard of a run; category
// is "" for the overall one.
func rankingRows(runID uuid.UUID, category string, entries []analytics.Entry) []dbsqlc.InsertRankingsParams {
	rows := make([]dbsqlc.InsertRankingsParams, len(entries))
	for i, e := range entries {
		rows[i] = dbsqlc.InsertRankingsParams{
			RunID: runID, Category: category, ModelID: e.ModelID, Position: int32(e.Rank), ModelName: e.ModelName,
			Score: e.Score, N: int32(e.N), Correct: int32(e.Correct), Failed: int32(e.Failed), ErrorRate: e.ErrorRate,
			MeanLatencyMs: deref(e.MeanLatencyMs), CostUsd: e.CostUSD, CiLow: e.CI.Low, CiHigh: e.CI.High,
			Questions: int32(e.Questions), StdError: e.StdError, RankLow: int32(e.RankLow), RankHigh: int32(e.RankHigh),
			PassAtK: mustJSON(e.PassAtK),
		}
	}
	return rows
}

// entryFromRanking is one stored leaderboard line as the analytics compute
// it. A run's rankings are of one run, so the cost per 1,000 questions is
// the total over the questions; the mean latency was stored as 0 when no
// unit succeeded, and reads back as none.
func entryFromRanking(row dbsqlc.Ranking) analytics.Entry {
	e := analytics.Entry{
		Rank: int(row.Position), RankLow: int(row.RankLow), RankHigh: int(row.RankHigh), ModelID: row.ModelID,
		ModelName: row.ModelName, Score: row.Score, StdError: row.StdError, Questions: int(row.Questions),
		N: int(row.N), Correct: int(row.Correct), Failed: int(row.Failed), ErrorRate: row.ErrorRate,
		CostUSD: row.CostUsd, PassAtK: []analytics.PassAtK{},
	}
	e.CI.Low, e.CI.High = row.CiLow, row.CiHigh
	if row.N > row.Failed {
		latency := row.MeanLatencyMs
		e.MeanLatencyMs = &latency
	}
	if row.Questions > 0 {
		e.CostPer1kQuestions = 1000 * row.CostUsd / float64(row.Questions)
	}
	_ = json.Unmarshal(row.PassAtK, &e.PassAtK)
	return e
}

// Rankings returns a finished run's rankings; Conflict while it runs.
func (s *Store) Rankings(ctx context.Context, id uuid.UUID) (*analytics.RunRanking, error) {
	r, err := s.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if !r.Status.Final() {
		return nil, fault.Conflict("run has not finished yet (status %s)", r.Status)
	}
	rows, err := s.q.ListRankings(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &analytics.RunRanking{Overall: []analytics.Entry{}, ByCategory: map[string][]analytics.Entry{}}
	for _, row := range rows {
		e := entryFromRanking(row)
		if row.Category == "" {
			out.Overall = append(out.Overall, e)
		} else {
			out.ByCategory[row.Category] = append(out.ByCategory[row.Category], e)
		}
	}
	return out, nil
}

type resultCursor struct {
	M uuid.UUID `json:"m"`
	Q uuid.UUID `json:"q"`
	S int32     `json:"s"`
}

// ResultCursor returns the cursor of the page that follows res, for a
// caller that ends a page of Results earlier than the store did (the API
// does when the encoded page passes MaxPageBytes).
func ResultCursor(res *run.Result) string {
	b, _ := json.Marshal(resultCursor{M: res.ModelID, Q: res.QuestionID, S: int32(res.Sample)})
	return base64.RawURLEncoding.EncodeToString(b)
}

// resultOverhead is what a result weighs in a page besides its response
// and error: ids, figures, timestamps, the prompt excerpt (at most 400
// bytes) and the evaluation detail (at most 200 bytes).
const resultOverhead = 1 << 10

// Results lists a run's executions with their evaluations, ordered by
// model, question and sample; modelID narrows them to one model. A page
// holds at most limit results and about MaxPageBytes of text: their sizes
// are read first, so the text of results that do not fit is never
// fetched.
func (s *Store) Results(ctx context.Context, r *run.Run, modelID *uuid.UUID, limit int, cursor string) (Page[run.Result], error) {
	lim := pageSize(limit)
	sizeArg := dbsqlc.ListRunResultSizesParams{RunCreatedAt: r.CreatedAt, RunID: r.ID, ModelID: modelID, Lim: lim + 1}
	if cursor != "" {
		var c resultCursor
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || json.Unmarshal(b, &c) != nil {
			return Page[run.Result]{}, fault.BadRequest("cursor", "invalid cursor")
		}
		sizeArg.HasCursor, sizeArg.AfterModel, sizeArg.AfterQuestion, sizeArg.AfterSample = true, c.M, c.Q, c.S
	}
	sizes, err := s.q.ListRunResultSizes(ctx, sizeArg)
	if err != nil {
		return Page[run.Result]{}, err
	}
	n, total := 0, int64(0)
	for _, sz := range sizes[:min(len(sizes), int(lim))] {
		total += sz.TextBytes + resultOverhead
		if n > 0 && total > MaxPageBytes {
			break
		}
		n++
	}
	if n == 0 {
		return Page[run.Result]{Items: []run.Result{}}, nil
	}
	arg := dbsqlc.ListRunResultsParams{
		RunCreatedAt: r.CreatedAt, RunID: r.ID, ModelID: modelID, Lim: int32(n),
		HasCursor: sizeArg.HasCursor, AfterModel: sizeArg.AfterModel, AfterQuestion: sizeArg.AfterQuestion, AfterSample: sizeArg.AfterSample,
	}
	rows, err := s.q.ListRunResults(ctx, arg)
	if err != nil {
		return Page[run.Result]{}, err
	}
	p := Page[run.Result]{Items: make([]run.Result, 0, len(rows))}
	for _, row := range rows {
		e := run.Execution{
			RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: row.ModelID, QuestionID: row.QuestionID,
			QuestionRevision: int(row.QuestionRevision), Sample: int(row.Sample), Category: row.Category,
			Status: run.ExecutionStatus(row.Status), Response: row.Response, Error: deref(row.Error), HTTPStatus: int(deref(row.HttpStatus)),
			Attempts: int(row.Attempts), LatencyMs: row.LatencyMs, TTFTMs: row.TtftMs, OutputTokensPerS: row.OutputTokensPerS,
			InputTokens: int(row.InputTokens), OutputTokens: int(row.OutputTokens), CostUSD: row.CostUsd,
			StartedAt: row.StartedAt, FinishedAt: row.FinishedAt, Evaluations: []run.Evaluation{},
		}
		_ = json.Unmarshal(row.Evaluations, &e.Evaluations)
		p.Items = append(p.Items, run.Result{Execution: e, ModelName: row.ModelName, PromptExcerpt: catalog.PromptExcerpt(row.PromptStart)})
	}
	if len(sizes) > n && len(p.Items) > 0 {
		p.Next = ResultCursor(&p.Items[len(p.Items)-1])
	}
	return p, nil
}
