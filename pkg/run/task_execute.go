package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/internal/asynqbatch"
	"github.com/sabe-dev/sabe/internal/tracing"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/resilience"
)

// TypeExecute calls a provider for one unit, scores the answer and records
// it.
const TypeExecute = "execution:run"

// executePayload carries ids only: the prompt, the key and the config stay
// in PostgreSQL and reach the worker through its snapshot cache.
type executePayload struct {
	RunID uuid.UUID `json:"run_id"`
	Unit  int       `json:"unit"`
	// Round is the retry round of a retried unit (NewRetryExecuteTask).
	Round int `json:"round,omitempty"`
	// Trace is the trace context of run:start's span (internal/tracing);
	// absent when tracing is off.
	Trace tracing.Carrier `json:"trace,omitempty"`
}

// NewExecuteTask builds the execution:run task for unit idx of a run, on
// the run's unit queue (see UnitQueue). Its id is derived from (run, unit),
// so enqueuing a unit twice is a no-op while its task exists. The task
// carries the trace of ctx's span, so a run's units are children of its
// run:start.
func NewExecuteTask(ctx context.Context, runID uuid.UUID, idx int, queue string) *asynq.Task {
	return executeTask(executePayload{RunID: runID, Unit: idx, Trace: tracing.Inject(ctx)}).Asynq(queue)
}

// executeTask is the execution:run task of p's unit, for NewExecuteTask,
// NewRetryExecuteTask and the fan-out's batches: a retried unit's id has
// its round after it ("exec:<run>:<unit>:r<round>").
func executeTask(p executePayload) asynqbatch.Task {
	payload, _ := json.Marshal(p)
	id := ExecuteTaskID(p.RunID, p.Unit)
	if p.Round > 0 {
		id += ":r" + itoa(p.Round)
	}
	return asynqbatch.Task{ID: id, Type: TypeExecute, Payload: payload,
		MaxRetry: 25, // the handler decides when to give up; see HandleExecute
		Timeout:  15 * time.Minute}
}

// ExecuteTaskID is the asynq task id of unit idx of a run.
func ExecuteTaskID(runID uuid.UUID, idx int) string {
	return "exec:" + runID.String() + ":" + itoa(idx)
}

