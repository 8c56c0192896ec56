package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/resilience"
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
		q.Scoring = q.Scoring.WithDefaults(cfg.Scoring, cfg.JudgeModelIDs)
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

// RescoreUnit is a succeeded unit a rescore has still to score.
type RescoreUnit struct {
	UnitKey
	Response string
}

// RescoreStore is the persistence the run:rescore task needs; pkg/store
// implements it.
type RescoreStore interface {
	// GetRescore returns one scoring version of a run after its first;
	// fault.NotFound when there is none.
	GetRescore(ctx context.Context, runID uuid.UUID, version int) (*Rescore, error)
	// RescoreUnits returns up to limit succeeded units of r, in key order
	// after after (nil: from the start), without a machine evaluation at
	// version.
	RescoreUnits(ctx context.Context, r *Run, version int, after *UnitKey, limit int) ([]RescoreUnit, error)
	// RescoreProgress counts the succeeded units with a machine evaluation
	// at version and stores the count as the rescore's done.
	RescoreProgress(ctx context.Context, r *Run, version int) (int, error)
	// CompleteRescore makes version the run's scoring version, in one
	// transaction: every unit's effective verdict from its evaluation at
	// the version (a human review still wins), outcomes, rankings (rank),
	// question tallies and rollups recomputed, the rescore completed. It
	// reports false when the rescore was not running any more.
	CompleteRescore(ctx context.Context, r *Run, version int, rank RankFunc) (bool, error)
	// FailRescore ends a running rescore as failed with reason; the run
	// keeps its scoring version.
	FailRescore(ctx context.Context, runID uuid.UUID, version int, reason string) error
	// JudgingUnits returns the succeeded units of r's judged questions
	// (questionIDs), each with whether it has its machine verdict at
	// version (a retry round seeds the tracker with them).
	JudgingUnits(ctx context.Context, r *Run, questionIDs []uuid.UUID, version int) ([]JudgingUnit, error)
}

// JudgingUnit is a succeeded unit of a judged question and whether it
// has its machine verdict (Judged) at a scoring version, unscored or not.
type JudgingUnit struct {
	Key              UnitKey
	Judged, Unscored bool
}

// rescoreBatch is how many units a rescore scores per round trip.
const rescoreBatch = 500

// rescorePoll is how long a rescore waiting for its judge tasks waits
// before it counts again.
const rescorePoll = 5 * time.Second

// HandleRescore scores a finished run's succeeded units under a scoring
// version, from their stored answers: deterministic rules here, in
// batches, judged ones by an evaluation:judge task each at the version
// (C's handler, which stores one evaluation per unit and version). While
// judge tasks are outstanding it hands itself back, as a unit waiting for
// its provider does, without using a retry; when every unit has its
// evaluation it completes the version (RescoreStore.CompleteRescore). It
// can run again at any point: scored units are not scored twice. No
// tested model is ever called.
func (h *Handlers) HandleRescore(ctx context.Context, t *asynq.Task) error {
	var p versionPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	r, err := h.store.GetRun(ctx, p.RunID)
	if err != nil {
		return skipIfGone(fmt.Errorf("rescore run %s: %w", p.RunID, err))
	}
	res, err := h.store.GetRescore(ctx, r.ID, p.Version)
	if err != nil {
		return skipIfGone(fmt.Errorf("rescore run %s version %d: %w", r.ID, p.Version, err))
	}
	if res.Status != RescoreRunning {
		return nil
	}
	// The rescore may name judges this worker's snapshot does not hold.
	h.cache.drop(r.ID)
	snap, err := h.cache.get(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("rescore run %s: %w", r.ID, err)
	}
	scorers, err := compileRescore(snap, res)
	if err != nil {
		if ferr := h.store.FailRescore(ctx, r.ID, res.Version, err.Error()); ferr != nil {
			return ferr
		}
		return fmt.Errorf("rescore run %s version %d: %w: %w", r.ID, res.Version, err, asynq.SkipRetry)
	}
	queue := UnitQueue(r)
	var after *UnitKey
	for {
		units, err := h.store.RescoreUnits(ctx, r, res.Version, after, rescoreBatch)
		if err != nil {
			return fmt.Errorf("rescore run %s: %w", r.ID, err)
		}
		for _, u := range units {
			idx, ok := snap.index(u.UnitKey)
			if !ok {
				continue
			}
			sc := scorers[snap.qPos[u.QuestionID]]
			if sc.NeedsJudge() {
				if err := Enqueue(ctx, h.queue, NewJudgeTask(r.ID, idx, res.Version, queue)); err != nil {
					return err
				}
				continue
			}
			ev := EvaluationOf(sc.Name(), res.Version, sc.Score(u.Response))
			if _, err := h.store.RecordEvaluation(ctx, r, u.UnitKey, ev); err != nil {
				return fmt.Errorf("rescore run %s: %w", r.ID, err)
			}
		}
		if len(units) < rescoreBatch {
			break
		}
		after = &units[len(units)-1].UnitKey
	}
	done, err := h.store.RescoreProgress(ctx, r, res.Version)
	if err != nil {
		return err
	}
	if done < res.Total {
		return &resilience.WaitError{Provider: "rescore", Reason: "judging", Until: h.cfg.Now().Add(rescorePoll)}
	}
	first, err := h.store.CompleteRescore(ctx, r, res.Version, analytics.RankRun)
	if err != nil {
		return fmt.Errorf("complete rescore of run %s version %d: %w", r.ID, res.Version, err)
	}
	h.cache.drop(r.ID)
	if first {
		h.log.InfoContext(ctx, "run rescored", "run_id", r.ID, "scoring_version", res.Version, "units", res.Total)
	}
	return nil
}

