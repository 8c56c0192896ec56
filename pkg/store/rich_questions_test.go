package store_test

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

var fewShotA = []catalog.Message{
	{Role: catalog.RoleUser, Content: "What is 1 + 1?"},
	{Role: catalog.RoleAssistant, Content: "2"},
}

func TestStore_RichQuestions(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := context.Background()

	t.Run("MessagesChoicesAndFewShotStored", func(t *testing.T) {
		su := testfactory.Suite(ctx, t, s, &testfactory.SuiteOpts{FewShot: fewShotA})
		if !slices.Equal(su.FewShot, fewShotA) {
			t.Fatalf("suite few_shot = %v", su.FewShot)
		}
		in := []catalog.QuestionInput{testfactory.MessageQuestion(0, ""), testfactory.ChoiceQuestion(1)}
		in[1].Scoring = scoring.Rule{Method: scoring.MethodExactMatch}
		qs := testfactory.Questions(ctx, t, s, &testfactory.QuestionsOpts{SuiteID: su.ID, Questions: in})
		got, err := s.GetQuestion(ctx, qs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Prompt != "" || !slices.Equal(got.Messages, in[0].Messages) || !slices.Equal(got.FewShot, fewShotA) || got.Choices != nil {
			t.Errorf("message question read back as %+v", got)
		}
		got, err = s.GetQuestion(ctx, qs[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Prompt != in[1].Prompt || got.Messages != nil || !slices.Equal(got.Choices, in[1].Choices) {
			t.Errorf("choice question read back as %+v", got)
		}
	})

	t.Run("FewShotChangeRevisesEveryActiveQuestion", func(t *testing.T) {
		su := testfactory.Suite(ctx, t, s, nil)
		qs := testfactory.Questions(ctx, t, s, &testfactory.QuestionsOpts{SuiteID: su.ID, Count: 3})
		if err := s.DeleteQuestion(ctx, qs[2].ID); err != nil {
			t.Fatal(err)
		}
		// A run of revision 1 keeps what it asked.
		b := testfactory.Benchmark(ctx, t, s, &testfactory.BenchmarkOpts{SuiteIDs: []uuid.UUID{su.ID}})
		r := testfactory.Run(ctx, t, s, &testfactory.RunOpts{BenchmarkID: b.ID})

		upd, err := s.UpdateSuite(ctx, su.ID, catalog.SuitePatch{FewShot: &fewShotA})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(upd.FewShot, fewShotA) {
			t.Errorf("few_shot = %v", upd.FewShot)
		}
		for _, q := range qs[:2] {
			got, err := s.GetQuestion(ctx, q.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Revision != 2 || !slices.Equal(got.FewShot, fewShotA) || got.Prompt != q.Prompt || got.ExpectedAnswer != q.ExpectedAnswer || !reflect.DeepEqual(got.Scoring, q.Scoring) {
				t.Errorf("question after the change = rev %d few_shot %v prompt %q; want rev 2 with the new turns and the same content", got.Revision, got.FewShot, got.Prompt)
			}
		}
		archived, err := s.GetQuestion(ctx, qs[2].ID)
		if err != nil {
			t.Fatal(err)
		}
		if archived.Revision != 1 || archived.FewShot != nil {
			t.Errorf("archived question revised: rev %d few_shot %v", archived.Revision, archived.FewShot)
		}
		snap, err := s.LoadSnapshot(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range snap.Questions {
			if q.Revision != 1 || q.FewShot != nil {
				t.Errorf("old run's question %s now rev %d few_shot %v; want revision 1 unchanged", q.QuestionID, q.Revision, q.FewShot)
			}
		}
		// A new run asks the new revisions, few-shot first.
		r2 := testfactory.Run(ctx, t, s, &testfactory.RunOpts{BenchmarkID: b.ID})
		snap, err = s.LoadSnapshot(ctx, r2.ID)
		if err != nil {
			t.Fatal(err)
		}
		conv := snap.Questions[0].Conversation()
		if len(conv) != 3 || conv[0].Content != fewShotA[0].Content || conv[1].Role != "assistant" || conv[2].Content != snap.Questions[0].Prompt {
			t.Errorf("new run's conversation = %+v", conv)
		}
		// New questions and new revisions carry the suite's turns.
		added := testfactory.Questions(ctx, t, s, &testfactory.QuestionsOpts{SuiteID: su.ID})
		if !slices.Equal(added[0].FewShot, fewShotA) {
			t.Errorf("new question's few_shot = %v", added[0].FewShot)
		}
		// Removing them is one more revision.
		if _, err := s.UpdateSuite(ctx, su.ID, catalog.SuitePatch{FewShot: &[]catalog.Message{}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetQuestion(ctx, qs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Revision != 3 || got.FewShot != nil {
			t.Errorf("after removing the turns: rev %d few_shot %v", got.Revision, got.FewShot)
		}
	})

	t.Run("FewShotChangeAllOrNothing", func(t *testing.T) {
		other := testfactory.Suite(ctx, t, s, nil)
		su := testfactory.Suite(ctx, t, s, nil)
		qs := testfactory.Questions(ctx, t, s, &testfactory.QuestionsOpts{SuiteID: su.ID, Count: 2})
		// The rename clashes with another suite after the questions would
		// have been revised: nothing of the change may stay.
		name := other.Name
		if _, err := s.UpdateSuite(ctx, su.ID, catalog.SuitePatch{Name: &name, FewShot: &fewShotA}); fault.KindOf(err) != fault.KindConflict {
			t.Fatalf("err = %v, want a name conflict", err)
		}
		for _, q := range qs {
			got, err := s.GetQuestion(ctx, q.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Revision != 1 || got.FewShot != nil {
				t.Errorf("question revised by a failed change: rev %d", got.Revision)
			}
		}
		cur, err := s.GetSuite(ctx, su.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.FewShot != nil {
			t.Errorf("suite few_shot = %v after a failed change", cur.FewShot)
		}
	})

	t.Run("DefaultScoringRequired", func(t *testing.T) {
		su := testfactory.Suite(ctx, t, s, nil)
		testfactory.Questions(ctx, t, s, &testfactory.QuestionsOpts{SuiteID: su.ID, Questions: []catalog.QuestionInput{testfactory.ChoiceQuestion(0)}})
		m := testfactory.Model(ctx, t, s, nil)
		in := catalog.BenchmarkInput{Name: "no default", SuiteIDs: []uuid.UUID{su.ID}, ModelIDs: []uuid.UUID{m.ID}, Config: catalog.BenchmarkConfig{MaxTokens: 8, Samples: 1}}
		_, err := s.CreateBenchmark(ctx, in, 0)
		if fe := fault.As(err); fe == nil || fe.Kind != fault.KindInvalid || fe.Field != "config.scoring" {
			t.Fatalf("err = %v, want 422 on config.scoring", err)
		}
		// A default that does not fit the question's expected answer
		// ("A" is not a number) is refused too.
		in.Config.Scoring = &scoring.Rule{Method: scoring.MethodNumeric}
		_, err = s.CreateBenchmark(ctx, in, 0)
		if fe := fault.As(err); fe == nil || fe.Field != "config.scoring" {
			t.Fatalf("err = %v, want 422 on config.scoring", err)
		}
		in.Config.Scoring = &scoring.Rule{Method: scoring.MethodExactMatch}
		b, err := s.CreateBenchmark(ctx, in, 0)
		if err != nil {
			t.Fatal(err)
		}
		if b.Config.Scoring == nil || b.Config.Scoring.Method != scoring.MethodExactMatch {
			t.Errorf("config.scoring = %+v", b.Config.Scoring)
		}
		// A benchmark with scored questions only, and a question without
		// scoring added later: its runs are refused.
		su2 := testfactory.Suite(ctx, t, s, nil)
		testfactory.Questions(ctx, t, s, &testfactory.QuestionsOpts{SuiteID: su2.ID})
		b2 := testfactory.Benchmark(ctx, t, s, &testfactory.BenchmarkOpts{SuiteIDs: []uuid.UUID{su2.ID}, ModelIDs: []uuid.UUID{m.ID}})
		testfactory.Questions(ctx, t, s, &testfactory.QuestionsOpts{SuiteID: su2.ID, Questions: []catalog.QuestionInput{testfactory.ChoiceQuestion(1)}})
		_, err = s.CreateRun(ctx, store.NewRun{BenchmarkID: b2.ID, Trigger: "api"})
		if fe := fault.As(err); fe == nil || fe.Kind != fault.KindInvalid || fe.Field != "config.scoring" {
			t.Fatalf("run err = %v, want 422 on config.scoring", err)
		}
	})

	t.Run("JudgeModelsChecked", func(t *testing.T) {
		m := testfactory.Model(ctx, t, s, nil)
		gone := testfactory.Model(ctx, t, s, nil)
		testfactory.Benchmark(ctx, t, s, &testfactory.BenchmarkOpts{ModelIDs: []uuid.UUID{gone.ID}})
		if archived, err := s.DeleteModel(ctx, gone.ID, true); err != nil || !archived {
			t.Fatalf("archive model: %v (archived %t)", err, archived)
		}
		cfg := catalog.BenchmarkConfig{MaxTokens: 8, Samples: 1, JudgeModelIDs: []uuid.UUID{m.ID, uuid.New()}}
		_, err := s.CreateBenchmark(ctx, catalog.BenchmarkInput{Name: "judges", SuiteIDs: []uuid.UUID{testfactory.Suite(ctx, t, s, nil).ID}, ModelIDs: []uuid.UUID{m.ID}, Config: cfg}, 0)
		if fe := fault.As(err); fe == nil || fe.Field != "config.judge_model_ids[1]" {
			t.Fatalf("err = %v, want 422 on config.judge_model_ids[1]", err)
		}
		b := testfactory.Benchmark(ctx, t, s, &testfactory.BenchmarkOpts{ModelIDs: []uuid.UUID{m.ID}})
		cfg = b.Config
		cfg.JudgeModelIDs = []uuid.UUID{gone.ID}
		_, err = s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Config: &cfg}, 0)
		if fe := fault.As(err); fe == nil || fe.Field != "config.judge_model_ids[0]" {
			t.Fatalf("err = %v, want 422 on config.judge_model_ids[0] (archived)", err)
		}
		cfg.JudgeModelIDs = []uuid.UUID{m.ID}
		upd, err := s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Config: &cfg}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(upd.Config.JudgeModelIDs, []uuid.UUID{m.ID}) {
			t.Errorf("judge_model_ids = %v", upd.Config.JudgeModelIDs)
		}
	})
}

func TestStore_JudgedQuestions(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := context.Background()
	judge := testfactory.Model(ctx, t, s, nil)
	su := testfactory.Suite(ctx, t, s, nil)

	_, err := s.CreateQuestions(ctx, su.ID, []catalog.QuestionInput{testfactory.JudgedQuestion(0, "", judge.ID, uuid.New())})
	if fe := fault.As(err); fe == nil || fe.Field != "scoring.judge_model_ids[1]" {
		t.Fatalf("err = %v, want 422 on scoring.judge_model_ids[1]", err)
	}
	// A judged question without judges needs the benchmark's.
	testfactory.Questions(ctx, t, s, &testfactory.QuestionsOpts{SuiteID: su.ID, Questions: []catalog.QuestionInput{testfactory.JudgedQuestion(1, "")}})
	in := catalog.BenchmarkInput{Name: "judged", SuiteIDs: []uuid.UUID{su.ID}, ModelIDs: []uuid.UUID{judge.ID}, Config: catalog.BenchmarkConfig{MaxTokens: 8, Samples: 1}}
	if _, err := s.CreateBenchmark(ctx, in, 0); fault.As(err) == nil || fault.As(err).Field != "config.judge_model_ids" {
		t.Fatalf("err = %v, want 422 on config.judge_model_ids", err)
	}
	in.Config.JudgeModelIDs = []uuid.UUID{judge.ID}
	if _, err := s.CreateBenchmark(ctx, in, 0); err != nil {
		t.Fatal(err)
	}
}