// HandleExecute runs one unit. A unit is recorded exactly once whatever
// happens: the store ignores a second row for the same key, and the tracker
// counts a unit once. A provider may be called twice for one unit after a
// crash between the call and the record (at-least-once); it is never
// recorded twice, but both calls count against the run's spend.
//
// Before the call: a cancelled run records the unit cancelled; a run past
// its deadline or over its max_cost_usd records it skipped. A provider that
// must not be called now (quota pause, open circuit, a rate limit or the
// concurrency cap for longer than a short wait) hands the task back with a
// *resilience.WaitError, which IsFailure does not count as a failure and
// RetryDelay turns into the wait; when that wait ends after the run's
// deadline the unit is skipped at once instead, and when the provider's
// circuit has been open for longer than BreakerMaxWait it fails with the
// provider's last error.
//
// What no retry can mend fails the unit at once and blocks the provider
// (or model) for the rest of the run, so its other units fail without a
// call: a key the keyring cannot decrypt, a kind no client speaks, rejected
// credentials, an unknown model (see UnusableError); likewise a question
// whose scoring rule does not compile fails its units.
func (h *Handlers) HandleExecute(ctx context.Context, t *asynq.Task) error {
	var p executePayload
	if err := decode(t, &p); err != nil {
		return err
	}
	snap, err := h.cache.get(ctx, p.RunID)
	if err == nil && p.Round > snap.Run.RetryRound {
		// A retry round began after this worker cached the run finished.
		h.cache.drop(p.RunID)
		snap, err = h.cache.get(ctx, p.RunID)
	}
	if err != nil {
		return skipIfGone(fmt.Errorf("execute run %s unit %d: %w", p.RunID, p.Unit, err))
	}
	r := snap.Run
	if r.Status.Final() {
		return nil
	}
	if p.Unit < 0 || p.Unit >= snap.total() {
		return fmt.Errorf("execute run %s: unit %d out of range: %w", r.ID, p.Unit, asynq.SkipRetry)
	}
	u := UnitAt(p.Unit, len(snap.Questions), r.Samples)
	m, q := &snap.Models[u.Model], &snap.Questions[u.Question]
	st, err := h.tracker.Check(ctx, r.ID, p.Unit, providerScope(m.ProviderID), modelScope(m.ModelID))
	if err != nil {
		return err
	}
	if st.Recorded {
		return nil
	}
	e := &Execution{
		RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID,
		ModelID: m.ModelID, QuestionID: q.QuestionID, QuestionRevisionID: q.RevisionID, Sample: u.Sample,
		Category: q.Category, Attempts: attempt(ctx),
	}
	if st.Cancelled {
		e.Status, e.Error, e.FinishedAt = ExecCancelled, "run cancelled before this unit was called", h.cfg.Now().UTC()
		return h.record(ctx, snap, p.Unit, e)
	}
	if r.DeadlineAt != nil && !h.cfg.Now().Before(*r.DeadlineAt) {
		return h.skip(ctx, snap, p.Unit, e, SkipDeadline, "run deadline passed before this unit was called")
	}
	if r.MaxCostUSD != nil && st.Spend >= *r.MaxCostUSD {
		return h.skip(ctx, snap, p.Unit, e, SkipMaxCost,
			fmt.Sprintf("max_cost_usd %g reached (%.6f spent) before this unit was called", *r.MaxCostUSD, st.Spend))
	}
	if b := st.Blocked; b != nil {
		// An earlier unit found the provider or model unusable: neither
		// call it nor decrypt its key again.
		e.Status, e.Error, e.HTTPStatus = ExecFailed, b.Error, b.HTTPStatus
		return h.record(ctx, snap, p.Unit, e)
	}
	if err := snap.scoreErrs[u.Question]; err != nil {
		return h.unscorable(ctx, snap, p.Unit, e, err)
	}

	conn, err := h.conn(ctx, m.ProviderID)
	if ue := (*UnusableError)(nil); errors.As(err, &ue) {
		return h.unusable(ctx, snap, p.Unit, e, ue)
	}
	if err != nil {
		// The database, not the provider, failed: asynq retries the task.
		return err
	}
	client, ok := h.clients[conn.Kind]
	if !ok {
		return h.unusable(ctx, snap, p.Unit, e, &UnusableError{ProviderID: conn.ID, ProviderName: conn.Name,
			Reason: fmt.Sprintf("provider kind %q is not supported by this worker", conn.Kind)})
	}
	req := h.request(snap, conn, m, q, u.Sample)
	timeout := h.cfg.CallTimeout
	if r.DeadlineAt != nil {
		timeout = min(timeout, time.Until(*r.DeadlineAt))
	}
	pid := m.ProviderID.String()
	permit, err := h.guard.Acquire(ctx, resilience.Call{
		Provider: pid, Limits: fleetLimits(conn.Limits), Tokens: estimateTokens(req), Timeout: timeout,
	})
	if err != nil {
		return h.wait(ctx, snap, p.Unit, e, err)
	}
	callCtx, span := h.callSpan(ctx, conn, m, r.ID, p.Unit)
	resp, callErr := h.call(callCtx, client, req, r.DeadlineAt, e)
	endCallSpan(span, resp, callErr)
	permit.Report(breakerOutcome(callErr), errorText(callErr))
	h.metrics.Call(pid, callOutcome(callErr), e.FinishedAt.Sub(*e.StartedAt))
	if callErr == nil {
		// Added to the run's spend as the unit is recorded (see record).
		e.CostUSD = Cost(resp.InputTokens, resp.OutputTokens, m.InputCostPerMTok, m.OutputCostPerMTok)
		h.metrics.Spent(pid, e.CostUSD)
	}
	if callErr != nil {
		if ctx.Err() != nil {
			// Shutdown or task timeout: asynq re-queues the task; nothing is recorded.
			return callErr
		}
		if errors.Is(callErr, errRunDeadline) {
			return h.skip(ctx, snap, p.Unit, e, SkipDeadline, "run deadline reached during the call")
		}
		var pe *provider.Error
		if errors.As(callErr, &pe) && pe.Quota {
			return h.quota(ctx, snap, p.Unit, e, conn, pe)
		}
		if provider.IsRetryable(callErr) && e.Attempts <= h.cfg.MaxRetry {
			h.metrics.Retry(pid)
			return callErr
		}
		if ue := unusableAnswer(conn, m, pe); ue != nil {
			return h.unusable(ctx, snap, p.Unit, e, ue)
		}
		e.Status = ExecFailed
		e.Error = callErr.Error()
		if pe != nil {
			e.HTTPStatus = pe.StatusCode
			e.Error = pe.Message
		}
		return h.record(ctx, snap, p.Unit, e)
	}

	e.Status = ExecSucceeded
	e.Response = resp.Text
	e.InputTokens, e.OutputTokens = resp.InputTokens, resp.OutputTokens
	e.LatencyMs = ptr(ms(resp.Latency))
	e.TTFTMs = ptr(ms(resp.TTFT))
	if gen := resp.Latency - resp.TTFT; gen > 0 && resp.OutputTokens > 0 {
		e.OutputTokensPerS = ptr(float64(resp.OutputTokens) / gen.Seconds())
	}
	sc := snap.scorers[u.Question]
	if sc.NeedsJudge() {
		// The verdict comes from evaluation:judge, enqueued once the
		// answer is recorded: a judge outage never calls this model again.
		return h.recordForJudging(ctx, snap, p.Unit, e)
	}
	// Scoring runs inline and a regex cannot be interrupted: its cost is
	// bounded by the scorer's limits and measured per scorer here.
	scoreStart := time.Now()
	res := sc.Score(resp.Text)
	h.metrics.Scored(sc.Name(), time.Since(scoreStart), res.PrefixOnly)
	e.Evaluation = EvaluationOf(sc.Name(), 1, res)
	return h.record(ctx, snap, p.Unit, e)
}

