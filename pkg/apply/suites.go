package apply

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// suiteView is what a plan compares of a suite (its questions apart).
type suiteView struct {
	Name           string         `json:"name"`
	Description    string         `json:"description,omitempty"`
	FewShot        []oapi.Message `json:"few_shot,omitempty"`
	PromptTemplate string         `json:"prompt_template,omitempty"`
}

// fileQuestion is a question of the file with where it came from.
type fileQuestion struct {
	Question
	path string
}

// maxImport is the most questions one import call carries (the API's
// bound).
const maxImport = 10000

// viewOfQuestion is what a plan compares of a question: the fields of a
// revision, with the API's empty values (a `{}` scoring, `{}` metadata)
// and the file's absent ones made equal; the key, which matched it, left
// out.
func viewOfQuestion(q Question) Question {
	v := q
	v.Key = ""
	if v.Scoring != nil && same(v.Scoring, oapi.Scoring{}) {
		v.Scoring = nil
	}
	if len(v.Metadata) == 0 {
		v.Metadata = nil
	}
	return v
}

// questionOf is a server question as the file writes it; a question
// without a key is keyed by its id, which is how an exported file names
// it and how apply matches it.
func questionOf(q oapi.Question) Question {
	out := Question{Key: q.Id.String(), Prompt: q.Prompt, Category: q.Category, ExpectedAnswer: q.ExpectedAnswer, Metadata: q.Metadata}
	if q.Key != nil && *q.Key != "" {
		out.Key = *q.Key
	}
	if q.Messages != nil && len(*q.Messages) > 0 {
		out.Messages = *q.Messages
	}
	if q.Choices != nil && len(*q.Choices) > 0 {
		out.Choices = *q.Choices
	}
	if !same(q.Scoring, oapi.Scoring{}) {
		s := q.Scoring
		out.Scoring = &s
	}
	return out
}

func (pl *planner) suites(ctx context.Context) {
	for i, s := range pl.f.suites() {
		path := fmt.Sprintf("suites[%d]", i)
		qs := make([]fileQuestion, 0, len(s.Questions))
		for j, q := range s.Questions {
			qs = append(qs, fileQuestion{q, fmt.Sprintf("%s.questions[%d]", path, j)})
		}
		from, err := pl.questionsFrom(path, s, qs)
		if err != nil {
			continue
		}
		qs = append(qs, from...)
		want := suiteView{Name: s.Name, Description: s.Description, FewShot: s.FewShot, PromptTemplate: s.PromptTemplate}
		cur, exists := pl.st.suite[strings.ToLower(s.Name)]
		if !exists {
			c := &Change{Action: Create, Kind: KindSuite, Name: s.Name, Path: path}
			in := oapi.CreateSuiteRequest{Name: s.Name}
			if s.Description != "" {
				in.Description = &s.Description
			}
			if len(s.FewShot) > 0 {
				in.FewShot = &s.FewShot
			}
			if s.PromptTemplate != "" {
				in.PromptTemplate = &s.PromptTemplate
			}
			c.step = func(ctx context.Context, x *executor) error {
				out, err := x.c.CreateSuite(ctx, in)
				if err != nil {
					return err
				}
				x.set(KindSuite, out.Name, out.Id)
				return nil
			}
			pl.add(c)
			pl.createQuestions(s.Name, qs)
			continue
		}
		have := suiteView{Name: cur.Name, Description: cur.Description, FewShot: cur.FewShot, PromptTemplate: cur.PromptTemplate}
		fields := diff("", have, want)
		var in oapi.UpdateSuiteRequest
		for _, fc := range fields {
			switch fc.Field {
			case "name":
				in.Name = &want.Name
			case "description":
				in.Description = &want.Description
			case "few_shot":
				fs := oapi.FewShot{} // empty removes them
				if want.FewShot != nil {
					fs = want.FewShot
				}
				in.FewShot = &fs
			case "prompt_template":
				in.PromptTemplate = &want.PromptTemplate
			}
		}
		c := pl.update(KindSuite, s.Name, path, fields, func(ctx context.Context, x *executor) error {
			_, err := x.c.UpdateSuite(ctx, cur.Id, in)
			return err
		})
		if c.Action == Update && in.FewShot != nil {
			c.Note = "few_shot makes a new revision of every question of the suite"
		}
		pl.questions(s, cur, qs)
	}
	for _, cur := range pl.st.suites {
		if !pl.pruned(KindSuite, cur.Name) {
			continue
		}
		id := cur.Id
		pl.prunes[KindSuite] = append(pl.prunes[KindSuite], &Change{Action: Archive, Kind: KindSuite, Name: cur.Name,
			Note: fmt.Sprintf("%d questions", cur.QuestionCount),
			step: func(ctx context.Context, x *executor) error { return x.c.DeleteSuite(ctx, id) }})
	}
}

