package analytics_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/analytics"
)

func TestService_Drift(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, other := modelID(1), modelID(2)
	created := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	newer, older := analytics.RunRef{ID: runID(2), CreatedAt: created.AddDate(0, 0, 7)}, analytics.RunRef{ID: runID(1), CreatedAt: created}

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		// Pass rates before → after: q1 1 → 1/3 (regressed), q2 1/2 → 0
		// (regressed, and edited in between), q3 0 → 1/2 (improved), q4 1
		// → 1 and q5 0 → 0 (unchanged). q6 is new; the other model's rows
		// are not this model's drift.
		q2new := stat(m, 2, 2, 0)
		q2new.RevisionID, q2new.Revision = revisionID(2, 2), 2
		prev := []analytics.QuestionStat{stat(m, 1, 3, 3), stat(m, 2, 2, 1), stat(m, 3, 2, 0), stat(m, 4, 1, 1), stat(m, 5, 1, 0), stat(other, 4, 1, 1)}
		cur := []analytics.QuestionStat{stat(m, 5, 1, 0), stat(m, 3, 2, 1), q2new, stat(m, 1, 3, 1), stat(m, 4, 1, 1), stat(m, 6, 1, 1), stat(other, 4, 1, 0)}
		st := &fakeStore{
			latestRuns: func(model *uuid.UUID, n int) ([]analytics.RunRef, error) {
				if model == nil || *model != m || n != 2 {
					t.Errorf("LatestRuns(%v, %d), want the model's last 2", model, n)
				}
				return []analytics.RunRef{newer, older}, nil
			},
			runStats: func(id uuid.UUID, category *string) ([]analytics.QuestionStat, error) {
				if category != nil {
					t.Errorf("drift filtered by category %q", *category)
				}
				if id == newer.ID {
					return cur, nil
				}
				return prev, nil
			},
			names:   map[uuid.UUID]string{m: "alpha", other: "beta"},
			prompts: map[uuid.UUID]string{revisionID(1, 1): "p1", revisionID(2, 1): "p2 old", revisionID(2, 2): "p2 new", revisionID(3, 1): "p3"},
		}
		d, err := analytics.NewService(st).Drift(ctx, m, benchmarkID)
		if err != nil {
			t.Fatal(err)
		}
		if d.CurrentRun.ID != newer.ID || d.PreviousRun.ID != older.ID || d.Regressed != 2 || d.Improved != 1 || d.Unchanged != 2 {
			t.Fatalf("drift = %+v; want newer over older, 2 regressed, 1 improved, 2 unchanged", d)
		}
		if d.ModelName != "alpha" {
			t.Errorf("model name %q, want alpha", d.ModelName)
		}
		// Each question is named by its current revision's prompt.
		want := []analytics.DriftQuestion{
			{QuestionID: questionID(1), Category: "math", CurrentRevisionID: revisionID(1, 1), Prompt: "p1", PreviousRevision: 1, CurrentRevision: 1, PreviousPassRate: 1, CurrentPassRate: 1.0 / 3, Regressed: true},
			{QuestionID: questionID(2), Category: "math", CurrentRevisionID: revisionID(2, 2), Prompt: "p2 new", PreviousRevision: 1, CurrentRevision: 2, PreviousPassRate: 0.5, CurrentPassRate: 0, Regressed: true},
			{QuestionID: questionID(3), Category: "math", CurrentRevisionID: revisionID(3, 1), Prompt: "p3", PreviousRevision: 1, CurrentRevision: 1, PreviousPassRate: 0, CurrentPassRate: 0.5},
		}
		if !slices.Equal(d.Questions, want) {
			t.Errorf("questions = %+v\nwant %+v", d.Questions, want)
		}
	})

	t.Run("ErrOneRun", func(t *testing.T) {
		t.Parallel()
		st := &fakeStore{latestRuns: func(*uuid.UUID, int) ([]analytics.RunRef, error) { return []analytics.RunRef{newer}, nil }}
		_, err := analytics.NewService(st).Drift(ctx, m, benchmarkID)
		wantFault(t, err, fault.KindConflict, "")
	})

	t.Run("ErrUnknownModel", func(t *testing.T) {
		t.Parallel()
		st := &fakeStore{latestRuns: func(*uuid.UUID, int) ([]analytics.RunRef, error) { return nil, fault.NotFound("model") }}
		_, err := analytics.NewService(st).Drift(ctx, m, benchmarkID)
		wantFault(t, err, fault.KindNotFound, "")
	})
}