// recordForJudging records a succeeded answer to a judged question
// without a verdict, counts it as waiting for one and enqueues its
// evaluation:judge task. A crash between the record and the enqueue is
// healed by the reconciler and by run:finalize, which enqueue the judge
// tasks of answers that have no verdict.
func (h *Handlers) recordForJudging(ctx context.Context, snap *cachedSnapshot, idx int, e *Execution) error {
	inserted, err := h.store.RecordExecution(ctx, e)
	if err != nil {
		return errors.Join(fmt.Errorf("record run %s unit %d: %w", e.RunID, idx, err), h.keepSpend(ctx, e))
	}
	st, err := h.tracker.RecordAnswer(ctx, e.RunID, idx, e.CostUSD)
	if err != nil {
		return errors.Join(err, h.keepSpend(ctx, e))
	}
	r := snap.Run
	version := max(r.ScoringVersion, 1)
	task := NewJudgeTask(r.ID, idx, version, UnitQueue(r))
	if inserted {
		// This call's answer is the stored one: the judge needs not
		// read it back. (A duplicate's answer may differ from it.)
		task = newAnsweredJudgeTask(r.ID, idx, version, UnitQueue(r), e.Response)
	}
	if err := Enqueue(ctx, h.queue, task); err != nil {
		return err
	}
	return h.finalizeIfComplete(ctx, snap, st)
}