// questions compares the questions of a suite that exists: by key
// (or, for a question without one, by its id), each one created,
// revised or left; with Prune, the others are archived.
func (pl *planner) questions(s Suite, cur oapi.Suite, qs []fileQuestion) {
	byKey := map[string]oapi.Question{}
	for _, q := range pl.st.questions[cur.Id] {
		byKey[questionOf(q).Key] = q
	}
	var creates []fileQuestion
	matched := map[uuid.UUID]bool{}
	for _, fq := range qs {
		sq, ok := byKey[fq.Key]
		if !ok {
			creates = append(creates, fq)
			continue
		}
		matched[sq.Id] = true
		have, want := viewOfQuestion(questionOf(sq)), viewOfQuestion(fq.Question)
		fields := diff("", have, want)
		in := questionUpdate(fields, want)
		id := sq.Id
		c := pl.update(KindQuestion, fq.Key, fq.path, fields, func(ctx context.Context, x *executor) error {
			_, err := x.c.UpdateQuestion(ctx, id, in)
			return err
		})
		c.Suite = s.Name
		if c.Action == Update {
			c.Note = fmt.Sprintf("revision %d", sq.Revision+1)
		}
	}
	pl.createQuestions(s.Name, creates)
	if !pl.o.Prune || (len(s.Questions) == 0 && len(s.QuestionsFrom) == 0) {
		return
	}
	for _, sq := range pl.st.questions[cur.Id] {
		if matched[sq.Id] {
			continue
		}
		id := sq.Id
		pl.prunes[KindQuestion] = append(pl.prunes[KindQuestion], &Change{Action: Archive, Kind: KindQuestion,
			Name: questionOf(sq).Key, Suite: s.Name,
			step: func(ctx context.Context, x *executor) error { return x.c.DeleteQuestion(ctx, id) }})
	}
}

// questionUpdate is the revision that changes fields to want's.
func questionUpdate(fields []FieldChange, want Question) oapi.UpdateQuestionRequest {
	var in oapi.UpdateQuestionRequest
	for _, fc := range fields {
		switch fc.Field {
		case "prompt", "messages":
			// Giving the one the question is asked as switches it.
			if len(want.Messages) > 0 {
				in.Messages = &want.Messages
			} else {
				in.Prompt = &want.Prompt
			}
		case "choices":
			ch := want.Choices
			if ch == nil {
				ch = []string{} // removes the options
			}
			in.Choices = &ch
		case "category":
			in.Category = &want.Category
		case "expected_answer":
			in.ExpectedAnswer = &want.ExpectedAnswer
		case "scoring":
			sc := oapi.Scoring{} // removes the question's own rule
			if want.Scoring != nil {
				sc = *want.Scoring
			}
			in.Scoring = &sc
		case "metadata":
			md := oapi.QuestionMetadata(want.Metadata)
			if md == nil {
				md = oapi.QuestionMetadata{}
			}
			in.Metadata = &md
		}
	}
	return in
}

// createQuestions adds the Create changes of a suite's new questions:
// one import call (per maxImport questions) creates them, carried by the
// first change of each batch.
func (pl *planner) createQuestions(suite string, qs []fileQuestion) {
	for start := 0; start < len(qs); start += maxImport {
		batch := qs[start:min(start+maxImport, len(qs))]
		for i, fq := range batch {
			c := &Change{Action: Create, Kind: KindQuestion, Name: fq.Key, Suite: suite, Path: fq.path}
			if i == 0 {
				c.step = func(ctx context.Context, x *executor) error { return importBatch(ctx, x, suite, batch) }
			}
			pl.add(c)
		}
	}
}

// importBatch creates questions in one import: all or none. A refused
// line is reported at its question's path in the file.
func importBatch(ctx context.Context, x *executor, suite string, batch []fileQuestion) error {
	sid, err := x.id(KindSuite, suite)
	if err != nil {
		return err
	}
	reqs := make([]oapi.CreateQuestionRequest, len(batch))
	for i, fq := range batch {
		reqs[i] = createQuestionRequest(fq.Question)
	}
	_, err = x.c.ImportQuestions(ctx, sid, reqs)
	var ae *client.Error
	if errors.As(err, &ae) {
		if m := importLine.FindStringSubmatch(ae.Field); m != nil {
			n, _ := strconv.Atoi(m[1])
			if n >= 1 && n <= len(batch) {
				return &FieldError{Path: join(batch[n-1].path, m[2]), Msg: ae.Message}
			}
		}
	}
	return err
}

// importLine is an import error's field: "line 3" or "line 3: scoring.pattern".
var importLine = regexp.MustCompile(`^line (\d+)(?:: (.*))?$`)

func createQuestionRequest(q Question) oapi.CreateQuestionRequest {
	in := oapi.CreateQuestionRequest{Prompt: q.Prompt, ExpectedAnswer: q.ExpectedAnswer}
	key := q.Key
	in.Key = &key
	if len(q.Messages) > 0 {
		in.Messages = &q.Messages
	}
	if len(q.Choices) > 0 {
		in.Choices = &q.Choices
	}
	if q.Category != "" {
		in.Category = &q.Category
	}
	if q.Scoring != nil {
		in.Scoring = *q.Scoring
	}
	if len(q.Metadata) > 0 {
		md := oapi.QuestionMetadata(q.Metadata)
		in.Metadata = &md
	}
	return in
}
