package run

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"

	"github.com/sabe-dev/sabe/internal/asynqbatch"
	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/text"
	"github.com/sabe-dev/sabe/pkg/judge"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/resilience"
)

// TypeJudge asks the judges of a judged question for their verdict on one
// recorded answer and stores the unit's evaluation.
const TypeJudge = "evaluation:judge"

// judgePayload carries ids, like executePayload, and, when execution:run
// enqueues it right after recording the answer, the answer itself (when it
// is short), which saves the judge a read of the execution row.
type judgePayload struct {
	RunID   uuid.UUID `json:"run_id"`
	Unit    int       `json:"unit"`
	Version int       `json:"version"`
	// Answer is the recorded response of the unit, set only by the task
	// that inserted the row (so it is the stored one) and only when it is
	// at most maxCarriedAnswer bytes; nil otherwise.
	Answer *string `json:"answer,omitempty"`
}

// maxCarriedAnswer bounds the answer a judge task carries in its payload
// (kept in Redis while the task waits); longer ones are read back from
// PostgreSQL.
const maxCarriedAnswer = 8 << 10

// NewJudgeTask builds the evaluation:judge task of unit idx of a run at a
// scoring version, on queue (the run's unit queue). Its id is derived from
// (run, unit, version), so it is enqueued once while it exists.
func NewJudgeTask(runID uuid.UUID, idx, version int, queue string) *asynq.Task {
	return newJudgeTask(judgePayload{RunID: runID, Unit: idx, Version: version}, queue)
}

// newAnsweredJudgeTask is NewJudgeTask carrying the answer just recorded
// (by this very call: the stored one), when it is short enough.
func newAnsweredJudgeTask(runID uuid.UUID, idx, version int, queue, answer string) *asynq.Task {
	p := judgePayload{RunID: runID, Unit: idx, Version: version}
	if len(answer) <= maxCarriedAnswer {
		p.Answer = &answer
	}
	return newJudgeTask(p, queue)
}

func newJudgeTask(p judgePayload, queue string) *asynq.Task { return judgeTask(p).Asynq(queue) }

// judgeTask is the evaluation:judge task of p's unit, for newJudgeTask and
// the batches that heal lost judgings.
func judgeTask(p judgePayload) asynqbatch.Task {
	payload, _ := json.Marshal(p)
	return asynqbatch.Task{ID: JudgeTaskID(p.RunID, p.Unit, p.Version), Type: TypeJudge, Payload: payload,
		MaxRetry: 25, // the handler decides when a judge has failed for good
		Timeout:  15 * time.Minute}
}

// JudgeTaskID is the asynq task id of the judging of unit idx of a run at
// a scoring version.
func JudgeTaskID(runID uuid.UUID, idx, version int) string {
	return "judge:" + runID.String() + ":" + itoa(idx) + ":" + itoa(version)
}

// judgeCacheTTL bounds how long the verdicts of a unit's judges that
// already answered are kept for a retry of its task.
const judgeCacheTTL = time.Hour

func judgeCacheKey(runID uuid.UUID, idx, version int) string {
	return runKey(runID, "judge-cache:"+itoa(idx)+":"+itoa(version))
}