// request builds the provider request for one unit, with the run's
// configuration and the model's request overrides.
func (h *Handlers) request(snap *cachedSnapshot, conn *ProviderConn, m *SnapshotModel, q *SnapshotQuestion, sample int) provider.Request {
	cfg := snap.Run.Config
	temp := cfg.Temperature
	seed := int64(sample)
	return provider.Request{
		BaseURL: conn.BaseURL, APIKey: conn.APIKey, Headers: conn.Headers,
		Model: m.ProviderModelID, System: cfg.SystemPrompt, Prompt: q.Prompt, Messages: q.Conversation(),
		Temperature: &temp, MaxTokens: cfg.MaxTokens, Seed: &seed,
		MaxTokensField: m.Overrides.MaxTokensField, OmitTemperature: m.Overrides.OmitTemperature, ExtraBody: m.Overrides.ExtraBody,
		IdleTimeout: h.cfg.IdleTimeout,
	}
}

// estimateTokens is what a call is charged against a tokens-per-minute
// limit before it goes out: its input estimated from the characters (four
// per token, as most tokenizers average) plus the whole max_tokens, which is
// how OpenAI's own limiter counts a request.
func estimateTokens(req provider.Request) int {
	return (req.InputChars()+3)/4 + req.MaxTokens
}

func fleetLimits(l catalog.ProviderLimits) resilience.Limits {
	return resilience.Limits{RequestsPerMinute: l.RequestsPerMinute, TokensPerMinute: l.TokensPerMinute, MaxConcurrency: l.MaxConcurrency}
}

// errRunDeadline is the cause of a call cut short by its run's deadline.
var errRunDeadline = errors.New("run deadline reached during the call")

// callGrace lets the client's own timeout, which reports a retryable
// provider error, fire before the context's backstop.
const callGrace = time.Second

// call sends req, cut short at the run's deadline. The client bounds the
// call by its own total and idle timeouts; the context here is a backstop
// for a client that overruns them.
func (h *Handlers) call(ctx context.Context, client provider.Client, req provider.Request, deadline *time.Time, e *Execution) (provider.Response, error) {
	started := time.Now().UTC()
	e.StartedAt = &started
	end := started.Add(h.cfg.CallTimeout + callGrace)
	var cause error = errCallOverrun
	if deadline != nil && deadline.Before(end) {
		end, cause = *deadline, errRunDeadline
	}
	callCtx, cancel := context.WithDeadlineCause(ctx, end, cause)
	defer cancel()
	resp, err := client.Complete(callCtx, req)
	e.FinishedAt = time.Now().UTC()
	if err == nil {
		return resp, nil
	}
	if ctx.Err() == nil && callCtx.Err() != nil {
		if errors.Is(context.Cause(callCtx), errRunDeadline) {
			return resp, fmt.Errorf("provider call: %w", errRunDeadline)
		}
		if !provider.IsRetryable(err) {
			return resp, &provider.Error{Retryable: true, Message: fmt.Sprintf("provider call timed out after %s", h.cfg.CallTimeout)}
		}
	}
	// Errors from the provider are scrubbed of the key and the header
	// values before they are logged or stored; some providers echo
	// fragments of a bad credential.
	return resp, scrubbed(err, req.Secrets())
}

var errCallOverrun = errors.New("provider call overran its timeout")

// breakerOutcome is what a call's result says about its provider's health:
// only retryable failures count against it. A quota answer, a request the
// provider rejected, or any other answer shows the provider is up; a call
// cut by the caller (shutdown, the run's deadline) shows nothing.
func breakerOutcome(err error) resilience.Outcome {
	var pe *provider.Error
	switch {
	case err == nil:
		return resilience.Succeeded
	case errors.As(err, &pe):
		if pe.Retryable && !pe.Quota {
			return resilience.Failed
		}
		return resilience.Succeeded
	}
	return resilience.Ignored
}

