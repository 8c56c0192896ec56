// Package tracing sets up OpenTelemetry tracing for SABE's processes and
// carries a run's trace from the API request that starts it through every
// task the run becomes.
//
// Tracing is off unless an OTLP endpoint is configured
// (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT).
// Without one, Setup returns a Tracing over OpenTelemetry's no-op
// provider, no middleware is installed and task payloads are exactly what
// they were before tracing existed.
//
// One run is one trace: the POST that creates it is the root, run:start
// is its child, each execution:run a child of run:start, the provider
// call a child of its execution, and run:finalize a child of the
// execution that completed the run. The W3C trace context crosses Redis
// in a "trace" field of the task payload (Carrier); a payload without one
// (written before tracing, or with tracing off) starts a trace of its own.
//
// Spans carry ids, names, statuses and counts, never prompts, answers,
// keys or error messages (a provider may echo a fragment of a bad key in
// its error): errors are in the logs, which carry trace_id and span_id
// (internal/logging).
package tracing
