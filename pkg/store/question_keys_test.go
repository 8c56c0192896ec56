package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

func TestStore_QuestionKeys(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := context.Background()
	keyed := func(i int, key string) catalog.QuestionInput {
		in := testfactory.Question(i, "")
		in.Key = key
		return in
	}

	t.Run("ErrDuplicatesListEveryQuestion", func(t *testing.T) {
		su := testfactory.Suite(ctx, t, s, nil)
		testfactory.Questions(ctx, t, s, &testfactory.QuestionsOpts{SuiteID: su.ID, Questions: []catalog.QuestionInput{keyed(0, "taken")}})
		_, err := s.CreateQuestions(ctx, su.ID, []catalog.QuestionInput{keyed(1, "a"), keyed(2, "taken"), keyed(3, "a"), keyed(4, "")})
		qes, ok := errors.AsType[store.QuestionErrors](err)
		if !ok || len(qes) != 2 || qes[0].Index != 1 || qes[1].Index != 2 {
			t.Fatalf("err = %v (%T)", err, err)
		}
		if fe := fault.As(err); fe == nil || fe.Kind != fault.KindConflict || fe.Field != "key" {
			t.Errorf("fault = %+v", fe)
		}
	})

	// Concurrent writers of one key: the check before the write cannot see
	// each other's uncommitted rows, so the unique index decides, and its
	// refusal is the same 409 on key.
	t.Run("ErrConcurrentSameKey", func(t *testing.T) {
		su := testfactory.Suite(ctx, t, s, nil)
		const writers = 8
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Go(func() {
				_, errs[i] = s.CreateQuestions(ctx, su.ID, []catalog.QuestionInput{keyed(i, "race"), keyed(i+100, fmt.Sprintf("own-%d", i))})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch fe := fault.As(err); {
			case err == nil:
				ok++
			case fe == nil || fe.Kind != fault.KindConflict || fe.Field != "key":
				t.Errorf("a losing writer's error: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d writers of one key succeeded, want 1", ok)
		}
		got, err := s.GetSuite(ctx, su.ID)
		if err != nil || got.QuestionCount != 2 {
			t.Errorf("the suite has %d questions (%v), want the winner's 2", got.QuestionCount, err)
		}
	})
}
