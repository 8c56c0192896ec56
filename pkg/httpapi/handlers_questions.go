package httpapi

import (
	"context"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/store"
)

// CreateQuestion adds a question (revision 1) to a suite.
func (a *api) CreateQuestion(ctx context.Context, req oapi.CreateQuestionRequestObject) (oapi.CreateQuestionResponseObject, error) {
	if req.Body == nil {
		return nil, errNoBody
	}
	in := fromCreateQuestion(*req.Body)
	if err := in.Validate(); err != nil {
		return nil, err
	}
	qs, err := a.s.store.CreateQuestions(ctx, req.Id, []catalog.QuestionInput{in})
	if err != nil {
		return nil, err
	}
	return oapi.CreateQuestion201JSONResponse(toQuestion(&qs[0])), nil
}

// ListQuestions lists the current revision of a suite's questions.
func (a *api) ListQuestions(ctx context.Context, req oapi.ListQuestionsRequestObject) (oapi.ListQuestionsResponseObject, error) {
	limit, cursor := pageArgs(req.Params.Limit, req.Params.Cursor)
	page, err := a.s.store.ListQuestions(ctx, req.Id, limit, cursor)
	if err != nil {
		return nil, err
	}
	return questionsPage{streamedPage{
		n: len(page.Items), next: page.Next,
		item:  func(i int) any { return toQuestion(&page.Items[i]) },
		after: func(i int) string { return store.IDCursor(page.Items[i].ID) },
	}}, nil
}

// GetQuestion returns a question at its current revision.
func (a *api) GetQuestion(ctx context.Context, req oapi.GetQuestionRequestObject) (oapi.GetQuestionResponseObject, error) {
	q, err := a.s.store.GetQuestion(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return oapi.GetQuestion200JSONResponse(toQuestion(q)), nil
}

// UpdateQuestion makes the question's next revision: the current one with
// the given fields replaced, checked as a whole (a new expected answer must
// still suit the scoring rule).
func (a *api) UpdateQuestion(ctx context.Context, req oapi.UpdateQuestionRequestObject) (oapi.UpdateQuestionResponseObject, error) {
	b := req.Body
	if b == nil {
		return nil, errNoBody
	}
	cur, err := a.s.store.GetQuestion(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	if cur.ArchivedAt != nil {
		// GET still shows it, for the runs that asked it; it is no
		// longer part of its suite, so it is not edited.
		return nil, fault.Conflict("question is archived")
	}
	in := catalog.QuestionInput{
		Prompt: cur.Prompt, Messages: cur.Messages, Choices: cur.Choices,
		Category: cur.Category, ExpectedAnswer: cur.ExpectedAnswer, Scoring: cur.Scoring,
		Key: cur.Key, Metadata: cur.Metadata,
	}
	// prompt and messages replace each other: a question is asked one way.
	if b.Prompt != nil && b.Messages != nil {
		return nil, fault.Invalid("messages", "give either prompt or messages, not both")
	}
	if b.Prompt != nil {
		in.Prompt, in.Messages = *b.Prompt, nil
	}
	if b.Messages != nil {
		in.Prompt, in.Messages = "", fromMessages(*b.Messages)
	}
	if b.Choices != nil {
		in.Choices = *b.Choices
		if len(in.Choices) == 0 {
			in.Choices = nil
		}
	}
	if b.Category != nil {
		in.Category = *b.Category
	}
	if b.ExpectedAnswer != nil {
		in.ExpectedAnswer = *b.ExpectedAnswer
	}
	if b.Scoring != nil {
		in.Scoring = fromScoring(*b.Scoring)
	}
	if b.Key != nil {
		in.Key = *b.Key
	}
	if b.Metadata != nil {
		// {} removes the metadata, as [] removes the choices.
		in.Metadata = *b.Metadata
		if len(in.Metadata) == 0 {
			in.Metadata = nil
		}
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	q, err := a.s.store.ReviseQuestion(ctx, req.Id, cur.Revision, in)
	if err != nil {
		return nil, err
	}
	return oapi.UpdateQuestion200JSONResponse(toQuestion(q)), nil
}

// DeleteQuestion archives a question; past runs keep referring to it.
func (a *api) DeleteQuestion(ctx context.Context, req oapi.DeleteQuestionRequestObject) (oapi.DeleteQuestionResponseObject, error) {
	if err := a.s.store.DeleteQuestion(ctx, req.Id); err != nil {
		return nil, err
	}
	return oapi.DeleteQuestion204Response{}, nil
}
