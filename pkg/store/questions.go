package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// MaxImportQuestions bounds one import, so a single request cannot hold a
// transaction open for minutes.
const MaxImportQuestions = 10000

func questionFromRow(r dbsqlc.GetQuestionRow) catalog.Question {
	q := catalog.Question{
		ID: r.ID, SuiteID: r.SuiteID, Revision: int(r.Revision), RevisionID: r.RevisionID,
		Prompt: r.Prompt, Category: r.Category, ExpectedAnswer: r.ExpectedAnswer, Key: deref(r.Key),
		ArchivedAt: r.ArchivedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	_ = json.Unmarshal(r.Scoring, &q.Scoring)
	_ = json.Unmarshal(r.Metadata, &q.Metadata)
	if len(q.Metadata) == 0 {
		q.Metadata = nil
	}
	q.Messages = turnsFromJSON(r.Messages)
	q.Choices = choicesFromJSON(r.Choices)
	q.FewShot = turnsFromJSON(r.FewShot)
	return q
}

// revisionContent is what a question revision stores beside its prompt:
// its turns, options and few-shot turns as JSON, NULL when absent, and
// its metadata, {} when absent.
type revisionContent struct {
	messages, choices, fewShot, metadata json.RawMessage
}

func contentOf(in catalog.QuestionInput, fewShot json.RawMessage) revisionContent {
	meta := json.RawMessage("{}")
	if len(in.Metadata) > 0 {
		meta = mustJSON(in.Metadata)
	}
	return revisionContent{messages: optionalJSON(in.Messages), choices: optionalJSON(in.Choices), fewShot: fewShotColumn(fewShot), metadata: meta}
}

// optionalJSON is v as JSON, or nil (NULL) when v is empty.
func optionalJSON[T any](v []T) json.RawMessage {
	if len(v) == 0 {
		return nil
	}
	return mustJSON(v)
}

// fewShotColumn is a suite's few-shot turns as a revision stores them:
// NULL when the suite has none.
func fewShotColumn(suite json.RawMessage) json.RawMessage {
	if len(turnsFromJSON(suite)) == 0 {
		return nil
	}
	return suite
}

// turnsFromJSON decodes stored chat turns; NULL and [] are nil.
func turnsFromJSON(raw json.RawMessage) []catalog.Message {
	var out []catalog.Message
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// choicesFromJSON decodes stored options; NULL is nil.
func choicesFromJSON(raw json.RawMessage) []string {
	var out []string
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// activeSuite checks that a suite exists and is not archived, and keeps it
// so (a row lock) until the transaction ends: an archived suite is frozen,
// along with everything under it. It returns the suite's few-shot turns,
// which the lock keeps current too.
func activeSuite(ctx context.Context, q *dbsqlc.Queries, id uuid.UUID) (fewShot json.RawMessage, err error) {
	row, err := q.LockSuite(ctx, id)
	if err != nil {
		return nil, notFound(err, "suite")
	}
	if row.ArchivedAt != nil {
		return nil, fault.Conflict("suite is archived")
	}
	return row.FewShot, nil
}

// lockedQuestion is a question locked for a change, with its suite's
// current few-shot turns.
type lockedQuestion struct {
	dbsqlc.LockQuestionRow
	FewShot json.RawMessage
}

// lockQuestion locks a question for a change (its suite first, see
// LockQuestionSuite) and answers Conflict when its suite is archived. It
// reports whether the question itself is archived, which its callers treat
// differently.
func lockQuestion(ctx context.Context, q *dbsqlc.Queries, id uuid.UUID) (lockedQuestion, error) {
	suite, err := q.LockQuestionSuite(ctx, id)
	if err != nil {
		return lockedQuestion{}, notFound(err, "question")
	}
	row, err := q.LockQuestion(ctx, id)
	if err != nil {
		return lockedQuestion{}, notFound(err, "question")
	}
	out := lockedQuestion{LockQuestionRow: row, FewShot: suite.FewShot}
	if row.SuiteArchivedAt != nil && row.QuestionArchivedAt == nil {
		return out, fault.Conflict("the question's suite is archived")
	}
	return out, nil
}

// CreateQuestions adds questions to a suite, all or none, in one
// transaction. The inputs must have been validated.
func (s *Store) CreateQuestions(ctx context.Context, suiteID uuid.UUID, in []catalog.QuestionInput) ([]catalog.Question, error) {
	if len(in) > MaxImportQuestions {
		return nil, fault.TooLarge("body", "at most %d questions per import", MaxImportQuestions)
	}
	now := time.Now().UTC()
	qs := make([]dbsqlc.InsertQuestionsParams, len(in))
	revs := make([]dbsqlc.InsertQuestionRevisionsParams, len(in))
	out := make([]catalog.Question, len(in))
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		fewShot, err := activeSuite(ctx, q, suiteID)
		if err != nil {
			return err
		}
		if err := checkQuestionJudges(ctx, q, in); err != nil {
			return err
		}
		if err := checkKeys(ctx, q, suiteID, nil, in); err != nil {
			return err
		}
		for i, qi := range in {
			id, rid := newID(), newID()
			c := contentOf(qi, fewShot)
			qs[i] = dbsqlc.InsertQuestionsParams{ID: id, SuiteID: suiteID, Revision: 1, Key: nonEmpty(qi.Key)}
			revs[i] = dbsqlc.InsertQuestionRevisionsParams{
				ID: rid, QuestionID: id, Revision: 1, Prompt: qi.Prompt, Category: qi.Category,
				ExpectedAnswer: qi.ExpectedAnswer, Scoring: mustJSON(qi.Scoring),
				Messages: c.messages, Choices: c.choices, FewShot: c.fewShot, Metadata: c.metadata,
			}
			out[i] = catalog.Question{
				ID: id, SuiteID: suiteID, Revision: 1, RevisionID: rid, Prompt: qi.Prompt, Messages: qi.Messages,
				Choices: qi.Choices, Category: qi.Category, ExpectedAnswer: qi.ExpectedAnswer, Scoring: qi.Scoring,
				FewShot: turnsFromJSON(c.fewShot), Key: qi.Key, Metadata: qi.Metadata, CreatedAt: now, UpdatedAt: now,
			}
		}
		if _, err := q.InsertQuestions(ctx, qs); err != nil {
			return keyConflict(err)
		}
		if _, err := q.InsertQuestionRevisions(ctx, revs); err != nil {
			return err
		}
		return auditQuestionsCreated(ctx, q, suiteID, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetQuestion returns a question at its current revision, archived or
// not (ArchivedAt says): runs keep referring to archived questions.
func (s *Store) GetQuestion(ctx context.Context, id uuid.UUID) (*catalog.Question, error) {
	row, err := s.q.GetQuestion(ctx, id)
	if err != nil {
		return nil, notFound(err, "question")
	}
	q := questionFromRow(row)
	return &q, nil
}

// ListQuestions returns a page of a suite's active questions.
func (s *Store) ListQuestions(ctx context.Context, suiteID uuid.UUID, limit int, cursor string) (Page[catalog.Question], error) {
	if _, err := s.q.GetSuite(ctx, suiteID); err != nil {
		return Page[catalog.Question]{}, notFound(err, "suite")
	}
	return listPage(cursor, limit, func(after *uuid.UUID, lim int32) ([]dbsqlc.ListQuestionsRow, error) {
		return s.q.ListQuestions(ctx, dbsqlc.ListQuestionsParams{SuiteID: suiteID, After: after, Lim: lim})
	}, func(r dbsqlc.ListQuestionsRow) catalog.Question {
		return questionFromRow(dbsqlc.GetQuestionRow(r))
	}, func(r dbsqlc.ListQuestionsRow) uuid.UUID { return r.ID })
}

// ReviseQuestion makes in the question's next revision. Earlier revisions
// stay as they were, so runs that used them keep their meaning. base is the
// revision the caller's edit started from: when another edit landed since,
// it answers Conflict instead of silently overwriting that edit.
func (s *Store) ReviseQuestion(ctx context.Context, id uuid.UUID, base int, in catalog.QuestionInput) (*catalog.Question, error) {
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		row, err := lockQuestion(ctx, q, id)
		if err != nil {
			return err
		}
		if row.QuestionArchivedAt != nil {
			return fault.Conflict("question is archived")
		}
		rev := row.Revision
		if int(rev) != base {
			return fault.Conflict("question changed meanwhile (revision %d, edit based on %d); fetch it and retry", rev, base)
		}
		one := []catalog.QuestionInput{in}
		if err := checkQuestionJudges(ctx, q, one); err != nil {
			return err
		}
		if err := checkKeys(ctx, q, row.SuiteID, &id, one); err != nil {
			return err
		}
		next := rev + 1
		c := contentOf(in, row.FewShot)
		if err := q.CreateQuestionRevision(ctx, dbsqlc.CreateQuestionRevisionParams{
			ID: newID(), QuestionID: id, Revision: next, Prompt: in.Prompt, Category: in.Category,
			ExpectedAnswer: in.ExpectedAnswer, Scoring: mustJSON(in.Scoring),
			Messages: c.messages, Choices: c.choices, FewShot: c.fewShot, Metadata: c.metadata,
		}); err != nil {
			return err
		}
		if err := q.SetQuestionRevision(ctx, dbsqlc.SetQuestionRevisionParams{ID: id, Revision: next, Key: nonEmpty(in.Key)}); err != nil {
			return keyConflict(err)
		}
		return auditChange(ctx, q, audit.ActionQuestionUpdate, audit.ResourceQuestion, id.String(), fmt.Sprintf("revision %d", next))
	})
	if err != nil {
		return nil, err
	}
	return s.GetQuestion(ctx, id)
}

// DeleteQuestion archives a question: its revisions stay for the runs that
// asked them, and new runs no longer include it. Deleting an archived
// question again changes nothing, like deleting an archived model; a
// question of an archived suite is frozen with it (Conflict).
func (s *Store) DeleteQuestion(ctx context.Context, id uuid.UUID) error {
	return s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		row, err := lockQuestion(ctx, q, id)
		if err != nil || row.QuestionArchivedAt != nil {
			return err
		}
		if _, err := q.ArchiveQuestion(ctx, id); err != nil {
			return err
		}
		return auditChange(ctx, q, audit.ActionQuestionDelete, audit.ResourceQuestion, id.String(), "archived")
	})
}

// auditQuestionsCreated writes one question.create row per question, with
// COPY, so an import of thousands stays one short transaction.
func auditQuestionsCreated(ctx context.Context, q *dbsqlc.Queries, suiteID uuid.UUID, qs []catalog.Question) error {
	reason := "suite " + suiteID.String()
	if len(qs) > 1 {
		reason = fmt.Sprintf("import of %d into suite %s", len(qs), suiteID)
	}
	rows := make([]dbsqlc.InsertAuditRowsParams, len(qs))
	for i, qu := range qs {
		rows[i] = dbsqlc.InsertAuditRowsParams(auditParams(newAuditEvent(ctx, audit.ActionQuestionCreate, audit.ResourceQuestion, qu.ID.String(), reason)))
	}
	_, err := q.InsertAuditRows(ctx, rows)
	return err
}