// HandleJudge judges one recorded answer. Exactly one evaluation is stored
// per (unit, scorer, version), whatever crashes or duplicate tasks happen
// (the store ignores a second one); a judge may be called again after a
// crash, and each call counts against the run's spend.
//
// Every judge of the question (each of a panel) is called through its
// provider's Guard, as execution:run calls tested models: a wait hands the
// task back without using a retry, a retryable error retries the task, and
// a judge that still fails after MaxRetry attempts (or whose circuit stays
// open longer than BreakerMaxWait) gives no verdict (judge_error). Judges
// that answered are cached in Redis for an hour, so a retry calls only the
// ones that did not. A judge without structured output is asked for JSON
// in text and, when its reply cannot be parsed, asked once more. A verdict
// that still cannot be parsed leaves that judge without a verdict
// (judge_parse_failure): never a pass, a fail or a zero. Judging that would
// start with the run's max_cost_usd reached leaves the unit unscored
// (judge_skipped_max_cost). The judge's tokens, cost and latency go to the
// evaluation, never to the execution, and its cost to the run's spend.
func (h *Handlers) HandleJudge(ctx context.Context, t *asynq.Task) error {
	var p judgePayload
	if err := decode(t, &p); err != nil {
		return err
	}
	snap, err := h.cache.get(ctx, p.RunID)
	if err != nil {
		return skipIfGone(fmt.Errorf("judge run %s unit %d: %w", p.RunID, p.Unit, err))
	}
	r := snap.Run
	if p.Unit < 0 || p.Unit >= snap.total() {
		return fmt.Errorf("judge run %s: unit %d out of range: %w", r.ID, p.Unit, asynq.SkipRetry)
	}
	u := UnitAt(p.Unit, len(snap.Questions), r.Samples)
	m, q := &snap.Models[u.Model], &snap.Questions[u.Question]
	version := max(p.Version, 1)
	// A rescore's version judges with its own rules (task_rescore.go).
	snap, sc, err := h.scorerAt(ctx, snap, u.Question, version)
	if err != nil {
		return skipIfGone(fmt.Errorf("judge run %s unit %d: %w", r.ID, p.Unit, err))
	}
	if sc == nil || !sc.NeedsJudge() {
		return fmt.Errorf("judge run %s unit %d: question %s is not judged: %w", r.ID, p.Unit, q.QuestionID, asynq.SkipRetry)
	}
	done, spend, err := h.tracker.CheckJudged(ctx, r.ID, p.Unit, version)
	if err != nil {
		return err
	}
	if done {
		return h.judgedFinalize(ctx, snap, version, nil)
	}
	k := UnitKey{ModelID: m.ModelID, QuestionID: q.QuestionID, Sample: u.Sample}
	ans, err := h.answer(ctx, r, k, p)
	if err != nil {
		return fmt.Errorf("judge run %s unit %d: %w", r.ID, p.Unit, err)
	}
	if ans.Status != ExecSucceeded {
		return nil
	}

	configs := sc.Judges()
	outcomes := make([]judge.Outcome, len(configs))
	overCap := r.MaxCostUSD != nil && spend >= *r.MaxCostUSD
	calls := 0
	for _, c := range configs {
		calls += len(c.ModelIDs)
	}
	// A lone judge has nothing to keep for a retry: only panels cache.
	cache := &judgeCache{h: h, key: judgeCacheKey(r.ID, p.Unit, version), off: calls < 2}
	for i, c := range configs {
		in, ok := sc.JudgeInput(i, q.QuestionText(), ans.Response)
		if !ok {
			// Nothing to judge (the extract pattern found nothing): the
			// assertion fails without a judge.
			outcomes[i] = judge.Outcome{Scored: true}
			continue
		}
		results := make([]judge.Result, len(c.ModelIDs))
		g, gctx := errgroup.WithContext(ctx)
		for j, id := range c.ModelIDs {
			g.Go(func() error {
				res, err := h.judgeOnce(gctx, snap, cache, i, c, in, id, overCap)
				results[j] = res
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return fmt.Errorf("judge run %s unit %d: %w", r.ID, p.Unit, err)
		}
		outcomes[i] = judge.Aggregate(c, sc.Threshold(i), results)
	}
	res := sc.ScoreJudged(ans.Response, outcomes)
	ev := EvaluationOf(sc.Name(), version, res)
	if overCap && res.Unscored {
		ev.Reason = judge.ReasonSkippedMaxCost
	}
	if _, err := h.store.RecordEvaluation(ctx, r, k, ev); err != nil {
		return fmt.Errorf("record verdict of run %s unit %d: %w", r.ID, p.Unit, err)
	}
	st, err := h.tracker.RecordJudged(ctx, r.ID, p.Unit, version, ev.Status == EvalUnscored)
	if err != nil {
		return err
	}
	cache.forget(ctx)
	return h.judgedFinalize(ctx, snap, version, &st)
}

// answer is the recorded answer of unit k: the one p carries, else the
// stored one. A unit without an execution cannot be judged (SkipRetry).
func (h *Handlers) answer(ctx context.Context, r *Run, k UnitKey, p judgePayload) (*Execution, error) {
	if p.Answer != nil {
		return &Execution{RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: k.ModelID,
			QuestionID: k.QuestionID, Sample: k.Sample, Status: ExecSucceeded, Response: *p.Answer}, nil
	}
	ans, err := h.store.Answer(ctx, r, k)
	if fault.KindOf(err) == fault.KindNotFound {
		return nil, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return ans, err
}

// judgedFinalize enqueues the run's finalization when its judging of the
// run's own scoring version completed it. A rescore (a later version)
// finishes through its own task.
func (h *Handlers) judgedFinalize(ctx context.Context, snap *cachedSnapshot, version int, st *JudgeState) error {
	if snap.Run.Status.Final() {
		// A retry round may have reopened the run since this worker
		// cached it finished (task_retry.go).
		var err error
		if snap, err = h.reopened(ctx, snap, st); snap == nil || err != nil {
			return err
		}
	}
	if version != max(snap.Run.ScoringVersion, 1) || snap.Run.Status.Final() {
		return nil
	}
	if st == nil {
		s, err := h.tracker.JudgeState(ctx, snap.Run.ID)
		if err != nil {
			return err
		}
		st = &s
	}
	return h.finalizeIfComplete(ctx, snap, *st)
}

// judgeOnce is one judge's result on one unit: from the cache when it
// answered before, else from a call. It returns an error only when the
// task must come back (a wait, a retryable failure with retries left, the
// database or Redis failing).
func (h *Handlers) judgeOnce(ctx context.Context, snap *cachedSnapshot, cache *judgeCache, i int, c judge.Config, in judge.Input, id uuid.UUID, overCap bool) (judge.Result, error) {
	field := strconv.Itoa(i) + ":" + id.String()
	if res, ok := cache.get(ctx, field); ok {
		return res, nil
	}
	res := judge.Result{ModelID: id, Attempts: attempt(ctx)}
	jm, ok := snap.Judge(id)
	if !ok {
		res.Reason, res.Error = judge.ReasonError, "judge model is not part of the run's snapshot"
		return res, nil
	}
	res.ModelName = jm.Name
	if overCap {
		res.Reason, res.Error = judge.ReasonSkippedMaxCost, fmt.Sprintf("max_cost_usd %g reached before judging", *snap.Run.MaxCostUSD)
		return res, nil
	}
	res, err := h.callJudge(ctx, snap, jm, c, in, res)
	if err != nil {
		return res, err
	}
	cache.put(ctx, field, res)
	return res, nil
}

// callJudge asks judge model jm for its verdict, with one repair turn when
// it answered in text that does not parse.
func (h *Handlers) callJudge(ctx context.Context, snap *cachedSnapshot, jm *SnapshotModel, c judge.Config, in judge.Input, res judge.Result) (judge.Result, error) {
	conn, err := h.conn(ctx, jm.ProviderID)
	if ue := (*UnusableError)(nil); errors.As(err, &ue) {
		res.Reason, res.Error = judge.ReasonError, ue.Error()
		return res, nil
	}
	if err != nil {
		return res, err
	}
	client, ok := h.clients[conn.Kind]
	if !ok {
		res.Reason, res.Error = judge.ReasonError, fmt.Sprintf("provider kind %q is not supported by this worker", conn.Kind)
		return res, nil
	}
	structured := jm.Overrides.SupportsStructuredOutput()
	pr := judge.BuildPrompt(c, in, structured)
	zero := 0.0
	req := provider.Request{
		BaseURL: conn.BaseURL, APIKey: conn.APIKey, Headers: conn.Headers, Model: jm.ProviderModelID,
		System: pr.System, Messages: []provider.Message{{Role: provider.RoleUser, Content: pr.User}},
		Temperature: &zero, MaxTokens: judgeMaxTokens,
		MaxTokensField: jm.Overrides.MaxTokensField, OmitTemperature: jm.Overrides.OmitTemperature, ExtraBody: jm.Overrides.ExtraBody,
		IdleTimeout: h.cfg.IdleTimeout,
	}
	if structured {
		req.Output = &provider.OutputSchema{Name: pr.SchemaName, Schema: pr.Schema}
	}
	resp, err := h.guardedJudgeCall(ctx, snap, conn, jm, client, req, &res)
	if err != nil || res.Reason != "" {
		return res, err
	}
	v, perr := judge.Parse(c, resp.Text)
	if perr != nil && !structured && resp.Refusal == "" {
		req.Messages = append(req.Messages,
			provider.Message{Role: provider.RoleAssistant, Content: resp.Text},
			provider.Message{Role: provider.RoleUser, Content: judge.RepairPrompt(c)})
		if resp, err = h.guardedJudgeCall(ctx, snap, conn, jm, client, req, &res); err != nil || res.Reason != "" {
			return res, err
		}
		v, perr = judge.Parse(c, resp.Text)
	}
	switch {
	case resp.Refusal != "":
		res.Reason, res.Error = judge.ReasonRefused, text.Clip(resp.Refusal, 200)
	case perr != nil:
		res.Reason, res.Error = judge.ReasonParseFailure, text.Clip(perr.Error(), 200)
	default:
		res.Verdict = &v
	}
	h.metrics.Judged(conn.ID.String(), cmp.Or(res.Reason, "verdict"), res.CostUSD)
	return res, nil
}

// judgeMaxTokens bounds a verdict: reasoning and a label fit well within.
const judgeMaxTokens = 1024

// guardedJudgeCall makes one judge call through its provider's Guard and
// adds its tokens, cost and latency to res and its cost to the run's spend
// at once (the call was paid for whatever happens next). A failure for
// good sets res.Reason; an error means the task must come back.
func (h *Handlers) guardedJudgeCall(ctx context.Context, snap *cachedSnapshot, conn *ProviderConn, jm *SnapshotModel, client provider.Client, req provider.Request, res *judge.Result) (provider.Response, error) {
	pid := conn.ID.String()
	permit, err := h.guard.Acquire(ctx, resilience.Call{
		Provider: pid, Limits: fleetLimits(conn.Limits), Tokens: estimateTokens(req), Timeout: h.cfg.CallTimeout,
	})
	if err != nil {
		if tl := (*resilience.TooLargeError)(nil); errors.As(err, &tl) {
			// No minute of the judge's token limit admits the call.
			res.Reason, res.Error = judge.ReasonError, text.Clip(tl.Error(), 200)
			return provider.Response{}, nil
		}
		var we *resilience.WaitError
		if !errors.As(err, &we) {
			return provider.Response{}, err
		}
		if now := h.cfg.Now(); we.Reason == resilience.ReasonOpen && !we.OpenSince.IsZero() && now.Sub(we.OpenSince) >= h.cfg.BreakerMaxWait {
			res.Reason, res.Error = judge.ReasonError, text.Clip(fmt.Sprintf("judge provider unavailable: %s", we.Error()), 200)
			return provider.Response{}, nil
		}
		h.metrics.Rescheduled(we.Provider, we.Reason)
		return provider.Response{}, we
	}
	var e Execution
	resp, callErr := h.call(ctx, client, req, nil, &e)
	permit.Report(breakerOutcome(callErr), errorText(callErr))
	h.metrics.Call(pid, callOutcome(callErr), e.FinishedAt.Sub(*e.StartedAt))
	if callErr == nil {
		cost := Cost(resp.InputTokens, resp.OutputTokens, jm.InputCostPerMTok, jm.OutputCostPerMTok)
		res.InputTokens += resp.InputTokens
		res.OutputTokens += resp.OutputTokens
		res.CostUSD += cost
		res.LatencyMs += ms(resp.Latency)
		if cost > 0 {
			if err := h.keepSpend(ctx, &Execution{RunID: snap.Run.ID, CostUSD: cost}); err != nil {
				return resp, err
			}
		}
		return resp, nil
	}
	if ctx.Err() != nil {
		return resp, callErr
	}
	var pe *provider.Error
	if errors.As(callErr, &pe) && pe.Quota {
		we, err := h.pauseProvider(ctx, conn, pe)
		if err != nil {
			return resp, err
		}
		return resp, we
	}
	if provider.IsRetryable(callErr) && attempt(ctx) <= h.cfg.MaxRetry {
		h.metrics.Retry(pid)
		return resp, callErr
	}
	res.Reason, res.Error = judge.ReasonError, text.Clip(callErr.Error(), 200)
	if pe != nil {
		res.Error = text.Clip(pe.Message, 200)
	}
	return resp, nil
}

// judgeCache keeps, in Redis, the results of the judges of one unit that
// have answered, so that a retry after another judge's failure does not
// call them again (nor pay for them twice).
type judgeCache struct {
	h   *Handlers
	key string
	off bool
	mu  sync.Mutex
}

func (c *judgeCache) get(ctx context.Context, field string) (judge.Result, bool) {
	if c.off {
		return judge.Result{}, false
	}
	s, err := c.h.rdb.HGet(ctx, c.key, field).Result()
	if err != nil {
		return judge.Result{}, false
	}
	var res judge.Result
	if json.Unmarshal([]byte(s), &res) != nil {
		return judge.Result{}, false
	}
	return res, true
}

func (c *judgeCache) put(ctx context.Context, field string, res judge.Result) {
	if c.off {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, _ := json.Marshal(res)
	pipe := c.h.rdb.TxPipeline()
	pipe.HSet(ctx, c.key, field, b)
	pipe.Expire(ctx, c.key, judgeCacheTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		c.h.log.WarnContext(ctx, "cache judge result", "err", err)
	}
}

func (c *judgeCache) forget(ctx context.Context) {
	if c.off {
		return
	}
	_ = c.h.rdb.Del(ctx, c.key).Err()
}
