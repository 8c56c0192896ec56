package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// benchPoolConns is the benchmarks' pool size. A worker of concurrency
// 100 opens 64 connections; the test server is shared with other test
// processes and has max_connections 100 by default, so the benchmarks take
// fewer, and parallel ones queue on connections as a worker does.
const benchPoolConns = 24

// benchStore opens a store on a fresh database with its whole pool
// connected, so that no backend start-up (milliseconds each) is timed.
func benchStore(b *testing.B) *store.Store {
	b.Helper()
	ctx := context.Background()
	pool, err := store.Open(ctx, testenv.DatabaseURL(b), benchPoolConns)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	conns := make([]*pgxpool.Conn, benchPoolConns)
	for i := range conns {
		if conns[i], err = pool.Acquire(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range conns {
		c.Release()
	}
	return store.New(pool, testenv.Keyring(b))
}

// benchRun creates a benchmark named name of the given shape, with
// questions split over two categories, and a run of it with its snapshot.
func benchRun(b *testing.B, s *store.Store, name string, models, questions, samples int) (*catalog.Benchmark, *run.Snapshot) {
	b.Helper()
	ctx := context.Background()
	p := testfactory.Provider(ctx, b, s, &testfactory.ProviderOpts{Name: name})
	ids := make([]uuid.UUID, models)
	for i := range ids {
		ids[i] = testfactory.Model(ctx, b, s, &testfactory.ModelOpts{
			ProviderID: p.ID, Name: fmt.Sprintf("%s-model-%d", name, i), ProviderModelID: "m", InputCostPerMTok: 1, OutputCostPerMTok: 2,
		}).ID
	}
	su := testfactory.Suite(ctx, b, s, &testfactory.SuiteOpts{Name: name})
	in := make([]catalog.QuestionInput, questions)
	for i := range in {
		in[i] = catalog.QuestionInput{
			Prompt: fmt.Sprintf("What is %d * 23?", i), Category: []string{"math", "logic"}[i%2],
			ExpectedAnswer: fmt.Sprint(i * 23), Scoring: scoring.Rule{Method: scoring.MethodNumeric},
		}
	}
	testfactory.Questions(ctx, b, s, &testfactory.QuestionsOpts{SuiteID: su.ID, Questions: in})
	bm := testfactory.Benchmark(ctx, b, s, &testfactory.BenchmarkOpts{
		Name: name, SuiteIDs: []uuid.UUID{su.ID}, ModelIDs: ids,
		Config: catalog.BenchmarkConfig{MaxTokens: 256, Samples: samples},
	})
	return bm, newBenchSnapshot(b, s, bm)
}

// newBenchSnapshot creates one more run of bm and returns its snapshot.
func newBenchSnapshot(b *testing.B, s *store.Store, bm *catalog.Benchmark) *run.Snapshot {
	b.Helper()
	ctx := context.Background()
	r, err := s.CreateRun(ctx, store.NewRun{BenchmarkID: bm.ID, Trigger: run.TriggerAPI})
	if err != nil {
		b.Fatal(err)
	}
	snap, err := s.LoadSnapshot(ctx, r.ID)
	if err != nil {
		b.Fatal(err)
	}
	return snap
}

// benchResponse is a typical short chain-of-thought answer.
const benchResponse = "Let me work through this step by step. 17 × 20 = 340 and 17 × 3 = 51, " +
	"so 17 × 23 = 340 + 51 = 391. Checking: 23 × 17 = 230 + 161 = 391. The answer is 391."

// benchExecution is the execution a worker records for unit i of the
// snapshot's run, as HandleExecute fills it: mostly scored successes, one
// in fifty a provider failure without an evaluation. Sample runs past the
// run's sample count when i does past its units, so any number of calls
// record distinct rows.
func benchExecution(snap *run.Snapshot, i int) *run.Execution {
	nm, nq := len(snap.Models), len(snap.Questions)
	m, q, sample := i%nm, (i/nm)%nq, i/(nm*nq)
	r, sq := snap.Run, &snap.Questions[q]
	finished := time.Now().UTC()
	started := finished.Add(-850 * time.Millisecond)
	e := &run.Execution{
		RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID,
		ModelID: snap.Models[m].ModelID, QuestionID: sq.QuestionID, QuestionRevisionID: sq.RevisionID, Sample: sample,
		Category: sq.Category, Attempts: 1, StartedAt: &started, FinishedAt: finished,
	}
	if i%50 == 49 {
		e.Status, e.Error, e.HTTPStatus = run.ExecFailed, "upstream returned 500: internal server error", 500
		return e
	}
	passed := i%3 != 0
	score := 0.0
	detail := "expected 391 (±0), got 390"
	if passed {
		score, detail = 1, "expected 391 (±0), got 391"
	}
	e.Status, e.Response = run.ExecSucceeded, benchResponse
	e.InputTokens, e.OutputTokens = 42, 61
	e.CostUSD = run.Cost(e.InputTokens, e.OutputTokens, 1, 2)
	e.LatencyMs, e.TTFTMs, e.OutputTokensPerS = ptr(850.0+float64(i%300)), ptr(120.0), ptr(83.5)
	e.Evaluation = run.Scored(string(scoring.MethodNumeric), passed, score, detail)
	return e
}

// BenchmarkStore_RecordExecution times recording one unit's execution and
// evaluation, the write every unit of every run makes: one at a time
// (the latency a unit waits for) and from 32 goroutines (the rate a busy
// worker sustains; the machine's cores bound it).
func BenchmarkStore_RecordExecution(b *testing.B) {
	s := benchStore(b)
	_, snap := benchRun(b, s, "record", 4, 250, 1)
	ctx := context.Background()
	// Sub-benchmarks run several times while the framework sizes them; the
	// counter keeps every recorded unit distinct across those runs.
	var next atomic.Int64

	b.Run("Sequential", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.RecordExecution(ctx, benchExecution(snap, int(next.Add(1)))); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "units/s")
	})
	b.Run("Parallel", func(b *testing.B) {
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.RecordExecution(ctx, benchExecution(snap, int(next.Add(1)))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "units/s")
	})
	b.Run("Recorder", func(b *testing.B) {
		// What a worker does: 128 handlers record through one Recorder,
		// which writes what is pending in batches (group commit).
		rec := store.NewRecorder(s, store.RecorderConfig{Linger: 2 * time.Millisecond})
		defer rec.Close()
		b.SetParallelism(64)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if ok, err := rec.RecordExecution(ctx, benchExecution(snap, int(next.Add(1)))); err != nil || !ok {
					b.Errorf("record: inserted %v, err %v", ok, err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "units/s")
	})
	b.Run("Duplicate", func(b *testing.B) {
		// A redelivered task whose unit is recorded already: the insert
		// finds the conflict and writes nothing.
		e := benchExecution(snap, 0)
		if _, err := s.RecordExecution(ctx, e); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if ok, err := s.RecordExecution(ctx, e); err != nil || ok {
				b.Fatalf("duplicate: inserted %v, err %v", ok, err)
			}
		}
	})
}

