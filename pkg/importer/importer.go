package importer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// Format names a question file's format, as the import endpoint's
// `format` parameter and the CLI's --format flag spell it.
type Format string

// The formats Parse reads.
const (
	FormatSabe        Format = "sabe"
	FormatOpenAIEvals Format = "openai-evals"
	FormatInspect     Format = "inspect"
	FormatPromptfoo   Format = "promptfoo"
	FormatCSV         Format = "csv"
)

// Formats lists every format, in the order the documentation gives them.
var Formats = []Format{FormatSabe, FormatOpenAIEvals, FormatInspect, FormatPromptfoo, FormatCSV}

// MaxQuestions bounds the questions of one import (the store's
// MaxImportQuestions, which a test holds equal): an import of more is
// refused with ErrTooMany.
const MaxQuestions = 10000

// ErrTooMany is returned by Parse for a file of more than MaxQuestions
// questions (the import endpoint answers 413 on `body`).
var ErrTooMany = fmt.Errorf("at most %d questions per import", MaxQuestions)

// ParseFormat returns the Format named s; an unknown name is an error
// that lists the valid ones.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown import format %q: want one of %s", s, formatNames())
}

func formatNames() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// Options are what Parse needs besides the file.
type Options struct {
	// PromptTemplate is the suite's prompt_template: `{{name}}` is
	// replaced by a test's (or row's) variable name. Formats whose items
	// carry variables rather than prompts (promptfoo, csv rows without a
	// prompt) need it.
	PromptTemplate string
	// SkipUnsupported leaves out the assertions SABE cannot score,
	// listing them in Result.Skipped, instead of refusing the file.
	SkipUnsupported bool
}

// Record is one question of a file with the line it starts on (from 1,
// counting blank lines, as an editor shows them).
type Record struct {
	Line     int
	Question oapi.CreateQuestionRequest
}

// LineError is one problem of a file: its line, the field within the
// line's item (a dotted path such as `assert[2].type`, or empty when the
// problem is the item as a whole) and what is wrong.
type LineError struct {
	Line    int
	Field   string
	Message string
}

// String renders the error as "line 3: assert[2].type: message".
func (e LineError) String() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Message)
}

// Error is a file Parse refused: every bad line, in the order of the
// file.
type Error struct {
	Lines []LineError
}

// Error names the first bad line and how many more there are.
func (e *Error) Error() string {
	if len(e.Lines) == 0 {
		return "invalid import"
	}
	msg := e.Lines[0].String()
	if n := len(e.Lines) - 1; n == 1 {
		msg += " (and 1 more bad line)"
	} else if n > 1 {
		msg += fmt.Sprintf(" (and %d more bad lines)", n)
	}
	return msg
}

// Result is a parsed file: its questions, and the assertions left out
// because SABE cannot score them (only with Options.SkipUnsupported).
type Result struct {
	Records []Record
	Skipped []LineError
}

// Parse reads a file of format f into question requests. The file is
// read whole: every item is mapped, and when any cannot be, the error is
// an *Error listing all of them, and the Result holds the items that could
// be mapped (so that a caller checking them further can report every
// problem of the file at once; it must not import them). More than
// MaxQuestions items is ErrTooMany. A file with no items is an *Error on
// line 1. A prompt template that is not one (see CheckTemplate) is an
// error of its own, not about a line.
//
// Parse maps and checks the shape of each item; the rules a question must
// meet beyond that (a regex that compiles, a judge model that exists)
// are checked by the server when the records are imported, which reports
// them on Record.Line.
func Parse(f Format, body []byte, o Options) (Result, error) {
	if err := CheckTemplate(o.PromptTemplate); err != nil {
		return Result{}, fmt.Errorf("prompt_template: %w", err)
	}
	p := &parser{o: o}
	body = trimBOM(body)
	var err error
	switch f {
	case FormatSabe:
		err = p.sabe(body)
	case FormatOpenAIEvals:
		err = p.openAIEvals(body)
	case FormatInspect:
		if looksLikeJSON(body) {
			err = p.inspectJSON(body)
		} else {
			err = p.inspectCSV(body)
		}
	case FormatPromptfoo:
		// YAML reads JSON too: promptfoo also takes tests as JSON.
		if looksLikeYAML(body) || looksLikeJSON(body) {
			err = p.promptfooYAML(body)
		} else {
			err = p.promptfooCSV(body)
		}
	case FormatCSV:
		err = p.namedCSV(body)
	default:
		_, err = ParseFormat(string(f))
	}
	if err != nil {
		return Result{}, err
	}
	return p.result()
}

// parser collects the records, the bad lines and the skipped assertions
// of one file.
type parser struct {
	o       Options
	records []Record
	bad     []LineError
	skipped []LineError
	items   int // items seen, good and bad
}

// item counts one more item of the file, good or bad; past MaxQuestions
// it returns ErrTooMany, which the readers return at once.
func (p *parser) item() error {
	if p.items++; p.items > MaxQuestions {
		return ErrTooMany
	}
	return nil
}

func (p *parser) add(line int, q oapi.CreateQuestionRequest) {
	p.records = append(p.records, Record{Line: line, Question: q})
}

// fail reports a problem of line (a problem of the file as a whole, such
// as YAML with no document, is on line 1).
func (p *parser) fail(line int, field, format string, args ...any) {
	p.bad = append(p.bad, LineError{Line: max(line, 1), Field: field, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) result() (Result, error) {
	if len(p.bad) > 0 {
		// A reader may find a line's problem after a later line's (a
		// CSV record it cannot read is reported as it reads, its rows'
		// problems after): the error lists them in the file's order.
		slices.SortStableFunc(p.bad, func(a, b LineError) int { return a.Line - b.Line })
		return Result{Records: p.records, Skipped: p.skipped}, &Error{Lines: p.bad}
	}
	if len(p.records) == 0 {
		return Result{}, &Error{Lines: []LineError{{Line: 1, Message: "the file contains no questions"}}}
	}
	return Result{Records: p.records, Skipped: p.skipped}, nil
}
