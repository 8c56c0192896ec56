package store

import (
	"context"

	"github.com/sabe-dev/sabe/pkg/run"
)

// DefaultExportBatch is how many results an export reads per query: large
// enough that a run of a million units is 500 queries, small enough that a
// batch of short answers is a few megabytes.
const DefaultExportBatch = 2000

// ExportBatchBytes bounds the text (answers and errors) of one export
// batch, so that a batch of long answers does not hold DefaultExportBatch
// of them at once: memory stays bounded whatever the run's size and its
// answers' lengths. The first result of a batch is always read.
const ExportBatchBytes = 16 << 20

// ResultExport reads a whole run's results in keyset batches, in the order
// of Results (model, question, sample), for an export that is written as
// it is read. It is not safe for concurrent use.
type ResultExport struct {
	s     *Store
	r     *run.Run
	f     ResultFilter
	batch int32
	after *resultCursor
	done  bool
}

// ExportResults starts reading the results of r that f keeps, batch at a
// time (DefaultExportBatch when batch <= 0). Nothing is read until Next.
func (s *Store) ExportResults(r *run.Run, f ResultFilter, batch int) *ResultExport {
	if batch <= 0 {
		batch = DefaultExportBatch
	}
	return &ResultExport{s: s, r: r, f: f, batch: int32(batch)}
}

// Next reads the next batch: at most the batch size and about
// ExportBatchBytes of text. It returns an empty batch once every result has
// been read. A run still being executed exports what is recorded when each
// batch is read.
func (x *ResultExport) Next(ctx context.Context) ([]run.Result, error) {
	if x.done {
		return nil, nil
	}
	items, more, err := x.s.resultBatch(ctx, x.r, x.f, x.after, x.batch, ExportBatchBytes)
	if err != nil {
		return nil, err
	}
	if len(items) > 0 {
		last := &items[len(items)-1]
		x.after = &resultCursor{M: last.ModelID, Q: last.QuestionID, S: int32(last.Sample)}
	}
	x.done = !more
	return items, nil
}