// callOutcome labels a call for the calls metric.
func callOutcome(err error) string {
	var pe *provider.Error
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, errRunDeadline):
		return "deadline"
	case errors.As(err, &pe):
		switch {
		case pe.Quota:
			return "quota"
		case pe.StatusCode == 429:
			return "rate_limited"
		case pe.StatusCode >= 500:
			return "server_error"
		case pe.StatusCode >= 400:
			return "client_error"
		case pe.Retryable:
			return "transport_error"
		}
		return "error"
	}
	return "cancelled"
}

// wait hands the task back until the provider may be called, or skips the
// unit when that is after the run's deadline, or fails it when the
// provider's circuit has been open longer than BreakerMaxWait. Errors
// other than a *resilience.WaitError are returned as they are.
func (h *Handlers) wait(ctx context.Context, snap *cachedSnapshot, idx int, e *Execution, err error) error {
	if tl := (*resilience.TooLargeError)(nil); errors.As(err, &tl) {
		// No minute of the provider's token limit admits the call: the
		// unit fails now, saying why, rather than its task being archived
		// for the reconciler to find.
		e.Status, e.Error, e.FinishedAt = ExecFailed, tl.Error(), h.cfg.Now().UTC()
		return h.record(ctx, snap, idx, e)
	}
	var we *resilience.WaitError
	if !errors.As(err, &we) {
		return err
	}
	if d := snap.Run.DeadlineAt; d != nil && we.Until.After(*d) {
		return h.skip(ctx, snap, idx, e, SkipDeadline,
			fmt.Sprintf("run deadline reached while waiting for the provider (%s)", we.Reason))
	}
	if now := h.cfg.Now(); we.Reason == resilience.ReasonOpen && !we.OpenSince.IsZero() && now.Sub(we.OpenSince) >= h.cfg.BreakerMaxWait {
		return h.giveUp(ctx, snap, idx, e, we)
	}
	h.metrics.Rescheduled(we.Provider, we.Reason)
	return fmt.Errorf("execute run %s unit %d: %w", e.RunID, idx, we)
}

// quota pauses the provider fleet-wide until its quota resets (the time it
// gave, else the provider's setting, else the worker's default) and puts
// the unit back to wait for it without failing it.
func (h *Handlers) quota(ctx context.Context, snap *cachedSnapshot, idx int, e *Execution, conn *ProviderConn, pe *provider.Error) error {
	we, err := h.pauseProvider(ctx, conn, pe)
	if err != nil {
		return err
	}
	return h.wait(ctx, snap, idx, e, we)
}

// pauseProvider pauses the provider's calls fleet-wide until its quota
// resets (the time it gave, else the provider's setting, else the
// worker's default), and returns the wait that hands a task back until
// then.
func (h *Handlers) pauseProvider(ctx context.Context, conn *ProviderConn, pe *provider.Error) (*resilience.WaitError, error) {
	until := pe.ResetAt
	if until.IsZero() || !until.After(h.cfg.Now()) {
		pause := h.cfg.QuotaPause
		if s := conn.Limits.QuotaPauseSeconds; s > 0 {
			pause = time.Duration(s) * time.Second
		}
		until = h.cfg.Now().Add(pause)
	}
	pid := conn.ID.String()
	if err := h.guard.Pause(ctx, pid, until); err != nil {
		return nil, err
	}
	return &resilience.WaitError{Provider: pid, Reason: resilience.ReasonPaused, Until: until}, nil
}

// skip records a unit that was not called (or was cut) because the run hit
// its deadline or its spend cap.
func (h *Handlers) skip(ctx context.Context, snap *cachedSnapshot, idx int, e *Execution, reason SkipReason, msg string) error {
	e.Status, e.Error = ExecSkipped, msg
	e.FinishedAt = h.cfg.Now().UTC()
	if _, err := h.store.RecordExecution(ctx, e); err != nil {
		return fmt.Errorf("record run %s unit %d: %w", e.RunID, idx, err)
	}
	done, first, err := h.tracker.RecordSkip(ctx, e.RunID, idx, reason)
	if err != nil {
		return err
	}
	if first {
		h.metrics.Skipped(string(reason))
	}
	return h.finalizeIfDone(ctx, snap, e.RunID, done)
}