// compileRescore compiles a version's rules in the snapshot's question
// order.
func compileRescore(snap *cachedSnapshot, res *Rescore) ([]*scoring.Scorer, error) {
	out := make([]*scoring.Scorer, len(snap.Questions))
	for _, qs := range res.Scoring {
		i, ok := snap.qPos[qs.QuestionID]
		if !ok {
			return nil, fmt.Errorf("question %s is not in the run", qs.QuestionID)
		}
		sc, err := scoring.Compile(qs.Scoring, scoring.QuestionRef{Expected: qs.ExpectedAnswer, Choices: qs.Choices})
		if err != nil {
			return nil, fmt.Errorf("question %s: %w", qs.QuestionID, err)
		}
		out[i] = sc
	}
	for i, sc := range out {
		if sc == nil {
			return nil, fmt.Errorf("question %s has no rule in the version", snap.Questions[i].QuestionID)
		}
	}
	return out, nil
}

// versionCache holds the compiled rules of the rescores a worker judges,
// by (run, version): a version's rules never change once it is created,
// so its judge tasks do not each read and compile them.
type versionCache struct {
	mu   sync.Mutex
	runs map[versionKey][]*scoring.Scorer
}

type versionKey struct {
	run     uuid.UUID
	version int
}

// maxCachedVersions bounds a worker's versionCache; past it the cache
// starts over.
const maxCachedVersions = 64

func (c *versionCache) get(k versionKey) ([]*scoring.Scorer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.runs[k]
	return s, ok
}

func (c *versionCache) put(k versionKey, s []*scoring.Scorer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs == nil || len(c.runs) >= maxCachedVersions {
		c.runs = map[versionKey][]*scoring.Scorer{}
	}
	c.runs[k] = s
}

// scorerAt returns question qi's scorer under a scoring version: the
// snapshot's for version 1, else the one the rescore's rules compile to
// (nil when they do not compile), with the snapshot to judge it with. A
// rescore adds the judges it names to the run's snapshot in PostgreSQL
// (CreateRescore); a worker that cached the snapshot before loads it again
// when the scorer names a judge it does not hold.
func (h *Handlers) scorerAt(ctx context.Context, snap *cachedSnapshot, qi, version int) (*cachedSnapshot, *scoring.Scorer, error) {
	if version <= 1 {
		return snap, snap.scorers[qi], nil
	}
	k := versionKey{snap.Run.ID, version}
	scorers, ok := h.versions.get(k)
	if !ok {
		res, err := h.store.GetRescore(ctx, snap.Run.ID, version)
		if err != nil {
			return snap, nil, err
		}
		// A version whose rules do not compile is cached as such: no
		// retry mends it.
		scorers, _ = compileRescore(snap, res)
		h.versions.put(k, scorers)
	}
	if scorers == nil {
		return snap, nil, nil
	}
	sc := scorers[qi]
	for _, c := range sc.Judges() {
		for _, id := range c.ModelIDs {
			if _, ok := snap.Judge(id); !ok {
				h.cache.drop(snap.Run.ID)
				fresh, err := h.cache.get(ctx, snap.Run.ID)
				return fresh, sc, err
			}
		}
	}
	return snap, sc, nil
}
