package run

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sabe-dev/sabe/pkg/provider"
)

// Attributes of a provider call's span. The gen_ai.* names are
// OpenTelemetry's semantic conventions for generative AI clients; the
// sabe.* ones name SABE's own records.
const (
	attrOperation    = attribute.Key("gen_ai.operation.name")
	attrProviderKind = attribute.Key("gen_ai.provider.name")
	attrModel        = attribute.Key("gen_ai.request.model")
	attrInputTokens  = attribute.Key("gen_ai.usage.input_tokens")
	attrOutputTokens = attribute.Key("gen_ai.usage.output_tokens")
	attrHTTPStatus   = attribute.Key("http.response.status_code")
	attrErrorType    = attribute.Key("error.type")
	attrProviderID   = attribute.Key("sabe.provider.id")
	attrProviderName = attribute.Key("sabe.provider.name")
	attrModelID      = attribute.Key("sabe.model.id")
	attrRunID        = attribute.Key("sabe.run.id")
	attrUnit         = attribute.Key("sabe.unit")
	attrCallStatus   = attribute.Key("sabe.call.status")
)

// callSpan starts the span of one provider call, a child of the unit's
// execution:run span, named as the GenAI conventions name a chat call
// ("chat mock-strong"). It carries what identifies the call and never
// what it says: no prompt, no system prompt, no answer, no key or header.
func (h *Handlers) callSpan(ctx context.Context, conn *ProviderConn, m *SnapshotModel, runID uuid.UUID, unit int) (context.Context, trace.Span) {
	return h.tracer.Start(ctx, "chat "+m.ProviderModelID, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attrOperation.String("chat"),
			attrProviderKind.String(string(conn.Kind)),
			attrProviderID.String(conn.ID.String()),
			attrProviderName.String(conn.Name),
			attrModel.String(m.ProviderModelID),
			attrModelID.String(m.ModelID.String()),
			attrRunID.String(runID.String()),
			attrUnit.Int(unit),
		))
}

// endCallSpan records the call's outcome (callOutcome's status: "ok",
// "rate_limited", "server_error"...), the provider's HTTP status and the
// tokens, and ends the span. The error's text is left out: providers echo
// fragments of bad keys and of prompts in their messages.
func endCallSpan(span trace.Span, resp provider.Response, err error) {
	if !span.IsRecording() {
		span.End()
		return
	}
	status := callOutcome(err)
	span.SetAttributes(attrCallStatus.String(status))
	var pe *provider.Error
	if errors.As(err, &pe) && pe.StatusCode != 0 {
		span.SetAttributes(attrHTTPStatus.Int(pe.StatusCode))
	}
	if err != nil {
		span.SetAttributes(attrErrorType.String(status))
		span.SetStatus(codes.Error, status)
	} else {
		span.SetAttributes(attrInputTokens.Int(resp.InputTokens), attrOutputTokens.Int(resp.OutputTokens))
	}
	span.End()
}
