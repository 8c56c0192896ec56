package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

func setup(t *testing.T) *store.Store {
	t.Helper()
	return store.New(testenv.Pool(t), testenv.Keyring(t))
}

func TestStore_Providers(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		p, err := s.CreateProvider(ctx, catalog.ProviderInput{Name: "mock", Kind: catalog.KindOpenAI, BaseURL: "http://127.0.0.1:1/v1", APIKey: "sk-secret-123456"})
		if err != nil {
			t.Fatal(err)
		}
		if !p.HasAPIKey {
			t.Error("HasAPIKey = false")
		}
		conn, err := s.ProviderConn(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if conn.APIKey != "sk-secret-123456" {
			t.Errorf("decrypted key = %q", conn.APIKey)
		}
	})
	t.Run("ErrKeyNotInRing", func(t *testing.T) {
		p, err := s.CreateProvider(ctx, catalog.ProviderInput{Name: "sealed", Kind: catalog.KindOpenAI, BaseURL: "http://127.0.0.1:1/v1", APIKey: "sk-sealed-123456"})
		if err != nil {
			t.Fatal(err)
		}
		entry, err := secrets.GenerateEntry("other")
		if err != nil {
			t.Fatal(err)
		}
		ring, err := secrets.ParseKeyring(entry)
		if err != nil {
			t.Fatal(err)
		}
		// A keyring that lost the key id: no retry mends it, and the error
		// names the provider and the missing key id, never the key.
		_, err = store.New(s.Pool(), ring).ProviderConn(ctx, p.ID)
		var ue *run.UnusableError
		if !errors.As(err, &ue) || !errors.Is(err, secrets.ErrUnknownKey) || ue.ProviderName != "sealed" || ue.ProviderID != p.ID ||
			!strings.Contains(ue.Reason, `key id "test", which SABE_ENCRYPTION_KEY does not hold`) || strings.Contains(err.Error(), "sk-sealed") {
			t.Fatalf("err = %v, want an UnusableError naming the provider and the key id", err)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		_, err := s.CreateProvider(ctx, catalog.ProviderInput{Name: "MOCK", Kind: catalog.KindOpenAI, BaseURL: "http://x"})
		if fault.KindOf(err) != fault.KindConflict {
			t.Fatalf("duplicate name: got %v, want conflict", err)
		}
	})
}

