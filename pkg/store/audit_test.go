package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/store"
)

// allAudit returns every audit row matching f, newest first.
func allAudit(t *testing.T, s *store.Store, f store.AuditFilter) []audit.Event {
	t.Helper()
	var out []audit.Event
	cursor := ""
	for {
		p, err := s.ListAudit(context.Background(), f, store.MaxPageSize, cursor)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		cursor = p.Next
	}
}

func TestStore_AuditMutations(t *testing.T) {
	t.Parallel()
	s := setup(t)
	tokenID := uuid.New()
	actor := audit.Actor{TokenID: &tokenID, TokenName: "admin-ci", SourceIP: "192.0.2.7", UserAgent: "audit-test", RequestID: "req-1"}
	ctx := audit.WithActor(context.Background(), actor)
	const key1, key2 = "sk-audit-first-key-7f3a", "sk-audit-second-key-91bc"

	// want is how many rows each (action, resource id) must have.
	want := map[string]int{}
	expect := func(action, id string) { want[action+" "+id]++ }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	p, err := s.CreateProvider(ctx, catalog.ProviderInput{Name: "p", Kind: catalog.KindOpenAI, BaseURL: "http://127.0.0.1:1/v1", APIKey: key1,
		Headers: map[string]string{"X-Secret": "hdr-secret-55"}})
	must(err)
	expect(audit.ActionProviderCreate, p.ID.String())
	if _, err := s.CreateProvider(ctx, catalog.ProviderInput{Name: "P", Kind: catalog.KindOpenAI, BaseURL: "http://x"}); fault.KindOf(err) != fault.KindConflict {
		t.Fatalf("duplicate provider: %v, want conflict", err)
	}
	newName, newKey := "p1", key2
	_, err = s.UpdateProvider(ctx, p.ID, catalog.ProviderPatch{Name: &newName, APIKey: &newKey})
	must(err)
	expect(audit.ActionProviderUpdate, p.ID.String())

	m, err := s.CreateModel(ctx, catalog.Model{ProviderID: p.ID, Name: "m", ProviderModelID: "m-1"})
	must(err)
	expect(audit.ActionModelCreate, m.ID.String())
	if _, err := s.CreateModel(ctx, catalog.Model{ProviderID: uuid.New(), Name: "m-orphan", ProviderModelID: "x"}); fault.KindOf(err) != fault.KindInvalid {
		t.Fatalf("model of a missing provider: %v, want invalid", err)
	}
	mname := "m1"
	_, err = s.UpdateModel(ctx, m.ID, catalog.ModelPatch{Name: &mname})
	must(err)
	expect(audit.ActionModelUpdate, m.ID.String())

	su, err := s.CreateSuite(ctx, catalog.SuiteInput{Name: "su"})
	must(err)
	expect(audit.ActionSuiteCreate, su.ID.String())
	if _, err := s.CreateSuite(ctx, catalog.SuiteInput{Name: "SU"}); fault.KindOf(err) != fault.KindConflict {
		t.Fatalf("duplicate suite: %v, want conflict", err)
	}
	desc := "d"
	_, err = s.UpdateSuite(ctx, su.ID, catalog.SuitePatch{Description: &desc})
	must(err)
	expect(audit.ActionSuiteUpdate, su.ID.String())

	qs, err := s.CreateQuestions(ctx, su.ID, []catalog.QuestionInput{
		{Prompt: "1+1?", ExpectedAnswer: "2", Scoring: scoring.Rule{Method: scoring.MethodNumeric}},
		{Prompt: "hi", ExpectedAnswer: "hi", Scoring: scoring.Rule{Method: scoring.MethodContains}},
	})
	must(err)
	for _, q := range qs {
		expect(audit.ActionQuestionCreate, q.ID.String())
	}
	_, err = s.ReviseQuestion(ctx, qs[0].ID, 1, catalog.QuestionInput{Prompt: "2+2?", ExpectedAnswer: "4", Scoring: scoring.Rule{Method: scoring.MethodNumeric}})
	must(err)
	expect(audit.ActionQuestionUpdate, qs[0].ID.String())
	if _, err := s.ReviseQuestion(ctx, qs[0].ID, 1, catalog.QuestionInput{Prompt: "stale", ExpectedAnswer: "4", Scoring: scoring.Rule{Method: scoring.MethodNumeric}}); fault.KindOf(err) != fault.KindConflict {
		t.Fatalf("stale revision: %v, want conflict", err)
	}

	b, err := s.CreateBenchmark(ctx, catalog.BenchmarkInput{Name: "b", SuiteIDs: []uuid.UUID{su.ID}, ModelIDs: []uuid.UUID{m.ID},
		Config: catalog.BenchmarkConfig{MaxTokens: 10, Samples: 1}}, 0)
	must(err)
	expect(audit.ActionBenchmarkCreate, b.ID.String())
	bname := "b1"
	_, err = s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Name: &bname}, 0)
	must(err)
	expect(audit.ActionBenchmarkUpdate, b.ID.String())

	r, err := s.CreateRun(ctx, store.NewRun{BenchmarkID: b.ID, Trigger: run.TriggerAPI})
	must(err)
	expect(audit.ActionRunStart, r.ID.String())
	if _, err := s.WithRunLimits(store.RunLimits{MaxUnits: 1}).CreateRun(ctx, store.NewRun{BenchmarkID: b.ID, Trigger: run.TriggerAPI}); fault.KindOf(err) != fault.KindConflict {
		t.Fatalf("run over the fan-out cap: %v, want conflict", err)
	}
	_, err = s.RequestCancel(ctx, r.ID)
	must(err)
	expect(audit.ActionRunCancel, r.ID.String())
	if _, err := s.RequestCancel(ctx, uuid.New()); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("cancel of a missing run: %v, want not found", err)
	}

	secret, tok, err := s.CreateToken(ctx, "ci", []string{"read"}, nil)
	must(err)
	expect(audit.ActionTokenCreate, tok.ID.String())
	must(s.RevokeToken(ctx, tok.ID))
	expect(audit.ActionTokenRevoke, tok.ID.String())
	if err := s.RevokeToken(ctx, tok.ID); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("second revoke: %v, want not found", err)
	}

	must(s.DeleteQuestion(ctx, qs[1].ID))
	expect(audit.ActionQuestionDelete, qs[1].ID.String())
	if err := s.DeleteQuestion(ctx, uuid.New()); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("delete of a missing question: %v, want not found", err)
	}
	_, err = s.DeleteBenchmark(ctx, b.ID)
	must(err)
	expect(audit.ActionBenchmarkDelete, b.ID.String())
	_, err = s.DeleteModel(ctx, m.ID, false)
	must(err)
	expect(audit.ActionModelDelete, m.ID.String())
	_, err = s.DeleteSuite(ctx, su.ID, false)
	must(err)
	expect(audit.ActionSuiteDelete, su.ID.String())
	if err := s.DeleteProvider(ctx, p.ID); fault.KindOf(err) != fault.KindConflict {
		t.Fatalf("delete of a provider in use: %v, want conflict", err)
	}

	// Without an actor on the context the row names the system.
	p2, err := s.CreateProvider(context.Background(), catalog.ProviderInput{Name: "p2", Kind: catalog.KindOpenAI, BaseURL: "http://x"})
	must(err)
	must(s.DeleteProvider(context.Background(), p2.ID))

	rows := allAudit(t, s, store.AuditFilter{})
	got := map[string]int{}
	for _, e := range rows {
		if e.ResourceID == p2.ID.String() {
			if e.Actor.TokenName != audit.SystemActor || e.Actor.TokenID != nil {
				t.Errorf("%s without an actor: actor %+v, want system", e.Action, e.Actor)
			}
			continue
		}
		got[e.Action+" "+e.ResourceID]++
		if e.Actor.TokenID == nil || *e.Actor.TokenID != tokenID || e.Actor.TokenName != actor.TokenName ||
			e.Actor.SourceIP != actor.SourceIP || e.Actor.UserAgent != actor.UserAgent || e.Actor.RequestID != actor.RequestID {
			t.Errorf("%s: actor %+v, want %+v", e.Action, e.Actor, actor)
		}
		if e.Outcome != audit.OutcomeSuccess || e.Time.IsZero() || !strings.HasPrefix(e.Action, e.ResourceType+".") {
			t.Errorf("row %+v: outcome, time or resource type wrong", e)
		}
		for _, s := range []string{key1, key2, "hdr-secret-55", secret} {
			if strings.Contains(fmt.Sprintf("%+v", e), s) {
				t.Errorf("%s row holds a secret: %+v", e.Action, e)
			}
		}
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("audit rows for %q = %d, want %d", k, got[k], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("audit rows for %d (action, resource) pairs, want %d: %v", len(got), len(want), got)
	}
	if len(rows) != len(want)+2 {
		t.Errorf("%d audit rows, want %d: a failed mutation wrote one", len(rows), len(want)+2)
	}
	upd := allAudit(t, s, store.AuditFilter{Action: audit.ActionProviderUpdate})
	if len(upd) != 1 || !strings.Contains(upd[0].Reason, "api_key") || !strings.Contains(upd[0].Reason, "name") {
		t.Errorf("provider.update rows %+v: want one naming name and api_key", upd)
	}
}

