package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

// TestServer_RunTriggerFilter: GET /v1/runs?trigger= keeps the runs
// started that way, alone or with the other filters, and pages them.
func TestServer_RunTriggerFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	w := b.world(t, 1, 1, 1)
	bench := w.benchmark.Id
	ids := map[run.Trigger][]uuid.UUID{}
	for i, tr := range []run.Trigger{run.TriggerAPI, run.TriggerManual, run.TriggerSchedule, run.TriggerSchedule, run.TriggerSchedule} {
		nr := store.NewRun{BenchmarkID: bench, Trigger: tr}
		if tr == run.TriggerSchedule {
			at := time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC)
			nr.ScheduledFor = &at
		}
		r, err := b.store.CreateRun(ctx, nr)
		if err != nil {
			t.Fatalf("CreateRun %s: %v", tr, err)
		}
		ids[tr] = append(ids[tr], r.ID)
	}

	for tr, want := range ids {
		page := call[oapi.RunList](t, b, "GET", "/v1/runs?trigger="+string(tr), "", http.StatusOK)
		if len(page.Items) != len(want) {
			t.Fatalf("trigger %s: %d runs, want %d", tr, len(page.Items), len(want))
		}
		for _, r := range page.Items {
			if string(r.Trigger) != string(tr) {
				t.Errorf("trigger %s: run %s has trigger %s", tr, r.Id, r.Trigger)
			}
		}
	}
	checkPaging(t, b, "/v1/runs?trigger=schedule&benchmark_id="+bench.String())
	if page := call[oapi.RunList](t, b, "GET", "/v1/runs?trigger=api&status=running", "", http.StatusOK); len(page.Items) != 0 {
		t.Errorf("trigger api and status running: %d runs, want none", len(page.Items))
	}
	wantError(t, b.do(t, "GET", "/v1/runs?trigger=cron", ""), http.StatusBadRequest, "trigger")
}

// TestServer_ResultFilters: GET /v1/runs/{id}/results?question_id= gives
// every model's answer to one question, ?status= the units in one status,
// both together narrow further, and the cursor pages a filtered list
// without losing or repeating a result.
func TestServer_ResultFilters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lr := b.liveRunOf(t, 3, 2)
	// Every unit succeeds but the first question's answers of models 0 and 2.
	for m := range 3 {
		for q := range 2 {
			st := run.ExecSucceeded
			if q == 0 && m != 1 {
				st = run.ExecFailed
			}
			lr.recordUnit(t, m, q, st)
		}
	}
	base := "/v1/runs/" + lr.run.ID.String() + "/results"
	q0 := lr.snap.Questions[0].QuestionID

	byQuestion := call[oapi.ExecutionList](t, b, "GET", base+"?question_id="+q0.String(), "", http.StatusOK)
	models := map[uuid.UUID]bool{}
	for _, e := range byQuestion.Items {
		if e.QuestionId != q0 {
			t.Errorf("question filter returned question %s", e.QuestionId)
		}
		models[e.ModelId] = true
	}
	if len(byQuestion.Items) != 3 || len(models) != 3 {
		t.Errorf("question filter: %d results of %d models, want one of each of 3", len(byQuestion.Items), len(models))
	}

	failed := call[oapi.ExecutionList](t, b, "GET", base+"?status=failed", "", http.StatusOK)
	if len(failed.Items) != 2 {
		t.Fatalf("status filter: %d results, want 2", len(failed.Items))
	}
	for _, e := range failed.Items {
		if e.Status != oapi.ExecutionStatusFailed || e.QuestionId != q0 || e.Error == nil || *e.Error == "" {
			t.Errorf("failed result %+v, want failed on the first question with its error", e)
		}
	}
	both := call[oapi.ExecutionList](t, b, "GET", base+"?status=succeeded&question_id="+q0.String(), "", http.StatusOK)
	if len(both.Items) != 1 || both.Items[0].ModelId != lr.snap.Models[1].ModelID {
		t.Errorf("question and status: %+v, want model 1's answer only", both.Items)
	}
	checkPaging(t, b, base+"?question_id="+q0.String())
	if none := call[oapi.ExecutionList](t, b, "GET", base+"?question_id="+uuid.NewString(), "", http.StatusOK); len(none.Items) != 0 || none.NextCursor != nil {
		t.Errorf("unknown question: %+v, want an empty page", none)
	}

	wantError(t, b.do(t, "GET", base+"?status=exploded", ""), http.StatusBadRequest, "status")
	wantError(t, b.do(t, "GET", base+"?question_id=nope", ""), http.StatusBadRequest, "question_id")
	wantError(t, b.do(t, "GET", "/v1/runs/"+uuid.NewString()+"/results?status=failed", ""), http.StatusNotFound, "")
}