func TestMigrate_Concurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testenv.EmptyDatabaseURL(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			pool, err := store.Open(ctx, url, 2)
			if err != nil {
				errs <- err
				return
			}
			defer pool.Close()
			_, err = store.Migrate(ctx, pool)
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	pool, err := store.Open(ctx, url, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := store.CheckSchema(ctx, pool); err != nil {
		t.Fatalf("after concurrent migrations: %v", err)
	}
}

func TestStore_RunSnapshotSurvivesEdits(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := context.Background()
	p := testfactory.Provider(ctx, t, s, nil)
	m := testfactory.Model(ctx, t, s, &testfactory.ModelOpts{ProviderID: p.ID, Name: "m", ProviderModelID: "m-1", InputCostPerMTok: 1})
	su := testfactory.Suite(ctx, t, s, nil)
	qs := testfactory.Questions(ctx, t, s, &testfactory.QuestionsOpts{SuiteID: su.ID, Questions: []catalog.QuestionInput{
		{Prompt: "What is 1 + 1?", ExpectedAnswer: "2", Scoring: scoring.Rule{Method: scoring.MethodNumeric}},
		{Prompt: "Say hi", ExpectedAnswer: "hi", Scoring: scoring.Rule{Method: scoring.MethodContains}},
	}})
	b := testfactory.Benchmark(ctx, t, s, &testfactory.BenchmarkOpts{SuiteIDs: []uuid.UUID{su.ID}, ModelIDs: []uuid.UUID{m.ID},
		Config: catalog.BenchmarkConfig{MaxTokens: 10, Samples: 3}})
	if b.UnitCount != 6 {
		t.Errorf("unit count = %d, want 6", b.UnitCount)
	}
	r, err := s.CreateRun(ctx, store.NewRun{BenchmarkID: b.ID, Trigger: run.TriggerAPI})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("EditMakesRevision", func(t *testing.T) {
		if _, err := s.ReviseQuestion(ctx, qs[0].ID, 0, catalog.QuestionInput{Prompt: "stale", ExpectedAnswer: "1", Scoring: scoring.Rule{Method: scoring.MethodNumeric}}); fault.KindOf(err) != fault.KindConflict {
			t.Errorf("edit based on a stale revision: %v, want conflict", err)
		}
		q, err := s.ReviseQuestion(ctx, qs[0].ID, 1, catalog.QuestionInput{Prompt: "What is 2 + 2?", ExpectedAnswer: "4", Scoring: scoring.Rule{Method: scoring.MethodNumeric}})
		if err != nil {
			t.Fatal(err)
		}
		if q.Revision != 2 || q.Prompt != "What is 2 + 2?" {
			t.Errorf("revised question %+v", q)
		}
		newCost := 99.0
		if _, err := s.UpdateModel(ctx, m.ID, catalog.ModelPatch{InputCostPerMTok: &newCost}); err != nil {
			t.Fatal(err)
		}
		snap, err := s.LoadSnapshot(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Questions[0].Prompt != "What is 1 + 1?" || snap.Questions[0].Revision != 1 {
			t.Errorf("run snapshot question changed with the edit: %+v", snap.Questions[0])
		}
		if snap.Models[0].InputCostPerMTok != 1 {
			t.Errorf("run snapshot price changed with the edit: %v", snap.Models[0].InputCostPerMTok)
		}
	})
	t.Run("HistoryArchivesInsteadOfDeleting", func(t *testing.T) {
		archived, err := s.DeleteModel(ctx, m.ID, false)
		if err != nil || !archived {
			t.Fatalf("DeleteModel = %v, %v; want archived", archived, err)
		}
		got, err := s.GetModel(ctx, m.ID)
		if err != nil || got.ArchivedAt == nil {
			t.Fatalf("model after delete: %+v, %v", got, err)
		}
		if archived, err := s.DeleteSuite(ctx, su.ID, false); err != nil || !archived {
			t.Fatalf("DeleteSuite = %v, %v; want archived", archived, err)
		}
		if _, err := s.CreateRun(ctx, store.NewRun{BenchmarkID: b.ID, Trigger: run.TriggerAPI}); fault.KindOf(err) != fault.KindConflict {
			t.Errorf("run of a benchmark with an archived model: %v, want conflict", err)
		}
		if err := s.DeleteProvider(ctx, p.ID); fault.KindOf(err) != fault.KindConflict {
			t.Errorf("delete provider with models: %v, want conflict", err)
		}
	})
	t.Run("ErrFanOutCap", func(t *testing.T) {
		m2, err := s.CreateModel(ctx, catalog.Model{ProviderID: p.ID, Name: "m2", ProviderModelID: "m-2"})
		if err != nil {
			t.Fatal(err)
		}
		su2, err := s.CreateSuite(ctx, catalog.SuiteInput{Name: "s2"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateQuestions(ctx, su2.ID, []catalog.QuestionInput{{Prompt: "x", ExpectedAnswer: "x", Scoring: scoring.Rule{Method: scoring.MethodContains}}}); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateBenchmark(ctx, catalog.BenchmarkInput{Name: "big", SuiteIDs: []uuid.UUID{su2.ID}, ModelIDs: []uuid.UUID{m2.ID},
			Config: catalog.BenchmarkConfig{MaxTokens: 10, Samples: 5}}, 4)
		if fe := fault.As(err); fe == nil || fe.Kind != fault.KindInvalid || fe.Field != "model_ids" {
			t.Fatalf("fan-out over cap: %v, want invalid model_ids", err)
		}
		page, err := s.ListBenchmarks(ctx, true, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Items {
			if b.Name == "big" {
				t.Error("a refused benchmark was written")
			}
		}
	})
}

func TestStore_Pagination(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := context.Background()
	for i := range 5 {
		if _, err := s.CreateSuite(ctx, catalog.SuiteInput{Name: fmt.Sprintf("suite-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := s.ListSuites(ctx, false, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			names = append(names, it.Name)
		}
		if p.Next == "" {
			if pages != 2 {
				t.Errorf("pages = %d, want 3", pages+1)
			}
			break
		}
		cursor = p.Next
	}
	if fmt.Sprint(names) != "[suite-0 suite-1 suite-2 suite-3 suite-4]" {
		t.Errorf("listed %v", names)
	}
	if _, err := s.ListSuites(ctx, false, 2, "not-a-cursor"); fault.KindOf(err) != fault.KindBadRequest {
		t.Errorf("bad cursor: %v, want bad request", err)
	}
}