// BenchmarkStore_Finalize times finalizing a run whose units are all
// recorded: totals, per-(model, question) outcomes, rankings overall and per
// category with their bootstrap intervals, question stats and rollup
// invalidation, in one transaction. Each iteration finalizes a new run
// whose executions were written (untimed) with CopyExecutions, which writes
// the rows RecordExecution writes. Runs accumulate in the database, as
// they do in production.
func BenchmarkStore_Finalize(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for _, size := range []struct {
		name                      string
		models, questions, sample int
	}{
		{name: "1000Units", models: 4, questions: 125, sample: 2},
		{name: "10000Units", models: 4, questions: 1250, sample: 2},
	} {
		bm, _ := benchRun(b, s, "finalize-"+size.name, size.models, size.questions, size.sample)
		units := size.models * size.questions * size.sample
		b.Run(size.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				snap := newBenchSnapshot(b, s, bm)
				execs := make([]run.Execution, units)
				for i := range execs {
					execs[i] = *benchExecution(snap, i)
				}
				if _, err := s.CopyExecutions(ctx, execs); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				fin, first, err := s.Finalize(ctx, snap.Run, run.StatusPartial, "some units failed", analytics.RankRun)
				if err != nil {
					b.Fatal(err)
				}
				if !first || fin.Progress.Done() != units {
					b.Fatalf("finalize: first=%v progress=%+v, want the first finalization of %d units", first, fin.Progress, units)
				}
			}
			b.ReportMetric(float64(units*b.N)/b.Elapsed().Seconds(), "units/s")
		})
	}
}
