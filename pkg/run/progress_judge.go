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

func needsKey(id uuid.UUID) string { return "sabe:run:" + id.String() + ":needs-judge" }
func judgedKey(id uuid.UUID, version int) string {
	return "sabe:run:" + id.String() + ":judged:" + strconv.Itoa(version)
}

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

// NeedsJudgment counts unit idx of run id, just recorded as succeeded, as
// waiting for a verdict (once, however often it is called).
func (t *Tracker) NeedsJudgment(ctx context.Context, id uuid.UUID, idx int) (JudgeState, error) {
	return t.judge(ctx, needsKey(id), id, idx, "needs_judge", "")
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
	vals, err := judgeScript.Run(ctx, t.rdb, []string{key, progressKey(id)}, idx, field, extra, int(progressTTL/time.Second)).Slice()
	if err != nil {
		return JudgeState{}, fmt.Errorf("count judging of run %s: %w", id, err)
	}
	var st JudgeState
	for i, dst := range []*int{&st.Done, &st.Needs, &st.Judged} {
		if i < len(vals) {
			if s, ok := vals[i].(string); ok {
				*dst, _ = strconv.Atoi(s)
			}
		}
	}
	return st, nil
}

// JudgeState reads the run's judging counters.
func (t *Tracker) JudgeState(ctx context.Context, id uuid.UUID) (JudgeState, error) {
	vals, err := t.rdb.HMGet(ctx, progressKey(id), "done", "needs_judge", "judged").Result()
	if err != nil {
		return JudgeState{}, fmt.Errorf("read judging of run %s: %w", id, err)
	}
	var st JudgeState
	for i, dst := range []*int{&st.Done, &st.Needs, &st.Judged} {
		if s, ok := vals[i].(string); ok {
			*dst, _ = strconv.Atoi(s)
		}
	}
	return st, nil
}
