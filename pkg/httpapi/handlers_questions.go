package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/text"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/store"
)

// maxImportLines bounds the questions of one import (the body limit
// bounds its bytes).
const maxImportLines = store.MaxImportQuestions

// questionSchema names the schema every imported line must meet: the same
// as the body of a single question.
const questionSchema = "CreateQuestionRequest"

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

// ImportQuestions adds the questions of a JSON Lines body to a suite, all
// or none: every line is checked first, and one bad line fails the import
// with every bad line listed.
func (a *api) ImportQuestions(ctx context.Context, req oapi.ImportQuestionsRequestObject) (oapi.ImportQuestionsResponseObject, error) {
	var body []byte
	switch {
	case req.Body != nil:
		data, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, readFault(err)
		}
		body = data
	case req.TextBody != nil:
		body = []byte(*req.TextBody)
	default:
		return nil, fault.BadRequest("body", "Content-Type must be application/x-ndjson or text/plain")
	}
	// A missing suite is the more useful answer than the lines' problems.
	if _, err := a.s.store.GetSuite(ctx, req.Id); err != nil {
		return nil, err
	}
	inputs, lines, err := parseImportNumbered(body)
	if err != nil {
		return nil, err
	}
	qs, err := a.s.store.CreateQuestions(ctx, req.Id, inputs)
	if err != nil {
		return nil, storeLineErrors(err, lines)
	}
	out := oapi.ImportQuestions201JSONResponse{Imported: len(qs), Items: make([]oapi.Question, 0, len(qs))}
	for i := range qs {
		out.Items = append(out.Items, toQuestion(&qs[i]))
	}
	return out, nil
}

// storeLineErrors reports the questions the store refused (a judge model
// that does not exist, a key already taken) on their lines, like the lines
// refused before the store saw them; other errors pass through.
func storeLineErrors(err error, lines []int) error {
	qes, ok := errors.AsType[store.QuestionErrors](err)
	if !ok {
		qe, one := errors.AsType[*store.QuestionError](err)
		if !one {
			return err
		}
		qes = store.QuestionErrors{qe}
	}
	out := &ImportError{Lines: make([]LineError, 0, len(qes))}
	for _, qe := range qes {
		if qe.Index >= len(lines) {
			return err
		}
		le := lineFault(qe.Err)
		le.Line = lines[qe.Index]
		out.Lines = append(out.Lines, *le)
	}
	return out
}

// parseImport checks and decodes every non-blank line of a JSON Lines
// body. Lines are numbered from 1 counting blank ones, as an editor shows
// them.
func parseImport(body []byte) ([]catalog.QuestionInput, error) {
	inputs, _, err := parseImportNumbered(body)
	return inputs, err
}

// parseImportNumbered is parseImport that also returns the line number of
// each question.
func parseImportNumbered(body []byte) ([]catalog.QuestionInput, []int, error) {
	doc, err := Spec()
	if err != nil {
		return nil, nil, err
	}
	ref := doc.Components.Schemas[questionSchema]
	if ref == nil || ref.Value == nil {
		return nil, nil, fmt.Errorf("openapi document has no %s schema", questionSchema)
	}
	schema := ref.Value

	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // a BOM some editors write
	var (
		inputs  []catalog.QuestionInput
		numbers []int
		bad     []LineError
		count   int
		classes int // character classes of the regex patterns so far
	)
	for i, line := range bytes.Split(body, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if count++; count > maxImportLines {
			return nil, nil, fault.TooLarge("body", "at most %d questions per import", maxImportLines)
		}
		in, le := parseImportLine(schema, line, &classes)
		if classes > scoring.MaxImportClasses {
			return nil, nil, fault.TooLarge("body", "the regex patterns of one import may have at most %d character classes in all; split the import", scoring.MaxImportClasses)
		}
		if le != nil {
			le.Line = i + 1
			bad = append(bad, *le)
			continue
		}
		inputs = append(inputs, in)
		numbers = append(numbers, i+1)
	}
	if len(bad) > 0 {
		return nil, nil, &ImportError{Lines: bad}
	}
	if len(inputs) == 0 {
		return nil, nil, fault.Invalid("body", "contains no questions: send one JSON object per line")
	}
	return inputs, numbers, nil
}

// parseImportLine checks one line as strictly as a single question's body
// is checked: well-formed JSON, the document's schema (unknown and missing
// fields, types, bounds), then the domain's rules (such as a regex that
// compiles). classes counts the character classes of the regex patterns
// of the import: a line that takes it past scoring.MaxImportClasses is not
// compiled, and the caller refuses the import.
func parseImportLine(schema *openapi3.Schema, line []byte, classes *int) (catalog.QuestionInput, *LineError) {
	var v any
	if err := json.Unmarshal(line, &v); err != nil {
		return catalog.QuestionInput{}, &LineError{Message: text.Clip("malformed JSON: "+err.Error(), maxMessageLen)}
	}
	if err := checkJSONText(line); err != nil {
		return catalog.QuestionInput{}, lineFault(err)
	}
	if err := schema.VisitJSON(v, schemaOptions()...); err != nil {
		se, ok := errors.AsType[*openapi3.SchemaError](err)
		if !ok {
			return catalog.QuestionInput{}, &LineError{Message: "does not match the question schema"}
		}
		return catalog.QuestionInput{}, lineFault(schemaFault(se))
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var b oapi.CreateQuestionRequest
	if err := dec.Decode(&b); err != nil {
		return catalog.QuestionInput{}, &LineError{Message: "does not match the question schema"}
	}
	in := fromCreateQuestion(b)
	// Every regex of the rule counts: its pattern, its extract, its
	// assertions' and its JSON Schema's.
	if *classes += in.Scoring.PatternClasses(); *classes > scoring.MaxImportClasses {
		return catalog.QuestionInput{}, nil
	}
	if err := in.Validate(); err != nil {
		return catalog.QuestionInput{}, lineFault(err)
	}
	return in, nil
}

// lineFault turns a fault about a question body into a line's error; a
// fault about the body as a whole is about the line as a whole.
func lineFault(err error) *LineError {
	fe := fault.As(err)
	if fe == nil {
		return &LineError{Message: "invalid question"}
	}
	le := &LineError{Field: fe.Field, Message: fe.Message}
	if le.Field == "body" {
		le.Field = ""
	}
	return le
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
