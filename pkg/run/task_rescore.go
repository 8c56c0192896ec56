package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

// TypeRescore applies a scoring version to a finished run's stored answers
// (POST /v1/runs/{id}/rescore). It never calls a tested model.
const TypeRescore = "run:rescore"

// RescoreStatus is where a rescore is.
type RescoreStatus string

// The rescore statuses.
const (
	RescoreRunning   RescoreStatus = "running"
	RescoreCompleted RescoreStatus = "completed"
	RescoreFailed    RescoreStatus = "failed"
)

// QuestionScoring is the rule one question of a run is scored with under
// a scoring version.
type QuestionScoring struct {
	QuestionID     uuid.UUID    `json:"question_id"`
	RevisionID     uuid.UUID    `json:"revision_id"`
	ExpectedAnswer string       `json:"expected_answer"`
	Choices        []string     `json:"choices,omitempty"`
	Scoring        scoring.Rule `json:"scoring"`
}

// Rescore is one scoring version of a run after its first (version 1 is
// the scoring the run started with), with its progress.
type Rescore struct {
	RunID       uuid.UUID
	Version     int
	Fingerprint string
	// Scoring holds, in the run's question order, the rule each question is
	// scored with under this version.
	Scoring []QuestionScoring
	Status  RescoreStatus
	// Total is the number of succeeded units to score, Done how many have
	// an evaluation (scored or unscored) at this version.
	Total, Done int
	Error       string
	CreatedAt   time.Time
	FinishedAt  *time.Time
	// Created is false when the request matched the run's current scoring
	// and nothing new was made (the answer is then the current version).
	Created bool
}

// RescoreRequest says how to rescore: Override replaces every question's
// rule (nil: each question's current revision's rule and expected answer);
// JudgeModelIDs, when set, judges every llm_judge rule or assertion with
// these models instead of the ones the rules name.
type RescoreRequest struct {
	Override      *scoring.Rule
	JudgeModelIDs []uuid.UUID
}