func TestStore_AuditScheduler(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := context.Background()
	p, err := s.CreateProvider(ctx, catalog.ProviderInput{Name: "p", Kind: catalog.KindOpenAI, BaseURL: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.CreateModel(ctx, catalog.Model{ProviderID: p.ID, Name: "m", ProviderModelID: "m"})
	if err != nil {
		t.Fatal(err)
	}
	su, err := s.CreateSuite(ctx, catalog.SuiteInput{Name: "su"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateQuestions(ctx, su.ID, []catalog.QuestionInput{{Prompt: "x", ExpectedAnswer: "x", Scoring: scoring.Rule{Method: scoring.MethodContains}}}); err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateBenchmark(ctx, catalog.BenchmarkInput{Name: "b", SuiteIDs: []uuid.UUID{su.ID}, ModelIDs: []uuid.UUID{m.ID},
		Config: catalog.BenchmarkConfig{MaxTokens: 10, Samples: 1}, Schedule: &catalog.Schedule{Cron: "0 * * * *", Timezone: "UTC", Enabled: true}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := s.EnabledSchedules(ctx)
	if err != nil || len(entries) != 1 || entries[0].Last.IsZero() {
		t.Fatalf("schedules %+v, %v: want the benchmark's", entries, err)
	}
	from := entries[0].Last
	at := from.Add(time.Hour).Truncate(time.Hour)
	adv, err := s.AdvanceSchedule(ctx, schedule.Advance{BenchmarkID: b.ID, From: from, To: at, Occurrences: []time.Time{at}})
	if err != nil || len(adv.Created) != 1 {
		t.Fatalf("advance: %+v, %v", adv, err)
	}
	rows := allAudit(t, s, store.AuditFilter{Action: audit.ActionRunStart})
	if len(rows) != 1 || rows[0].ResourceID != adv.Created[0].String() || rows[0].Actor.TokenName != store.SchedulerActor {
		t.Errorf("run.start rows %+v: want one by the scheduler", rows)
	}
}

func TestStore_AuditAppendOnly(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour)
	if err := s.InsertAudit(ctx, audit.Event{Time: old, Action: audit.ActionAuthFailure, ResourceType: audit.ResourceRoute, Outcome: audit.OutcomeDenied}); err != nil {
		t.Fatal(err)
	}
	refused := func(t *testing.T, err error) {
		t.Helper()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" {
			t.Fatalf("got %v, want the append-only refusal (42501)", err)
		}
	}
	t.Run("ErrUpdate", func(t *testing.T) {
		_, err := s.Pool().Exec(ctx, "UPDATE audit_log SET reason = 'rewritten'")
		refused(t, err)
	})
	t.Run("ErrDelete", func(t *testing.T) {
		_, err := s.Pool().Exec(ctx, "DELETE FROM audit_log")
		refused(t, err)
	})
	t.Run("ErrTruncate", func(t *testing.T) {
		_, err := s.Pool().Exec(ctx, "TRUNCATE audit_log")
		refused(t, err)
	})
	t.Run("ErrDeleteNewerThanCutoff", func(t *testing.T) {
		// The retention setting lets only rows older than its cutoff go.
		err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT set_config('sabe.audit_retention_before', $1, true)", old.Add(-time.Hour).Format(time.RFC3339Nano)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "DELETE FROM audit_log")
			return err
		})
		refused(t, err)
	})
	if rows := allAudit(t, s, store.AuditFilter{}); len(rows) != 1 || rows[0].Reason != "" {
		t.Errorf("after refused changes: %+v, want the one row unchanged", rows)
	}
}

func TestStore_ListAudit(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := context.Background()
	tok := uuid.New()
	base := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	var ids []uuid.UUID
	for i := range 7 {
		e := audit.Event{
			ID: uuid.New(), Time: base.Add(time.Duration(i) * time.Minute), Action: audit.ActionSuiteCreate,
			ResourceType: audit.ResourceSuite, ResourceID: fmt.Sprint(i), Outcome: audit.OutcomeSuccess,
		}
		if i%2 == 1 {
			e.Action, e.ResourceType, e.Outcome = audit.ActionAuthFailure, audit.ResourceRoute, audit.OutcomeDenied
			e.Actor = audit.Actor{TokenID: &tok, TokenName: "bad", SourceIP: "203.0.113.1"}
		}
		if err := s.InsertAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	t.Run("Pagination", func(t *testing.T) {
		var got []uuid.UUID
		cursor, pages := "", 0
		for {
			p, err := s.ListAudit(ctx, store.AuditFilter{}, 3, cursor)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, e := range p.Items {
				got = append(got, e.ID)
			}
			if p.Next == "" {
				break
			}
			cursor = p.Next
		}
		if pages != 3 || len(got) != 7 {
			t.Fatalf("%d pages, %d rows; want 3 pages of 7 rows", pages, len(got))
		}
		for i, id := range got {
			if id != ids[6-i] {
				t.Fatalf("row %d = %s, want %s (newest first)", i, id, ids[6-i])
			}
		}
	})
	t.Run("Filters", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			f    store.AuditFilter
			want int
		}{
			{"Action", store.AuditFilter{Action: audit.ActionAuthFailure}, 3},
			{"Outcome", store.AuditFilter{Outcome: audit.OutcomeSuccess}, 4},
			{"Token", store.AuditFilter{TokenID: &tok}, 3},
			{"Resource", store.AuditFilter{ResourceType: audit.ResourceSuite, ResourceID: "2"}, 1},
			{"Window", store.AuditFilter{From: base.Add(2 * time.Minute), To: base.Add(5 * time.Minute)}, 3},
			{"Combined", store.AuditFilter{Action: audit.ActionAuthFailure, From: base.Add(2 * time.Minute)}, 2},
			{"None", store.AuditFilter{Action: audit.ActionKeysRotate}, 0},
		} {
			if got := allAudit(t, s, tc.f); len(got) != tc.want {
				t.Errorf("%s: %d rows, want %d", tc.name, len(got), tc.want)
			}
		}
	})
	t.Run("ErrCursor", func(t *testing.T) {
		if _, err := s.ListAudit(ctx, store.AuditFilter{}, 3, "not-a-cursor"); fault.KindOf(err) != fault.KindBadRequest {
			t.Errorf("bad cursor: %v, want bad request", err)
		}
	})
}

func TestStore_DeleteAuditBefore(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := context.Background()
	now := time.Now()
	for i := range 9 {
		at := now.Add(-72*time.Hour + time.Duration(i)*time.Minute)
		if i >= 7 {
			at = now.Add(-time.Duration(i) * time.Minute)
		}
		if err := s.InsertAudit(ctx, audit.Event{Time: at, Action: audit.ActionAuthFailure, ResourceType: audit.ResourceRoute, Outcome: audit.OutcomeDenied}); err != nil {
			t.Fatal(err)
		}
	}
	cutoff := now.Add(-24 * time.Hour)
	var batches []int64
	for {
		n, err := s.DeleteAuditBefore(ctx, cutoff, 3)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, n)
		if n < 3 {
			break
		}
	}
	if fmt.Sprint(batches) != "[3 3 1]" {
		t.Errorf("batches deleted %v, want [3 3 1]", batches)
	}
	left := allAudit(t, s, store.AuditFilter{})
	if len(left) != 2 {
		t.Fatalf("%d rows left, want the 2 recent", len(left))
	}
	for _, e := range left {
		if !e.Time.After(cutoff) {
			t.Errorf("row at %s survived, older than the cutoff %s", e.Time, cutoff)
		}
	}
}
