package tracing

import (
	"context"
	"encoding/json"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// propagator writes and reads the W3C traceparent and tracestate fields.
// It is a value, not OpenTelemetry's global, so that no process state
// decides what crosses Redis.
var propagator = propagation.TraceContext{}

// Carrier is the W3C trace context of the span that enqueued a task, as
// the "trace" field of the task's JSON payload:
//
//	{"run_id": "…", "trace": {"traceparent": "00-…-…-01"}}
//
// It is nil (and the field omitted) when the enqueuing context has no
// span, so that with tracing off payloads are byte for byte
// what they were before tracing existed.
type Carrier map[string]string

// Inject returns the trace context of ctx's span, or nil when it has
// none (tracing off). An unsampled trace is carried too: its flags tell
// the task's span not to sample either, so a run is traced whole or not
// at all.
func Inject(ctx context.Context) Carrier {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	c := Carrier{}
	propagator.Inject(ctx, propagation.MapCarrier(c))
	return c
}

// Extract returns ctx with the remote span context c carries, or ctx
// itself when c is empty or malformed.
func Extract(ctx context.Context, c Carrier) context.Context {
	if len(c) == 0 {
		return ctx
	}
	return propagator.Extract(ctx, propagation.MapCarrier(c))
}

// fromPayload reads the Carrier of a task payload. Payloads that are not
// JSON objects (some tasks carry a bare id) or have no "trace" field give
// nil.
func fromPayload(payload []byte) Carrier {
	if len(payload) == 0 || payload[0] != '{' {
		return nil
	}
	var p struct {
		Trace Carrier `json:"trace"`
	}
	if json.Unmarshal(payload, &p) != nil {
		return nil
	}
	return p.Trace
}