// Fingerprint is the sha256, in hex, of the canonical JSON of a version's
// rules (with their expected answers) and the judge models they use as
// the run recorded them: two requests with the same fingerprint would
// score every unit the same way.
func Fingerprint(rules []QuestionScoring, judges []SnapshotModel) string {
	b, _ := json.Marshal(struct {
		Rules  []QuestionScoring `json:"rules"`
		Judges []SnapshotModel   `json:"judges"`
	}{rules, judges})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type versionPayload struct {
	RunID   uuid.UUID `json:"run_id"`
	Version int       `json:"version"`
}

// NewRescoreTask builds the run:rescore task of a run's scoring version,
// on the control queue; its id is RescoreTaskID's.
func NewRescoreTask(runID uuid.UUID, version int) *asynq.Task {
	payload, _ := json.Marshal(versionPayload{RunID: runID, Version: version})
	return asynq.NewTask(TypeRescore, payload,
		asynq.TaskID(RescoreTaskID(runID, version)),
		asynq.Queue(QueueControl),
		asynq.MaxRetry(25),
		asynq.Timeout(30*time.Minute))
}

// RescoreTaskID is the id of NewRescoreTask's task.
func RescoreTaskID(runID uuid.UUID, version int) string {
	return "rescore:" + runID.String() + ":" + itoa(version)
}

// RescoreBasis is what a rescore request is decided from.
type RescoreBasis struct {
	Run *Run
	// First holds the rules the run started with (scoring version 1),
	// Current each question's current revision's rule and expected answer,
	// both in the run's question order.
	First, Current []QuestionScoring
	// Config is the benchmark's configuration now: its default rule and
	// judges apply to Current as they applied to First at the run's start
	// (Run.Config).
	Config catalog.BenchmarkConfig
	// Judges are the judge models the run recorded.
	Judges []SnapshotModel
	// Version is the run's current scoring version.
	Version int
	// CurrentFingerprint is the fingerprint of the run's current scoring
	// version when it is a rescore ("" while it is version 1).
	CurrentFingerprint string
}

// NewRescore is a scoring version to create.
type NewRescore struct {
	Fingerprint string
	Scoring     []QuestionScoring
	// JudgeModelIDs are the judge models the rules use; the store adds the
	// ones the run did not record yet to its judge snapshot.
	JudgeModelIDs []uuid.UUID
}

// RequestRescore decides a rescore of a finished run and queues its
// run:rescore task. The rules are req.Override for every question, else
// each question's current revision's; a rule that does not compile is
// fault.Invalid naming the field ("scoring.<field>"). When the rules
// fingerprint the same as the run's current scoring version the answer
// is that version (Created false) and nothing is queued: rescoring twice
// makes one version. fault.Conflict (409) while the run is queued or
// running or another rescore of it is in progress; fault.NotFound when
// there is no such run.
func RequestRescore(ctx context.Context, d RedoDeps, runID uuid.UUID, req RescoreRequest) (*Rescore, error) {
	b, err := d.Store.RescoreBasis(ctx, runID)
	if err != nil {
		return nil, err
	}
	if !b.Run.Status.Final() {
		return nil, fault.Conflict("run is %s: rescore it once it has finished", b.Run.Status)
	}
	rules := effectiveRules(b.Current, b.Config)
	for i := range rules {
		if req.Override != nil {
			rules[i].Scoring = *req.Override
		}
		if len(req.JudgeModelIDs) > 0 {
			rules[i].Scoring = withJudges(rules[i].Scoring, req.JudgeModelIDs)
		}
		ref := scoring.QuestionRef{Expected: rules[i].ExpectedAnswer, Choices: rules[i].Choices}
		if _, err := scoring.Compile(rules[i].Scoring, ref); err != nil {
			if req.Override != nil {
				return nil, err
			}
			fe := fault.As(err)
			if fe == nil {
				return nil, err
			}
			return nil, fault.Invalid("scoring", "the current scoring of question %s does not compile: %s: %s", rules[i].QuestionID, fe.Field, fe.Message)
		}
	}
	current := b.CurrentFingerprint
	if current == "" {
		current = Fingerprint(effectiveRules(b.First, b.Run.Config), b.Judges)
	}
	fp := Fingerprint(rules, b.Judges)
	if fp == current {
		return &Rescore{RunID: runID, Version: b.Version, Fingerprint: fp, Scoring: rules,
			Status: RescoreCompleted, Total: b.Run.Progress.Succeeded, Done: b.Run.Progress.Succeeded}, nil
	}
	res, err := d.Store.CreateRescore(ctx, runID, NewRescore{Fingerprint: fp, Scoring: rules, JudgeModelIDs: judgeIDs(rules)})
	if err != nil {
		return nil, err
	}
	if res.Status == RescoreRunning {
		if err := Enqueue(ctx, d.Queue, NewRescoreTask(runID, res.Version)); err != nil {
			return nil, fmt.Errorf("rescore run %s: %w", runID, err)
		}
	}
	return res, nil
}

// effectiveRules applies a benchmark configuration's default rule and
// judges to the questions' own rules, as a run does when it scores.
func effectiveRules(qs []QuestionScoring, cfg catalog.BenchmarkConfig) []QuestionScoring {
	out := make([]QuestionScoring, len(qs))
	for i, q := range qs {
		r, _ := catalog.EffectiveRule(q.Scoring, cfg.Scoring)
		q.Scoring = r.WithDefaults(nil, cfg.JudgeModelIDs)
		out[i] = q
	}
	return out
}

// withJudges makes every llm_judge rule or assertion of r judge with ids.
func withJudges(r scoring.Rule, ids []uuid.UUID) scoring.Rule {
	if r.Method == scoring.MethodLLMJudge {
		r.ModelIDs = slices.Clone(ids)
	}
	if len(r.Assertions) > 0 {
		as := slices.Clone(r.Assertions)
		for i := range as {
			as[i].Rule = withJudges(as[i].Rule, ids)
		}
		r.Assertions = as
	}
	return r
}

// judgeIDs lists the judge models the rules use, once each.
func judgeIDs(rules []QuestionScoring) []uuid.UUID {
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	var walk func(r scoring.Rule)
	walk = func(r scoring.Rule) {
		for _, id := range r.ModelIDs {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
		for _, a := range r.Assertions {
			walk(a.Rule)
		}
	}
	for _, q := range rules {
		walk(q.Scoring)
	}
	return out
}

// HandleRescore scores a run's succeeded units under a scoring version.
func (h *Handlers) HandleRescore(ctx context.Context, t *asynq.Task) error {
	var p versionPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	return fmt.Errorf("rescore run %s version %d: not implemented yet: %w", p.RunID, p.Version, asynq.SkipRetry)
}
