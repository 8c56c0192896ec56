package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

func suiteFromRow(r dbsqlc.Suite, questions int32) catalog.Suite {
	return catalog.Suite{
		ID: r.ID, Name: r.Name, Description: r.Description, FewShot: turnsFromJSON(r.FewShot), PromptTemplate: r.PromptTemplate,
		QuestionCount: int(questions), ArchivedAt: r.ArchivedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// fewShotJSON is a suite's few-shot turns as the suites table stores
// them: never NULL.
func fewShotJSON(turns []catalog.Message) json.RawMessage {
	if len(turns) == 0 {
		return json.RawMessage("[]")
	}
	return mustJSON(turns)
}

// CreateSuite stores an empty suite (validated by the caller).
func (s *Store) CreateSuite(ctx context.Context, in catalog.SuiteInput) (*catalog.Suite, error) {
	var row dbsqlc.Suite
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		var err error
		row, err = q.CreateSuite(ctx, dbsqlc.CreateSuiteParams{
			ID: newID(), Name: in.Name, Description: in.Description, FewShot: fewShotJSON(in.FewShot), PromptTemplate: in.PromptTemplate,
		})
		if err != nil {
			return conflict(err, "a suite with this name")
		}
		return auditChange(ctx, q, audit.ActionSuiteCreate, audit.ResourceSuite, row.ID.String(), "")
	})
	if err != nil {
		return nil, err
	}
	out := suiteFromRow(row, 0)
	return &out, nil
}

// GetSuite returns a suite with its number of active questions.
func (s *Store) GetSuite(ctx context.Context, id uuid.UUID) (*catalog.Suite, error) {
	r, err := s.q.GetSuite(ctx, id)
	if err != nil {
		return nil, notFound(err, "suite")
	}
	out := suiteFromRow(dbsqlc.Suite{ID: r.ID, Name: r.Name, Description: r.Description, FewShot: r.FewShot, PromptTemplate: r.PromptTemplate, ArchivedAt: r.ArchivedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, r.QuestionCount)
	return &out, nil
}

// ListSuites returns a page of suites in creation order.
func (s *Store) ListSuites(ctx context.Context, includeArchived bool, limit int, cursor string) (Page[catalog.Suite], error) {
	return listPage(cursor, limit, func(after *uuid.UUID, lim int32) ([]dbsqlc.ListSuitesRow, error) {
		return s.q.ListSuites(ctx, dbsqlc.ListSuitesParams{After: after, IncludeArchived: includeArchived, Lim: lim})
	}, func(r dbsqlc.ListSuitesRow) catalog.Suite {
		return suiteFromRow(dbsqlc.Suite{ID: r.ID, Name: r.Name, Description: r.Description, FewShot: r.FewShot, PromptTemplate: r.PromptTemplate, ArchivedAt: r.ArchivedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, r.QuestionCount)
	}, func(r dbsqlc.ListSuitesRow) uuid.UUID { return r.ID })
}

// UpdateSuite renames, re-describes or changes the few-shot turns of a
// suite that is not archived. New few-shot turns make, in the same
// transaction, the next revision of every active question of the suite:
// few-shot turns are part of what a question revision asks, so the runs
// that asked the previous revisions keep what they asked.
func (s *Store) UpdateSuite(ctx context.Context, id uuid.UUID, p catalog.SuitePatch) (*catalog.Suite, error) {
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		arg := dbsqlc.UpdateSuiteParams{ID: id, Name: p.Name, Description: p.Description, PromptTemplate: p.PromptTemplate}
		if p.FewShot != nil {
			arg.FewShot = fewShotJSON(*p.FewShot)
		}
		// The update takes the suite's row lock first, as every change
		// under a suite does (see LockQuestionSuite), so no question can be
		// added or revised with the old turns while this one commits.
		if _, err := q.UpdateSuite(ctx, arg); err != nil {
			return conflict(notFoundOrFrozen(err, "suite", func() (*time.Time, error) {
				su, err := q.GetSuite(ctx, id)
				return su.ArchivedAt, err
			}), "a suite with this name")
		}
		revised := ""
		if p.FewShot != nil {
			n, err := reviseFewShot(ctx, q, id, *p.FewShot)
			if err != nil {
				return err
			}
			revised = fmt.Sprintf("; %d questions revised", n)
		}
		return auditChange(ctx, q, audit.ActionSuiteUpdate, audit.ResourceSuite, id.String(),
			changedFields("name", setIf(p.Name != nil), "description", setIf(p.Description != nil), "few_shot", setIf(p.FewShot != nil),
				"prompt_template", setIf(p.PromptTemplate != nil))+revised)
	})
	if err != nil {
		return nil, err
	}
	return s.GetSuite(ctx, id)
}

// reviseFewShot makes the next revision of each active question of a
// suite, a copy of its current one with the new few-shot turns, and
// returns how many there were.
func reviseFewShot(ctx context.Context, q *dbsqlc.Queries, suiteID uuid.UUID, turns []catalog.Message) (int, error) {
	ids, err := q.LockSuiteQuestions(ctx, suiteID)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	rids := make([]uuid.UUID, len(ids))
	for i := range rids {
		rids[i] = newID()
	}
	n, err := q.ReviseQuestionsFewShot(ctx, dbsqlc.ReviseQuestionsFewShotParams{FewShot: optionalJSON(turns), QuestionIds: ids, RevisionIds: rids})
	if err != nil {
		return 0, fmt.Errorf("revise the questions of suite %s: %w", suiteID, err)
	}
	if int(n) != len(ids) {
		return 0, fmt.Errorf("revise the questions of suite %s: %d of %d revised", suiteID, n, len(ids))
	}
	if _, err := q.BumpQuestionRevisions(ctx, ids); err != nil {
		return 0, fmt.Errorf("revise the questions of suite %s: %w", suiteID, err)
	}
	return len(ids), nil
}

// DeleteSuite deletes a suite without history (with its questions), or
// archives one that a benchmark or run refers to. It reports whether it
// archived. A suite that benchmarks with an enabled schedule use is
// refused with an *catalog.InUseError naming them, unless force: then
// those schedules show as blocked until the suite is replaced.
func (s *Store) DeleteSuite(ctx context.Context, id uuid.UUID, force bool) (archived bool, err error) {
	err = s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if _, err := q.GetSuite(ctx, id); err != nil {
			return notFound(err, "suite")
		}
		if !force {
			users, err := q.ScheduledBenchmarksUsingSuite(ctx, id)
			if err := inUse("suite", users, err); err != nil {
				return err
			}
		}
		hist, err := q.SuiteHasHistory(ctx, id)
		if err != nil {
			return err
		}
		if deref(hist) {
			archived = true
			if _, err = q.ArchiveSuite(ctx, id); err != nil {
				return err
			}
			reason := "archived: has history"
			if force {
				reason += " (forced)"
			}
			return auditChange(ctx, q, audit.ActionSuiteDelete, audit.ResourceSuite, id.String(), reason)
		}
		if err := q.DeleteSuiteQuestionRevisions(ctx, id); err != nil {
			return err
		}
		if err := q.DeleteSuiteQuestions(ctx, id); err != nil {
			return err
		}
		if _, err = q.DeleteSuite(ctx, id); err != nil {
			return err
		}
		return auditChange(ctx, q, audit.ActionSuiteDelete, audit.ResourceSuite, id.String(), "")
	})
	return archived, err
}