func scrubbed(err error, secrets []string) error {
	var pe *provider.Error
	if errors.As(err, &pe) {
		c := *pe
		c.Message = provider.Scrub(pe.Message, secrets...)
		return &c
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return errors.New(provider.Scrub(err.Error(), secrets...))
}

// record stores the execution, counts it with its call's cost, and enqueues
// finalization when it was the run's last unit.
func (h *Handlers) record(ctx context.Context, snap *cachedSnapshot, idx int, e *Execution) error {
	if e.FinishedAt.IsZero() {
		e.FinishedAt = h.cfg.Now().UTC()
	}
	if _, err := h.store.RecordExecution(ctx, e); err != nil {
		return errors.Join(fmt.Errorf("record run %s unit %d: %w", e.RunID, idx, err), h.keepSpend(ctx, e))
	}
	done, _, err := h.tracker.RecordCall(ctx, e.RunID, idx, e.Status, e.CostUSD)
	if err != nil {
		// The script may have run with its answer lost: the spend is then
		// counted twice, which errs on the side of the run's max_cost_usd.
		return errors.Join(err, h.keepSpend(ctx, e))
	}
	return h.finalizeIfDone(ctx, snap, e.RunID, done)
}

// keepSpend adds the cost of a call whose unit could not be recorded to the
// run's spend, even while the task is being cut short (shutdown): the call
// was paid for, and the retry will pay again.
func (h *Handlers) keepSpend(ctx context.Context, e *Execution) error {
	if e.CostUSD <= 0 {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return h.tracker.AddSpend(sctx, e.RunID, e.CostUSD)
}

func (h *Handlers) finalizeIfDone(ctx context.Context, snap *cachedSnapshot, id uuid.UUID, done int) error {
	if done < snap.total() {
		return nil
	}
	if len(snap.judged) > 0 {
		// Answers may still wait for their verdicts: the last of them
		// enqueues finalization (see finalizeIfComplete).
		st, err := h.tracker.JudgeState(ctx, id)
		if err != nil {
			return err
		}
		return h.finalizeIfComplete(ctx, snap, st)
	}
	return Enqueue(ctx, h.queue, NewFinalizeRoundTask(ctx, id, snap.Run.RetryRound))
}

// finalizeIfComplete enqueues finalization once every unit is recorded
// and every answer that needs a verdict has one. run:finalize checks the
// same against PostgreSQL, so a count Redis lost delays it, never skips it.
func (h *Handlers) finalizeIfComplete(ctx context.Context, snap *cachedSnapshot, st JudgeState) error {
	if st.Complete(snap.total()) {
		return Enqueue(ctx, h.queue, NewFinalizeRoundTask(ctx, snap.Run.ID, snap.Run.RetryRound))
	}
	return nil
}

// conn returns the provider's endpoint and decrypted key, cached so that a
// run's units do not each decrypt the key. A change notice drops the entry
// at once (see Start); the expiry covers a lost notice.
func (h *Handlers) conn(ctx context.Context, id uuid.UUID) (*ProviderConn, error) {
	h.connMu.Lock()
	c, ok := h.conns[id]
	h.connMu.Unlock()
	if ok && h.cfg.Now().Before(c.expires) {
		return c.conn, nil
	}
	conn, err := h.store.ProviderConn(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load provider %s: %w", id, err)
	}
	h.connMu.Lock()
	h.conns[id] = cachedConn{conn: conn, expires: h.cfg.Now().Add(connTTL)}
	h.connMu.Unlock()
	return conn, nil
}

// attempt is the 1-based attempt number of the running task. Waits handed
// back with a *resilience.WaitError do not count: asynq counts only
// failures.
func attempt(ctx context.Context) int {
	n, _ := asynq.GetRetryCount(ctx)
	return n + 1
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ptr[T any](v T) *T { return &v }
