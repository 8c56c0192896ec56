package store

import (
	"context"
	"encoding/base64"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

type resultCursor struct {
	M uuid.UUID `json:"m"`
	Q uuid.UUID `json:"q"`
	S int32     `json:"s"`
}

// beforeAllResults is a key before every result (samples count from 0),
// where the first page starts.
var beforeAllResults = resultCursor{M: uuid.Nil, Q: uuid.Nil, S: -1}

// ResultCursor returns the cursor of the page that follows res, for a
// caller that ends a page of Results earlier than the store did (the API
// does when the encoded page passes MaxPageBytes).
func ResultCursor(res *run.Result) string {
	b, _ := json.Marshal(resultCursor{M: res.ModelID, Q: res.QuestionID, S: int32(res.Sample)})
	return base64.RawURLEncoding.EncodeToString(b)
}

// resultOverhead is what a result weighs in a page besides its response
// and error: ids, figures, timestamps, the prompt excerpt (at most 400
// bytes) and the evaluation detail (at most 200 bytes).
const resultOverhead = 1 << 10

// ResultFilter narrows Results; a nil field does not.
type ResultFilter struct {
	ModelID *uuid.UUID
	// QuestionID keeps one question's results: every model's answers to
	// it, side by side.
	QuestionID *uuid.UUID
	Status     *run.ExecutionStatus
}

// Results lists a run's executions with their evaluations, ordered by
// model, question and sample, narrowed by f. The filters only drop rows
// from that order, so the keyset cursor (model, question, sample) stays
// valid under them. A page holds at most limit results and about
// MaxPageBytes of text: their sizes are read first, so the text of
// results that do not fit is never fetched.
func (s *Store) Results(ctx context.Context, r *run.Run, f ResultFilter, limit int, cursor string) (Page[run.Result], error) {
	var after *resultCursor
	if cursor != "" {
		var c resultCursor
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || json.Unmarshal(b, &c) != nil {
			return Page[run.Result]{}, fault.BadRequest("cursor", "invalid cursor")
		}
		after = &c
	}
	items, more, err := s.resultBatch(ctx, r, f, after, pageSize(limit), MaxPageBytes)
	if err != nil {
		return Page[run.Result]{}, err
	}
	p := Page[run.Result]{Items: items}
	if more && len(items) > 0 {
		p.Next = ResultCursor(&items[len(items)-1])
	}
	return p, nil
}

// resultBatch reads the results after the key after (nil: from the
// start), at most lim of them and about maxBytes of text, and says
// whether more follow.
func (s *Store) resultBatch(ctx context.Context, r *run.Run, f ResultFilter, after *resultCursor, lim int32, maxBytes int64) ([]run.Result, bool, error) {
	var status *string
	if f.Status != nil {
		st := string(*f.Status)
		status = &st
	}
	if after == nil {
		after = &beforeAllResults
	}
	sizeArg := dbsqlc.ListRunResultSizesParams{
		RunCreatedAt: r.CreatedAt, RunID: r.ID, ModelID: f.ModelID, QuestionID: f.QuestionID, Status: status, Lim: lim + 1,
		AfterModel: after.M, AfterQuestion: after.Q, AfterSample: after.S,
	}
	sizes, err := s.q.ListRunResultSizes(ctx, sizeArg)
	if err != nil {
		return nil, false, err
	}
	n, total := 0, int64(0)
	for _, sz := range sizes[:min(len(sizes), int(lim))] {
		total += sz.TextBytes + resultOverhead
		if n > 0 && total > maxBytes {
			break
		}
		n++
	}
	if n == 0 {
		return []run.Result{}, false, nil
	}
	arg := dbsqlc.ListRunResultsParams{
		RunCreatedAt: r.CreatedAt, RunID: r.ID, ModelID: f.ModelID, QuestionID: f.QuestionID, Status: status, Lim: int32(n),
		AfterModel: after.M, AfterQuestion: after.Q, AfterSample: after.S,
	}
	rows, err := s.q.ListRunResults(ctx, arg)
	if err != nil {
		return nil, false, err
	}
	items := make([]run.Result, 0, len(rows))
	for _, row := range rows {
		e := run.Execution{
			RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: row.ModelID, QuestionID: row.QuestionID,
			QuestionRevision: int(row.QuestionRevision), Sample: int(row.Sample), Category: row.Category,
			Status: run.ExecutionStatus(row.Status), Response: row.Response, Error: deref(row.Error), HTTPStatus: int(deref(row.HttpStatus)),
			Attempts: int(row.Attempts), LatencyMs: row.LatencyMs, TTFTMs: row.TtftMs, OutputTokensPerS: row.OutputTokensPerS,
			InputTokens: int(row.InputTokens), OutputTokens: int(row.OutputTokens), CostUSD: row.CostUsd,
			StartedAt: row.StartedAt, FinishedAt: row.FinishedAt, Evaluations: []run.Evaluation{}, UnscoredReason: deref(row.UnscoredReason),
		}
		_ = json.Unmarshal(row.Evaluations, &e.Evaluations)
		items = append(items, run.Result{Execution: e, ModelName: row.ModelName, PromptExcerpt: catalog.PromptExcerpt(row.PromptStart), QuestionKey: row.QuestionKey})
	}
	return items, len(sizes) > n, nil
}
