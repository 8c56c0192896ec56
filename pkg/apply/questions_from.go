package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/importer"
)

// questionsFrom reads a suite's questions_from files with the import
// endpoint's readers, client side, into questions with keys: a row's own
// id (inspect's `id`, a CSV `key` column, a sabe line's `key`), or else a
// key derived from what the question asks (DerivedKey), so that editing
// its expected answer or scoring revises it, while editing its prompt
// makes another question. inline are the suite's inline questions, whose
// keys the files' must not repeat. A problem is recorded and reported
// as an error.
func (pl *planner) questionsFrom(path string, s Suite, inline []fileQuestion) ([]fileQuestion, error) {
	seen := map[string]string{}
	for _, q := range inline {
		seen[q.Key] = q.path
	}
	read := pl.o.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	var out []fileQuestion
	failed := false
	for j, qf := range s.QuestionsFrom {
		qpath := fmt.Sprintf("%s.questions_from[%d]", path, j)
		name := qf.File
		if !filepath.IsAbs(name) {
			name = filepath.Join(pl.f.Dir, name)
		}
		body, err := read(name)
		if err != nil {
			pl.bad(qpath+".file", "%v", err)
			failed = true
			continue
		}
		var format importer.Format
		if qf.Format == "" {
			if format, err = importer.Guess(name, body); err != nil {
				pl.bad(qpath+".format", "%v", err)
				failed = true
				continue
			}
		} else if format, err = importer.ParseFormat(qf.Format); err != nil {
			pl.bad(qpath+".format", "%v", err)
			failed = true
			continue
		}
		res, err := importer.Parse(format, body, importer.Options{PromptTemplate: s.PromptTemplate, SkipUnsupported: qf.SkipUnsupported})
		var ie *importer.Error
		switch {
		case errors.As(err, &ie):
			for _, le := range ie.Lines {
				pl.ps = append(pl.ps, &FieldError{Path: fmt.Sprintf("%s (%s)", qpath, qf.File), Msg: le.String()})
			}
			failed = true
			continue
		case err != nil:
			pl.bad(qpath, "%s: %v", qf.File, err)
			failed = true
			continue
		}
		for _, r := range res.Records {
			q := questionOfRequest(r.Question)
			if q.Key == "" {
				q.Key = DerivedKey(q)
			}
			lpath := fmt.Sprintf("%s.line[%d]", qpath, r.Line)
			if other, dup := seen[q.Key]; dup {
				pl.bad(lpath, "key %q is also %s (give the row an id, or drop one of the two)", q.Key, other)
				failed = true
				continue
			}
			seen[q.Key] = lpath
			out = append(out, fileQuestion{q, lpath})
		}
	}
	if failed {
		return nil, errors.New("questions_from")
	}
	return out, nil
}

// DerivedKey is the key of a question read from a file whose row has no
// id: "h-" and 12 hex digits of SHA-256 over its prompt, or its messages
// as JSON, and its choices.
func DerivedKey(q Question) string {
	h := sha256.New()
	if len(q.Messages) > 0 {
		b, _ := json.Marshal(q.Messages)
		h.Write(b)
	} else {
		h.Write([]byte(q.Prompt))
	}
	for _, c := range q.Choices {
		h.Write([]byte{0})
		h.Write([]byte(c))
	}
	return "h-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// questionOfRequest is an import's question as the file writes one.
func questionOfRequest(r oapi.CreateQuestionRequest) Question {
	q := Question{Prompt: r.Prompt, ExpectedAnswer: r.ExpectedAnswer}
	if r.Key != nil {
		q.Key = *r.Key
	}
	if r.Messages != nil {
		q.Messages = *r.Messages
	}
	if r.Choices != nil {
		q.Choices = *r.Choices
	}
	if r.Category != nil {
		q.Category = *r.Category
	}
	if !same(r.Scoring, oapi.Scoring{}) {
		sc := r.Scoring
		q.Scoring = &sc
	}
	if r.Metadata != nil {
		q.Metadata = *r.Metadata
	}
	return q
}
