package run

import (
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/judge"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

// Status is where a run is in its life.
type Status string

// The run statuses. Completed, partial, failed and cancelled are final.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusCompleted Status = "completed"
	StatusPartial   Status = "partial"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
)

// Final reports whether a run in this status will never change again.
func (s Status) Final() bool {
	switch s {
	case StatusCompleted, StatusPartial, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusQueued || s == StatusRunning || s.Final()
}

// Trigger says who started a run.
type Trigger string

// The triggers.
const (
	TriggerAPI      Trigger = "api"
	TriggerManual   Trigger = "manual"
	TriggerSchedule Trigger = "schedule"
)

// Progress counts a run's recorded units.
type Progress struct {
	Total     int `json:"total"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Cancelled int `json:"cancelled"`
	// Skipped units were never called because the run's spend cap or
	// deadline was reached first.
	Skipped int `json:"skipped"`
	// Answered counts the recorded units (every outcome): Done.
	Answered int `json:"answered"`
	// Judged counts the succeeded units of judged questions that have
	// their verdict (or were left unscored) under the run's scoring
	// version; AwaitingJudgment those that still wait for it.
	Judged           int `json:"judged"`
	AwaitingJudgment int `json:"awaiting_judgment"`
	// Unscored counts the succeeded units without a verdict (their judges
	// failed or answered what could not be parsed): they count in no score.
	Unscored int `json:"unscored"`
	// SpentUSD is what an unfinished run's calls (judges included) have
	// cost so far, as the workers count it in Redis; nil when unknown or
	// once the run has finished.
	SpentUSD *float64 `json:"spent_usd,omitempty"`
}

// Done is the number of units recorded in any outcome.
func (p Progress) Done() int { return p.Succeeded + p.Failed + p.Cancelled + p.Skipped }

// Run is one execution of a benchmark.
type Run struct {
	ID            uuid.UUID
	BenchmarkID   uuid.UUID
	Status        Status
	Trigger       Trigger
	ScheduledFor  *time.Time
	Config        catalog.BenchmarkConfig
	SuiteIDs      []uuid.UUID
	ModelIDs      []uuid.UUID
	ModelCount    int
	QuestionCount int
	Samples       int
	Progress      Progress
	CostUSD       float64
	InputTokens   int64
	OutputTokens  int64
	// ScoringVersion is the run's current scoring version: 1 until a
	// rescore moves it.
	ScoringVersion int
	// The judge calls of the run's current scoring version, kept apart
	// from the tested models' cost and tokens above.
	JudgeCostUSD      float64
	JudgeInputTokens  int64
	JudgeOutputTokens int64
	// Unscored counts the succeeded units without a verdict.
	Unscored          int
	LatencyP50Ms      *float64
	LatencyP95Ms      *float64
	Error             string
	MaxCostUSD        *float64
	DeadlineAt        *time.Time
	CreatedAt         time.Time
	StartedAt         *time.Time
	FinishedAt        *time.Time
	CancelRequestedAt *time.Time
	// RetryRound counts the run's retries of its failed units (0 before
	// the first); tasks of a round carry it in their ids.
	RetryRound int
}

// Total is the number of units the run fans out into.
func (r *Run) Total() int { return r.ModelCount * r.QuestionCount * r.Samples }

// SnapshotModel is a model as the run saw it when it was created.
type SnapshotModel struct {
	Position          int
	ModelID           uuid.UUID
	ProviderID        uuid.UUID
	Name              string
	ProviderModelID   string
	InputCostPerMTok  float64
	OutputCostPerMTok float64
	Overrides         catalog.RequestOverrides
}

// SnapshotQuestion is a question revision as the run asks it.
type SnapshotQuestion struct {
	Position       int
	QuestionID     uuid.UUID
	RevisionID     uuid.UUID
	Revision       int
	Prompt         string
	Category       string
	ExpectedAnswer string
	Scoring        scoring.Rule
	// Messages, Choices and FewShot are the revision's chat turns (asked
	// instead of Prompt), multiple-choice options and the suite's few-shot
	// turns as of the revision; nil for a plain prompt (and for every
	// question of runs made before they existed). Conversation puts them
	// together.
	Messages []catalog.Message
	Choices  []string
	FewShot  []catalog.Message
}

// Snapshot is everything a worker needs to execute any unit of a run.
type Snapshot struct {
	Run       *Run
	Models    []SnapshotModel
	Questions []SnapshotQuestion
	// Judges are the judge models the run's questions name, as the run
	// saw them when it was created (Position is unused).
	Judges []SnapshotModel
}

// Judge returns the snapshot of judge model id.
func (s *Snapshot) Judge(id uuid.UUID) (*SnapshotModel, bool) {
	for i := range s.Judges {
		if s.Judges[i].ModelID == id {
			return &s.Judges[i], true
		}
	}
	return nil, false
}

// Unit identifies one (model, question, sample) of a run by its index:
// index = (modelPosition*Q + questionPosition)*S + sample.
type Unit struct {
	Model    int
	Question int
	Sample   int
}

// UnitIndex returns the index of u in a run with q questions and s samples.
func UnitIndex(u Unit, q, s int) int { return (u.Model*q+u.Question)*s + u.Sample }

// UnitAt returns the unit at index i in a run with q questions and s samples.
func UnitAt(i, q, s int) Unit {
	return Unit{Model: i / (q * s), Question: (i / s) % q, Sample: i % s}
}

// ExecutionStatus is the outcome of one unit.
type ExecutionStatus string

// The execution outcomes.
const (
	ExecSucceeded ExecutionStatus = "succeeded"
	ExecFailed    ExecutionStatus = "failed"
	ExecCancelled ExecutionStatus = "cancelled"
	ExecSkipped   ExecutionStatus = "skipped"
)

// The evaluation statuses.
const (
	EvalScored   = "scored"
	EvalUnscored = "unscored"
)

// ScorerHuman is the scorer of a person's review.
const ScorerHuman = "human"

// Evaluation is one scorer's verdict on an execution under one scoring
// version. An unscored evaluation has no Passed and no Score, and Reason
// says why (judge_parse_failure, judge_error, ...): it is never a pass, a
// fail or a zero. The judge's tokens, cost and latency are the judge
// calls' own, never the tested model's.
type Evaluation struct {
	Scorer  string `json:"scorer"`
	Version int    `json:"scorer_version"`
	// Status is EvalScored or EvalUnscored.
	Status    string   `json:"status"`
	Passed    *bool    `json:"passed"`
	Score     *float64 `json:"score"`
	Detail    string   `json:"detail"`
	Reason    string   `json:"reason,omitempty"`
	Reasoning string   `json:"reasoning,omitempty"`
	// Judges is each judge's result, for judged scorers.
	Judges []judge.Result `json:"judges,omitempty"`
	// Assertions is each weighted assertion's result, in order.
	Assertions        []scoring.AssertionResult `json:"assertions,omitempty"`
	JudgeInputTokens  int                       `json:"judge_input_tokens"`
	JudgeOutputTokens int                       `json:"judge_output_tokens"`
	JudgeCostUSD      float64                   `json:"judge_cost_usd"`
	JudgeLatencyMs    *float64                  `json:"judge_latency_ms,omitempty"`
	// Reviewer (the token's name) and Note belong to human reviews.
	Reviewer  string    `json:"reviewer,omitempty"`
	Note      string    `json:"note,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Scored is a scored evaluation at version 1, as a deterministic scorer
// records it with its execution.
func Scored(scorer string, passed bool, score float64, detail string) *Evaluation {
	return &Evaluation{Scorer: scorer, Version: 1, Status: EvalScored, Passed: &passed, Score: &score, Detail: detail}
}

// EvaluationOf is the evaluation a scorer's result makes at a version.
func EvaluationOf(scorer string, version int, res scoring.Result) *Evaluation {
	ev := &Evaluation{Scorer: scorer, Version: version, Detail: res.Detail, Assertions: res.Assertions}
	if res.Unscored {
		ev.Status, ev.Reason = EvalUnscored, res.Reason
	} else {
		ev.Status, ev.Passed, ev.Score = EvalScored, &res.Passed, &res.Score
	}
	if j := res.Judge; j != nil {
		ev.Reasoning, ev.Judges = j.Reasoning, j.Judges
		var latency float64
		for _, r := range j.Judges {
			ev.JudgeInputTokens += r.InputTokens
			ev.JudgeOutputTokens += r.OutputTokens
			ev.JudgeCostUSD += r.CostUSD
			latency = max(latency, r.LatencyMs)
		}
		if len(j.Judges) > 0 {
			ev.JudgeLatencyMs = &latency
		}
	}
	return ev
}

// Execution is the recorded outcome of one unit.
type Execution struct {
	RunID              uuid.UUID
	RunCreatedAt       time.Time
	BenchmarkID        uuid.UUID
	ModelID            uuid.UUID
	QuestionID         uuid.UUID
	QuestionRevisionID uuid.UUID
	QuestionRevision   int
	Sample             int
	Category           string
	Status             ExecutionStatus
	Response           string
	Error              string
	HTTPStatus         int
	Attempts           int
	LatencyMs          *float64
	TTFTMs             *float64
	OutputTokensPerS   *float64
	InputTokens        int
	OutputTokens       int
	CostUSD            float64
	StartedAt          *time.Time
	FinishedAt         time.Time
	// Evaluation is the verdict recorded with the execution (a
	// deterministic scorer's, at version 1); nil for a unit whose verdict
	// comes later (a judged question) or never (it failed).
	Evaluation  *Evaluation
	Evaluations []Evaluation
	// UnscoredReason is set when the unit succeeded but has no effective
	// verdict.
	UnscoredReason string
}

// Result is an execution as a run's results list it, with the names a
// person reads beside the ids: the model's name as the run recorded it and
// the start of the question's prompt (catalog.PromptExcerpt).
type Result struct {
	Execution
	ModelName     string
	PromptExcerpt string
	// QuestionKey is the question's key; nil when it has none.
	QuestionKey *string
}

// Cost returns the price of a call in USD from per-million-token prices.
func Cost(inputTokens, outputTokens int, inPerMTok, outPerMTok float64) float64 {
	return (float64(inputTokens)*inPerMTok + float64(outputTokens)*outPerMTok) / 1e6
}
