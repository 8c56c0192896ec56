package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/run"
)

// LoadSnapshot returns a run with the models and question revisions it
// asks, in unit order.
func (s *Store) LoadSnapshot(ctx context.Context, id uuid.UUID) (*run.Snapshot, error) {
	r, err := s.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	models, err := s.q.ListRunModels(ctx, id)
	if err != nil {
		return nil, err
	}
	questions, err := s.q.ListRunQuestions(ctx, id)
	if err != nil {
		return nil, err
	}
	judges, err := s.q.ListRunJudges(ctx, id)
	if err != nil {
		return nil, err
	}
	snap := &run.Snapshot{Run: r, Judges: judgesFromRows(judges), Models: make([]run.SnapshotModel, len(models)), Questions: make([]run.SnapshotQuestion, len(questions))}
	for i, m := range models {
		snap.Models[i] = run.SnapshotModel{
			Position: int(m.Position), ModelID: m.ModelID, ProviderID: m.ProviderID, Name: m.Name, ProviderModelID: m.ProviderModelID,
			InputCostPerMTok: m.InputCostPerMtok, OutputCostPerMTok: m.OutputCostPerMtok,
		}
		_ = json.Unmarshal(m.RequestOverrides, &snap.Models[i].Overrides)
	}
	for i, q := range questions {
		snap.Questions[i] = run.SnapshotQuestion{
			Position: int(q.Position), QuestionID: q.QuestionID, RevisionID: q.RevisionID, Revision: int(q.Revision),
			Prompt: q.Prompt, Category: q.Category, ExpectedAnswer: q.ExpectedAnswer,
			Messages: turnsFromJSON(q.Messages), Choices: choicesFromJSON(q.Choices), FewShot: turnsFromJSON(q.FewShot),
		}
		if err := json.Unmarshal(q.Scoring, &snap.Questions[i].Scoring); err != nil {
			return nil, fmt.Errorf("run %s question %s scoring: %w", id, q.QuestionID, err)
		}
	}
	if len(snap.Models) != r.ModelCount || len(snap.Questions) != r.QuestionCount {
		return nil, fmt.Errorf("run %s snapshot has %d models and %d questions, expected %d and %d", id, len(snap.Models), len(snap.Questions), r.ModelCount, r.QuestionCount)
	}
	return snap, nil
}
