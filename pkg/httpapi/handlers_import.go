package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/text"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/importer"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/store"
)

// maxImportLines bounds the questions of one import (the body limit
// bounds its bytes).
const maxImportLines = store.MaxImportQuestions

// questionSchema names the schema every imported question must meet: the
// same as the body of a single question.
const questionSchema = "CreateQuestionRequest"

// importItem is one question of an import as JSON, with the line of the
// file it comes from (from 1, counting blank lines, as an editor shows
// them).
type importItem struct {
	line int
	json []byte
}

// ImportQuestions adds the questions of a file to a suite, all or none:
// the file is read in its format (SABE's JSON Lines by default, or one of
// the formats pkg/importer reads), every question is checked as a single
// question's body would be, and one bad line fails the import with every
// bad line listed.
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
	format := importer.FormatSabe
	if req.Params.Format != nil {
		f, err := importer.ParseFormat(string(*req.Params.Format))
		if err != nil {
			return nil, fault.BadRequest("format", "%v", err)
		}
		format = f
	}
	// A missing suite is the more useful answer than the lines' problems.
	suite, err := a.s.store.GetSuite(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	items, skipped, err := importItems(format, body, importer.Options{
		PromptTemplate: suite.PromptTemplate, SkipUnsupported: derefOr(req.Params.SkipUnsupported),
	})
	if err != nil {
		return nil, err
	}
	inputs, lines, err := checkImport(items)
	if err != nil {
		return nil, err
	}
	qs, err := a.s.store.CreateQuestions(ctx, req.Id, inputs)
	if err != nil {
		return nil, storeLineErrors(err, lines)
	}
	out := oapi.ImportQuestions201JSONResponse{
		Imported: len(qs), Items: make([]oapi.Question, 0, len(qs)), Skipped: make([]oapi.LineError, 0, len(skipped)),
	}
	for i := range qs {
		out.Items = append(out.Items, toQuestion(&qs[i]))
	}
	for _, s := range skipped {
		out.Skipped = append(out.Skipped, oapi.LineError{Line: s.Line, Field: nonEmpty(s.Field), Message: s.Message})
	}
	return out, nil
}

// importItems reads a file of the given format into its questions. SABE's
// own JSON Lines are taken line by line as they are; the other formats
// are mapped by pkg/importer, whose refusal of the file (every line it
// cannot map) is the import's, and each question it maps is then checked
// like a line of JSON Lines (checkImport). It also returns the assertions
// left out (only with o.SkipUnsupported).
func importItems(format importer.Format, body []byte, o importer.Options) ([]importItem, []importer.LineError, error) {
	if format == importer.FormatSabe {
		return sabeItems(body), nil, nil
	}
	res, err := importer.Parse(format, body, o)
	if ie, ok := errors.AsType[*importer.Error](err); ok {
		return nil, nil, mappingErrors(ie, res.Records)
	}
	switch {
	case errors.Is(err, importer.ErrTooMany):
		return nil, nil, fault.TooLarge("body", "at most %d questions per import", maxImportLines)
	case err != nil:
		// The suite's prompt template is checked when it is set, so
		// what is left is a file that is not of the format as a whole.
		return nil, nil, fault.Invalid("body", "%s", text.Clip(err.Error(), maxMessageLen))
	}
	items, err := recordItems(res.Records, nil)
	if err != nil {
		return nil, nil, err
	}
	return items, res.Skipped, nil
}

// recordItems encodes the questions the importer mapped, each as the JSON
// Lines line checkImport takes, leaving out the records on lines in skip.
func recordItems(records []importer.Record, skip map[int]bool) ([]importItem, error) {
	items := make([]importItem, 0, len(records))
	for _, r := range records {
		if skip[r.Line] {
			continue
		}
		b, err := json.Marshal(r.Question)
		if err != nil {
			return nil, fmt.Errorf("encode the question of line %d: %w", r.Line, err)
		}
		items = append(items, importItem{line: r.Line, json: b})
	}
	return items, nil
}

// mappingErrors is the refusal of a file some of whose items could not be
// mapped (ie): with the problems the server's checks find in the items
// that could (good), so that one answer lists every bad line, in the
// file's order.
func mappingErrors(ie *importer.Error, good []importer.Record) error {
	out := &ImportError{Lines: make([]LineError, 0, len(ie.Lines))}
	bad := make(map[int]bool, len(ie.Lines))
	for _, l := range ie.Lines {
		out.Lines = append(out.Lines, LineError{Line: l.Line, Field: l.Field, Message: l.Message})
		bad[l.Line] = true
	}
	// One line's problems come from one place: the mapping's, when it
	// found any.
	items, err := recordItems(good, bad)
	if err != nil {
		return err
	}
	if _, _, err := checkImport(items); err != nil {
		if more, ok := errors.AsType[*ImportError](err); ok {
			out.Lines = append(out.Lines, more.Lines...)
			slices.SortStableFunc(out.Lines, func(a, b LineError) int { return a.Line - b.Line })
		}
	}
	return out
}

// sabeItems splits a JSON Lines body into its non-blank lines.
func sabeItems(body []byte) []importItem {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // a BOM some editors write
	var items []importItem
	for i, line := range bytes.Split(body, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			items = append(items, importItem{line: i + 1, json: line})
		}
	}
	return items
}

// parseImport checks and decodes every non-blank line of a JSON Lines
// body.
func parseImport(body []byte) ([]catalog.QuestionInput, error) {
	inputs, _, err := checkImport(sabeItems(body))
	return inputs, err
}

// checkImport checks and decodes the questions of an import, and returns
// them with the line of each; the import's limits (maxImportLines
// questions, scoring.MaxImportClasses character classes) hold whatever the
// file's format.
func checkImport(items []importItem) ([]catalog.QuestionInput, []int, error) {
	if len(items) > maxImportLines {
		return nil, nil, fault.TooLarge("body", "at most %d questions per import", maxImportLines)
	}
	doc, err := Spec()
	if err != nil {
		return nil, nil, err
	}
	ref := doc.Components.Schemas[questionSchema]
	if ref == nil || ref.Value == nil {
		return nil, nil, fmt.Errorf("openapi document has no %s schema", questionSchema)
	}
	schema := ref.Value

	var (
		inputs  []catalog.QuestionInput
		numbers []int
		bad     []LineError
		classes int // character classes of the regex patterns so far
	)
	for _, it := range items {
		in, le := parseImportLine(schema, it.json, &classes)
		if classes > scoring.MaxImportClasses {
			return nil, nil, fault.TooLarge("body", "the regex patterns of one import may have at most %d character classes in all; split the import", scoring.MaxImportClasses)
		}
		if le != nil {
			le.Line = it.line
			bad = append(bad, *le)
			continue
		}
		inputs = append(inputs, in)
		numbers = append(numbers, it.line)
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
