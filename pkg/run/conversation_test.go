package run_test

import (
	"slices"
	"testing"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/run"
)

func TestSnapshotQuestion_Conversation(t *testing.T) {
	t.Parallel()
	fewShot := []catalog.Message{{Role: "user", Content: "1+1?"}, {Role: "assistant", Content: "2"}}
	for _, tc := range []struct {
		name     string
		q        run.SnapshotQuestion
		want     []provider.Message
		wantText string
	}{
		{
			name:     "OldRunPromptOnly",
			q:        run.SnapshotQuestion{Prompt: "2+2?"},
			want:     []provider.Message{{Role: "user", Content: "2+2?"}},
			wantText: "2+2?",
		},
		{
			name: "FewShotThenPrompt",
			q:    run.SnapshotQuestion{Prompt: "2+2?", FewShot: fewShot},
			want: []provider.Message{{Role: "user", Content: "1+1?"}, {Role: "assistant", Content: "2"}, {Role: "user", Content: "2+2?"}},
			// The few-shot examples are not the question.
			wantText: "2+2?",
		},
		{
			name: "SystemTurnBeforeFewShot",
			q: run.SnapshotQuestion{FewShot: fewShot, Messages: []catalog.Message{
				{Role: "system", Content: "Be brief."}, {Role: "user", Content: "3+3?"},
			}},
			want: []provider.Message{
				{Role: "system", Content: "Be brief."}, {Role: "user", Content: "1+1?"}, {Role: "assistant", Content: "2"}, {Role: "user", Content: "3+3?"},
			},
			wantText: "system: Be brief.\n\nuser: 3+3?",
		},
		{
			name:     "ChoicesOnLastUserTurn",
			q:        run.SnapshotQuestion{Prompt: "Capital of France?", Choices: []string{"Paris", "Lyon"}},
			want:     []provider.Message{{Role: "user", Content: "Capital of France?\n\nA. Paris\nB. Lyon"}},
			wantText: "Capital of France?\n\nA. Paris\nB. Lyon",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.q.Conversation(); !slices.Equal(got, tc.want) {
				t.Errorf("Conversation() = %q, want %q", got, tc.want)
			}
			if got := tc.q.QuestionText(); got != tc.wantText {
				t.Errorf("QuestionText() = %q, want %q", got, tc.wantText)
			}
		})
	}
	t.Run("DoesNotModifyTheSnapshot", func(t *testing.T) {
		t.Parallel()
		q := run.SnapshotQuestion{Messages: []catalog.Message{{Role: "user", Content: "q"}}, Choices: []string{"x", "y"}}
		q.Conversation()
		if q.Messages[0].Content != "q" {
			t.Errorf("Conversation changed the question's turn to %q", q.Messages[0].Content)
		}
	})
}
