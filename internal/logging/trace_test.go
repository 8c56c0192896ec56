package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sabe-dev/sabe/internal/logging"
)

func TestNew_TraceIDs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := logging.New(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	sc := span.SpanContext()

	log.With("process", "test").InfoContext(ctx, "inside")
	log.Info("outside")

	dec := json.NewDecoder(&buf)
	var inside, outside map[string]any
	if err := dec.Decode(&inside); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&outside); err != nil {
		t.Fatal(err)
	}
	if inside["trace_id"] != sc.TraceID().String() || inside["span_id"] != sc.SpanID().String() {
		t.Errorf("record in a span = %v, want trace_id %s and span_id %s", inside, sc.TraceID(), sc.SpanID())
	}
	if inside["process"] != "test" {
		t.Errorf("record lost the logger's attributes: %v", inside)
	}
	if _, ok := outside["trace_id"]; ok {
		t.Errorf("record outside a span has a trace_id: %v", outside)
	}
}
