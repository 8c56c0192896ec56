package run

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/sabe-dev/sabe/pkg/scoring"
)

// cachedSnapshot is a run's snapshot with its scorers compiled, held by a
// worker while it executes the run's units.
type cachedSnapshot struct {
	*Snapshot
	scorers []*scoring.Scorer
	// scoreErrs holds, per question, why its scoring rule does not
	// compile (a rule stored before validation tightened): its units fail
	// without a call, and the run's other questions go on.
	scoreErrs []error
	modelPos  map[uuid.UUID]int
	qPos      map[uuid.UUID]int
	// judged lists the questions whose scorer needs a judge.
	judged []uuid.UUID
	used   time.Time
}

func (s *cachedSnapshot) total() int { return len(s.Models) * len(s.Questions) * s.Run.Samples }

// index returns the unit index of a recorded unit.
func (s *cachedSnapshot) index(k UnitKey) (int, bool) {
	m, ok := s.modelPos[k.ModelID]
	if !ok {
		return 0, false
	}
	q, ok := s.qPos[k.QuestionID]
	if !ok || k.Sample < 0 || k.Sample >= s.Run.Samples {
		return 0, false
	}
	return UnitIndex(Unit{Model: m, Question: q, Sample: k.Sample}, len(s.Questions), s.Run.Samples), true
}

// snapshotCache loads each run's snapshot once per worker process, however
// many units of it run at once, and keeps the most recently used ones.
type snapshotCache struct {
	store Store
	max   int
	group singleflight.Group

	mu   sync.Mutex
	runs map[uuid.UUID]*cachedSnapshot
}

func newSnapshotCache(store Store, max int) *snapshotCache {
	return &snapshotCache{store: store, max: max, runs: map[uuid.UUID]*cachedSnapshot{}}
}

func (c *snapshotCache) get(ctx context.Context, id uuid.UUID) (*cachedSnapshot, error) {
	c.mu.Lock()
	s, ok := c.runs[id]
	if ok {
		s.used = time.Now()
	}
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	v, err, _ := c.group.Do(id.String(), func() (any, error) {
		snap, err := c.store.LoadSnapshot(ctx, id)
		if err != nil {
			return nil, err
		}
		s, err := compileSnapshot(snap)
		if err != nil {
			return nil, err
		}
		c.put(id, s)
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*cachedSnapshot), nil
}

// compileSnapshot compiles the run's scorers. A rule that does not compile
// is kept as that question's error rather than failing the snapshot: no
// retry would mend it, and failing the whole snapshot kept run:start and
// every unit retrying it.
func compileSnapshot(snap *Snapshot) (*cachedSnapshot, error) {
	s := &cachedSnapshot{
		Snapshot: snap, scorers: make([]*scoring.Scorer, len(snap.Questions)), scoreErrs: make([]error, len(snap.Questions)),
		modelPos: make(map[uuid.UUID]int, len(snap.Models)), qPos: make(map[uuid.UUID]int, len(snap.Questions)),
		used: time.Now(),
	}
	for i, m := range snap.Models {
		s.modelPos[m.ModelID] = i
	}
	for i, q := range snap.Questions {
		s.qPos[q.QuestionID] = i
		// A question without a rule of its own is scored by the
		// benchmark's default, and judge rules that name no judge use the
		// benchmark's judges.
		cfg := snap.Run.Config
		rule := q.Scoring.WithDefaults(cfg.Scoring, cfg.JudgeModelIDs)
		sc, err := scoring.Compile(rule, scoring.QuestionRef{Expected: q.ExpectedAnswer, Choices: q.Choices})
		if err != nil {
			s.scoreErrs[i] = fmt.Errorf("question %s revision %d: %w", q.QuestionID, q.Revision, err)
			continue
		}
		s.scorers[i] = sc
		if sc.NeedsJudge() {
			s.judged = append(s.judged, q.QuestionID)
		}
	}
	return s, nil
}

func (c *snapshotCache) put(id uuid.UUID, s *cachedSnapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runs[id] = s
	for len(c.runs) > c.max {
		var oldest uuid.UUID
		var at time.Time
		for k, v := range c.runs {
			if at.IsZero() || v.used.Before(at) {
				oldest, at = k, v.used
			}
		}
		delete(c.runs, oldest)
	}
}

func (c *snapshotCache) drop(id uuid.UUID) {
	c.mu.Lock()
	delete(c.runs, id)
	c.mu.Unlock()
}

// JudgedQuestions returns the questions of a run whose units get their
// verdict from evaluation:judge (their effective rule needs a judge), for
// the reconciler, which enqueues the judge tasks of answers left without
// one.
func JudgedQuestions(snap *Snapshot) []uuid.UUID {
	s, _ := compileSnapshot(snap)
	return s.judged
}

// UnitIndexOf returns the unit index of a recorded unit of the run.
func UnitIndexOf(snap *Snapshot, k UnitKey) (int, bool) {
	s, _ := compileSnapshot(snap)
	return s.index(k)
}
