package run

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

func needsKey(id uuid.UUID) string { return runKey(id, "needs-judge") }
func judgedKey(id uuid.UUID, version int) string {
	return runKey(id, "judged:"+strconv.Itoa(version))
}

// answerKeys are answerScript's keys.
func answerKeys(id uuid.UUID) []string {
	return []string{doneKey(id), progressKey(id), SpendKey(id), needsKey(id)}
}

// judgeKeys are judgeScript's keys when it counts a unit in bitmap, one of
// the run's needs-judge or judged bitmaps.
func judgeKeys(id uuid.UUID, bitmap string) []string { return []string{bitmap, progressKey(id)} }

// JudgeState is what the tracker knows about a run's judging: units
// recorded (Done), succeeded units of judged questions (Needs), and how
// many of those have their verdict at the version counted (Judged).
type JudgeState struct {
	Done, Needs, Judged int
}

// Complete reports whether every unit is recorded and every unit that
// needs a verdict has one.
func (s JudgeState) Complete(total int) bool { return s.Done >= total && s.Judged >= s.Needs }

// judgeScript sets a unit's bit in KEYS[1] (ARGV[1]) and, when it was not
// set before, counts field ARGV[2] (and ARGV[3] when not empty) in the
// progress hash KEYS[2]. It returns the done, needs-judge and judged
// counters as they are afterwards, so that whichever of a run's last
// answer and its last verdict comes second sees the run complete.
var judgeScript = redis.NewScript(`
local old = redis.call('SETBIT', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
if old == 0 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  if ARGV[3] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[3], 1) end
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return redis.call('HMGET', KEYS[2], 'done', 'needs_judge', 'judged')
`)

// answerScript is recordScript and judgeScript's needs-judge count in one
// step, for a succeeded answer to a judged question: it adds the call's
// cost (ARGV[4]) to the run's spend, sets the unit's bit in the done
// bitmap (KEYS[1]) and, when it was not set before, counts the outcome;
// then sets its bit in the needs-judge bitmap (KEYS[4]) and, when that was
// not set before, counts it as waiting for a verdict. Being one script, no
// other task can see the unit answered but not yet waiting for its verdict,
// and the answer costs one round trip. It returns the done, needs-judge and
// judged counters as they are afterwards.
var answerScript = redis.NewScript(`
if ARGV[4] ~= '0' then
  redis.call('INCRBYFLOAT', KEYS[3], ARGV[4])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
if redis.call('SETBIT', KEYS[1], ARGV[1], 1) == 0 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  redis.call('HINCRBY', KEYS[2], 'done', 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
if redis.call('SETBIT', KEYS[4], ARGV[1], 1) == 0 then
  redis.call('HINCRBY', KEYS[2], 'needs_judge', 1)
end
redis.call('EXPIRE', KEYS[4], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return redis.call('HMGET', KEYS[2], 'done', 'needs_judge', 'judged')
`)

// RecordAnswer is RecordCall for a succeeded answer to a judged question:
// it counts unit idx of run id as recorded and as waiting for a verdict
// (each once, however often it is called), and adds the call's cost to the
// run's spend whether or not the unit had been recorded already.
func (t *Tracker) RecordAnswer(ctx context.Context, id uuid.UUID, idx int, costUSD float64) (JudgeState, error) {
	cost := "0"
	if costUSD > 0 {
		cost = strconv.FormatFloat(costUSD, 'g', -1, 64)
	}
	vals, err := answerScript.Run(ctx, t.rdb, answerKeys(id),
		idx, string(ExecSucceeded), int(progressTTL/time.Second), cost).Slice()
	if err != nil {
		return JudgeState{}, fmt.Errorf("record progress of run %s: %w", id, err)
	}
	return judgeState(vals), nil
}

// RecordJudged counts unit idx of run id as having its verdict at version
// (once); unscored counts it among the unscored too. Only the run's first
// scoring version is counted in the run's progress: a rescore keeps its
// own progress.
func (t *Tracker) RecordJudged(ctx context.Context, id uuid.UUID, idx, version int, unscored bool) (JudgeState, error) {
	extra := ""
	if unscored {
		extra = "unscored"
	}
	return t.judge(ctx, judgedKey(id, version), id, idx, "judged", extra)
}

// CheckJudged reads, in one round trip, whether unit idx of run id is
// counted judged at version and what the run has spent so far.
func (t *Tracker) CheckJudged(ctx context.Context, id uuid.UUID, idx, version int) (judged bool, spend float64, err error) {
	pipe := t.rdb.Pipeline()
	j := pipe.GetBit(ctx, judgedKey(id, version), int64(idx))
	s := pipe.Get(ctx, SpendKey(id))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return false, 0, fmt.Errorf("check judging of run %s unit %d: %w", id, idx, err)
	}
	if v, err := s.Float64(); err == nil {
		spend = v
	}
	return j.Val() == 1, spend, nil
}

func (t *Tracker) judge(ctx context.Context, key string, id uuid.UUID, idx int, field, extra string) (JudgeState, error) {
	vals, err := judgeScript.Run(ctx, t.rdb, judgeKeys(id, key), idx, field, extra, int(progressTTL/time.Second)).Slice()
	if err != nil {
		return JudgeState{}, fmt.Errorf("count judging of run %s: %w", id, err)
	}
	return judgeState(vals), nil
}

// JudgeState reads the run's judging counters.
func (t *Tracker) JudgeState(ctx context.Context, id uuid.UUID) (JudgeState, error) {
	vals, err := t.rdb.HMGet(ctx, progressKey(id), "done", "needs_judge", "judged").Result()
	if err != nil {
		return JudgeState{}, fmt.Errorf("read judging of run %s: %w", id, err)
	}
	return judgeState(vals), nil
}

// judgeState reads the done, needs-judge and judged counters, in that
// order, as Redis returned them; a missing counter is 0.
func judgeState(vals []any) JudgeState {
	var st JudgeState
	for i, dst := range []*int{&st.Done, &st.Needs, &st.Judged} {
		if i < len(vals) {
			if s, ok := vals[i].(string); ok {
				*dst, _ = strconv.Atoi(s)
			}
		}
	}
	return st
}
