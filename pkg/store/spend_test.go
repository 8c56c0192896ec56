package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// spendSetup is a store applying lim, a write token and a one-unit
// benchmark scheduled @every 1h by that token.
type spendSetup struct {
	s     *store.Store
	token uuid.UUID
	b     *catalog.Benchmark
}

func newSpendSetup(t *testing.T, lim store.RunLimits) spendSetup {
	t.Helper()
	ctx := context.Background()
	s := store.New(testenv.Pool(t), testenv.Keyring(t)).WithRunLimits(lim)
	_, tok, err := s.CreateToken(ctx, "writer", []string{"write"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := newBenchmark(t, s, nil)
	actx := audit.WithActor(ctx, audit.Actor{TokenID: &tok.ID, TokenName: tok.Name})
	b, err = s.UpdateBenchmark(actx, b.ID, catalog.BenchmarkPatch{Schedule: &catalog.SchedulePatch{Cron: ptr("@every 1h"), Enabled: ptr(true)}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.Schedule.SetByTokenID == nil || *b.Schedule.SetByTokenID != tok.ID {
		t.Fatalf("schedule set by %v, want the token %s recorded", b.Schedule.SetByTokenID, tok.ID)
	}
	return spendSetup{s: s, token: tok.ID, b: b}
}

// apiRun creates a run charged to the setup's token.
func (x spendSetup) apiRun(t *testing.T) (*run.Run, error) {
	t.Helper()
	return x.s.CreateRun(context.Background(), store.NewRun{BenchmarkID: x.b.ID, Trigger: run.TriggerAPI, TokenID: &x.token})
}

// tick advances the schedule by one occurrence and returns what that did.
func (x spendSetup) tick(t *testing.T) schedule.Advanced {
	t.Helper()
	e, ok := entry(t, x.s, x.b.ID)
	if !ok {
		t.Fatal("schedule not enabled")
	}
	at := e.Last.Truncate(time.Second).Add(time.Second)
	res, err := x.s.AdvanceSchedule(context.Background(), schedule.Advance{
		BenchmarkID: x.b.ID, From: e.Last, To: at, Occurrences: []time.Time{at}, SkipWhileRunning: false, Now: at,
	})
	if err != nil || !res.Won {
		t.Fatalf("advance: %+v, %v", res, err)
	}
	return res
}

// wantSkipped checks that an occurrence made no run and says why, on the
// benchmark and as a schedule.skipped event.
func (x spendSetup) wantSkipped(t *testing.T, res schedule.Advanced, reason string) {
	t.Helper()
	if len(res.Created) != 0 || res.Skipped != 1 || !strings.Contains(res.Reason, reason) {
		t.Fatalf("advance = %+v; want the occurrence skipped with a reason containing %q", res, reason)
	}
	got, err := x.s.GetBenchmark(context.Background(), x.b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Schedule.LastSkippedAt == nil || !strings.Contains(got.Schedule.LastSkipReason, reason) {
		t.Errorf("benchmark's last skip = %v %q; want the reason %q", got.Schedule.LastSkippedAt, got.Schedule.LastSkipReason, reason)
	}
	events := skippedEvents(t, x.s.Pool(), x.b.ID)
	if len(events) == 0 || !strings.Contains(events[len(events)-1].Reason, reason) {
		t.Errorf("skipped events = %+v; want one saying %q", events, reason)
	}
}

func (x spendSetup) grow(t *testing.T, n int) {
	t.Helper()
	in := make([]catalog.QuestionInput, n)
	for i := range in {
		in[i] = catalog.QuestionInput{Prompt: "2+2?", ExpectedAnswer: "4", Scoring: scoring.Rule{Method: scoring.MethodNumeric}}
	}
	if _, err := x.s.CreateQuestions(context.Background(), x.b.SuiteIDs[0], in); err != nil {
		t.Fatal(err)
	}
}

func wantBudgetError(t *testing.T, err error, contains string) {
	t.Helper()
	var be *store.BudgetError
	if !errors.As(err, &be) || !strings.Contains(be.Message, contains) || be.RetryAfter <= 0 {
		t.Fatalf("err = %v; want a budget error saying %q with a wait", err, contains)
	}
}

func TestStore_RunLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ScheduleChargedToTokenThatSetIt", func(t *testing.T) {
		t.Parallel()
		x := newSpendSetup(t, store.RunLimits{MaxUnitsPerTokenDay: 2})
		for range 2 {
			if _, err := x.apiRun(t); err != nil {
				t.Fatal(err)
			}
		}
		// The token's 2 units are spent: its schedule makes no run either.
		wantBudgetError(t, func() error { _, err := x.apiRun(t); return err }(), "units a day")
		x.wantSkipped(t, x.tick(t), "units a day")
	})

	t.Run("ScheduledRunCounts", func(t *testing.T) {
		t.Parallel()
		x := newSpendSetup(t, store.RunLimits{MaxUnitsPerTokenDay: 1})
		if res := x.tick(t); len(res.Created) != 1 {
			t.Fatalf("advance = %+v; want a run", res)
		}
		wantBudgetError(t, func() error { _, err := x.apiRun(t); return err }(), "units a day")
	})

	t.Run("ScheduleFanOutCap", func(t *testing.T) {
		t.Parallel()
		x := newSpendSetup(t, store.RunLimits{MaxUnits: 2})
		x.grow(t, 2) // 3 units, over the cap since the schedule was set
		x.wantSkipped(t, x.tick(t), "SABE_MAX_RUN_UNITS")
	})

	t.Run("GrownPastTokenBudget", func(t *testing.T) {
		t.Parallel()
		x := newSpendSetup(t, store.RunLimits{MaxUnitsPerTokenDay: 2})
		x.grow(t, 2)
		if _, err := x.apiRun(t); fault.KindOf(err) != fault.KindInvalid || fault.As(err).Field != "model_ids" {
			t.Fatalf("err = %v; want 3 units refused as over the whole daily budget", err)
		}
	})

	t.Run("ConcurrentRunsShareTheBudget", func(t *testing.T) {
		t.Parallel()
		x := newSpendSetup(t, store.RunLimits{MaxUnitsPerTokenDay: 3})
		// Two benchmarks, so that only the token's own lock can keep
		// their creations from each counting the budget as unspent.
		other := newBenchmark(t, x.s, nil)
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			id := x.b.ID
			if i%2 == 1 {
				id = other.ID
			}
			wg.Go(func() {
				_, errs[i] = x.s.CreateRun(ctx, store.NewRun{BenchmarkID: id, Trigger: run.TriggerAPI, TokenID: &x.token})
			})
		}
		wg.Wait()
		created := 0
		for _, err := range errs {
			var be *store.BudgetError
			switch {
			case err == nil:
				created++
			case !errors.As(err, &be):
				t.Errorf("unexpected error: %v", err)
			}
		}
		if created != 3 {
			t.Errorf("%d runs created; want 3, the token's daily units", created)
		}
	})

	t.Run("InFlightCap", func(t *testing.T) {
		t.Parallel()
		x := newSpendSetup(t, store.RunLimits{MaxInFlight: 1})
		r, err := x.apiRun(t)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := x.apiRun(t); fault.KindOf(err) != fault.KindConflict || !strings.Contains(err.Error(), "SABE_MAX_RUNS_IN_FLIGHT") {
			t.Fatalf("second run: %v; want a conflict naming the in-flight cap", err)
		}
		x.wantSkipped(t, x.tick(t), "unfinished runs")
		if err := x.s.FailRun(ctx, r, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := x.apiRun(t); err != nil {
			t.Fatalf("run after the first finished: %v", err)
		}
	})

	t.Run("TokenMoneyPerDay", func(t *testing.T) {
		t.Parallel()
		x := newSpendSetup(t, store.RunLimits{MaxCostUSDPerTokenDay: 1})
		r, err := x.apiRun(t)
		if err != nil {
			t.Fatal(err)
		}
		// The run may spend what is left of the budget, no more.
		if r.MaxCostUSD == nil || *r.MaxCostUSD != 1 {
			t.Fatalf("run's cap = %v; want the whole day's $1", r.MaxCostUSD)
		}
		wantBudgetError(t, func() error { _, err := x.apiRun(t); return err }(), "$1 a day")
		x.wantSkipped(t, x.tick(t), "$1 a day")
		// Finished at $0.25: the rest is free again.
		finish(t, x.s, r, 0.25)
		r2, err := x.apiRun(t)
		if err != nil {
			t.Fatal(err)
		}
		if r2.MaxCostUSD == nil || *r2.MaxCostUSD != 0.75 {
			t.Fatalf("second run's cap = %v; want the $0.75 left", r2.MaxCostUSD)
		}
	})

	t.Run("BenchmarkMoneyPerMonth", func(t *testing.T) {
		t.Parallel()
		// The token could spend without limit; the benchmark's admin
		// budget still holds, and is what its schedule is charged to.
		x := newSpendSetup(t, store.RunLimits{MaxUnitsPerTokenDay: 1})
		b, err := x.s.SetBenchmarkBudget(ctx, x.b.ID, ptr(2.0))
		if err != nil || b.BudgetMaxCostUSDMonth == nil || *b.BudgetMaxCostUSDMonth != 2 {
			t.Fatalf("set budget: %+v, %v", b, err)
		}
		// An unfinished run holds its whole cap: this one $1 of the $2.
		if _, err := x.s.CreateRun(ctx, store.NewRun{BenchmarkID: x.b.ID, Trigger: run.TriggerAPI, TokenID: &x.token, MaxCostUSD: ptr(1.0)}); err != nil {
			t.Fatal(err)
		}
		res := x.tick(t) // over the token's units, but charged to the benchmark
		if len(res.Created) != 1 {
			t.Fatalf("advance = %+v; want a run charged to the benchmark's budget", res)
		}
		r, err := x.s.GetRun(ctx, res.Created[0])
		if err != nil || r.MaxCostUSD == nil || *r.MaxCostUSD != 1 {
			t.Fatalf("scheduled run %+v, %v; want it capped at the $1 left this month", r, err)
		}
		x.wantSkipped(t, x.tick(t), "$2 a month")
		if _, err := x.s.SetBenchmarkBudget(ctx, x.b.ID, ptr(-1.0)); fault.KindOf(err) != fault.KindInvalid {
			t.Errorf("negative budget: %v; want invalid", err)
		}
	})

	t.Run("RevokedTokenStopsSchedule", func(t *testing.T) {
		t.Parallel()
		x := newSpendSetup(t, store.RunLimits{MaxUnitsPerTokenDay: 100})
		if err := x.s.RevokeToken(ctx, x.token); err != nil {
			t.Fatal(err)
		}
		x.wantSkipped(t, x.tick(t), "revoked or expired")
	})

	t.Run("NoTokenRecorded", func(t *testing.T) {
		t.Parallel()
		s := setup(t).WithRunLimits(store.RunLimits{MaxUnitsPerTokenDay: 100})
		x := spendSetup{s: s, b: newBenchmark(t, s, &catalog.Schedule{Cron: "@every 1h", Enabled: true})}
		x.wantSkipped(t, x.tick(t), "no token is recorded")
	})

	t.Run("MinScheduleInterval", func(t *testing.T) {
		t.Parallel()
		s := setup(t).WithRunLimits(store.RunLimits{MinScheduleInterval: time.Hour})
		b := newBenchmark(t, s, nil)
		_, err := s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Schedule: &catalog.SchedulePatch{Cron: ptr("*/30 * * * *"), Enabled: ptr(true)}}, 0)
		if fe := fault.As(err); fe == nil || fe.Kind != fault.KindInvalid || fe.Field != "schedule.cron" || !strings.Contains(fe.Message, "1h0m0s") {
			t.Fatalf("err = %v; want schedule.cron refused naming the 1h minimum", err)
		}
		if _, err := s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Schedule: &catalog.SchedulePatch{Cron: ptr("0 * * * *"), Enabled: ptr(true)}}, 0); err != nil {
			t.Fatalf("hourly: %v", err)
		}
	})
}

// finish closes a run as completed having cost costUSD.
func finish(t *testing.T, s *store.Store, r *run.Run, costUSD float64) {
	t.Helper()
	if _, err := s.Pool().Exec(context.Background(),
		`UPDATE runs SET status = 'completed', finished_at = now(), cost_usd = $2 WHERE id = $1`, r.ID, costUSD); err != nil {
		t.Fatal(err)
	}
}
