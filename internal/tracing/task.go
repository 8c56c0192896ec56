package tracing

import (
	"context"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// TaskMiddleware starts a consumer span around each task the worker
// handles, named after the task's type ("run:start", "execution:run"),
// as the child of the span that enqueued it (the payload's Carrier) or
// as a new trace when the payload carries none. Install it only when t
// is Enabled: with tracing off, tasks skip it altogether.
//
// A failed task sets the span's status to Error without the error's
// text, which may quote a provider's answer; the worker's log line for
// the failure carries the span's trace_id.
func TaskMiddleware(t *Tracing) asynq.MiddlewareFunc {
	tracer := t.Tracer()
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
			attrs := []attribute.KeyValue{
				attribute.String("messaging.system", "asynq"),
				attribute.String("messaging.operation.type", "process"),
			}
			if q, ok := asynq.GetQueueName(ctx); ok {
				attrs = append(attrs, attribute.String("messaging.destination.name", q))
			}
			if id, ok := asynq.GetTaskID(ctx); ok {
				attrs = append(attrs, attribute.String("messaging.message.id", id))
			}
			if n, ok := asynq.GetRetryCount(ctx); ok {
				attrs = append(attrs, attribute.Int("asynq.retry_count", n))
			}
			ctx, span := tracer.Start(TaskContext(ctx, task), task.Type(),
				trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
			defer span.End()
			err := next.ProcessTask(ctx, task)
			if err != nil {
				span.SetStatus(codes.Error, "task returned an error (see the worker's log for this trace_id)")
			}
			return err
		})
	}
}

// TaskContext is ctx with the trace context task carries, for what runs
// outside the middleware's span but belongs to the task (the worker's
// error handler logs a failed task with its trace_id).
func TaskContext(ctx context.Context, task *asynq.Task) context.Context {
	return Extract(ctx, fromPayload(task.Payload()))
}
