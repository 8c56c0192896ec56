package run_test

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/run"
)

func TestExecutionID(t *testing.T) {
	t.Parallel()
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		e := &run.Execution{RunID: uuid.New(), ModelID: uuid.New(), QuestionID: uuid.New(), Sample: 7}
		s := e.ID().String()
		if len(s) != 70 {
			t.Fatalf("len %d, want 70: %s", len(s), s)
		}
		got, err := run.ParseExecutionID(s)
		if err != nil {
			t.Fatal(err)
		}
		if got != e.ID() {
			t.Fatalf("got %+v, want %+v", got, e.ID())
		}
		b, _ := json.Marshal(e.ID())
		var back run.ExecutionID
		if err := json.Unmarshal(b, &back); err != nil || back != e.ID() {
			t.Fatalf("json round trip: %v %+v", err, back)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		good := run.ExecutionID{RunID: uuid.New(), Sample: 1}.String()
		for _, s := range []string{"", "abc", good[:69], good + "A", good[:69] + "=", good[:69] + "+",
			run.ExecutionID{Sample: -1}.String()} {
			if _, err := run.ParseExecutionID(s); fault.KindOf(err) != fault.KindInvalid {
				t.Errorf("%q: err %v, want invalid", s, err)
			}
		}
	})
}

func FuzzParseExecutionID(f *testing.F) {
	f.Add(run.ExecutionID{RunID: uuid.New(), ModelID: uuid.New(), QuestionID: uuid.New(), Sample: 3}.String())
	f.Add("")
	f.Add("////")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := run.ParseExecutionID(s)
		if err != nil {
			if fault.KindOf(err) != fault.KindInvalid {
				t.Fatalf("%q: error kind %v", s, fault.KindOf(err))
			}
			return
		}
		if id.Sample < 0 {
			t.Fatalf("%q: negative sample", s)
		}
		if id.String() != s {
			t.Fatalf("%q: not canonical, re-encodes as %q", s, id.String())
		}
	})
}
