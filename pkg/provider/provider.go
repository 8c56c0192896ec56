package provider

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"
)

// Request is one chat completion to send. It carries the provider's API key
// in memory only; its String, Format and LogValue leave the key and header
// values out, so logging a Request by mistake leaks nothing.
type Request struct {
	// BaseURL is the provider's root. OpenAI-compatible: the API root with
	// its version, e.g. "https://openrouter.ai/api/v1", to which
	// "chat/completions" is appended. Anthropic: "https://api.anthropic.com"
	// ("v1/messages" is appended; a trailing "/v1" is tolerated). Google:
	// "https://generativelanguage.googleapis.com/" ("v1beta/models/..." is
	// appended; a trailing API version such as "/v1beta" is used as the
	// version).
	BaseURL string
	// APIKey is the provider's key: a Bearer token for OpenAI-compatible
	// providers, x-api-key for Anthropic, x-goog-api-key for Google. Empty
	// sends no key.
	APIKey string
	// Headers are extra headers the provider wants (OpenRouter's
	// HTTP-Referer and X-Title, for example).
	Headers map[string]string
	// Model is the provider's own model id (provider_model_id).
	Model string
	// System is an optional system prompt, sent first; Prompt is the user
	// message, used when Messages is empty.
	System, Prompt string
	// Messages, when set, is the conversation sent instead of Prompt, in
	// order (after System). Anthropic and Gemini take system messages in
	// their system field, joined after System; Anthropic gets consecutive
	// turns of one role merged into one.
	Messages []Message
	// Output, when set, asks for structured output: an answer that is one
	// JSON value matching the schema (see OutputSchema).
	Output *OutputSchema
	// Temperature is sent when non-nil and OmitTemperature is false.
	Temperature *float64
	// MaxTokens caps the answer; 0 leaves the field out, except for
	// Anthropic, which requires it and gets DefaultAnthropicMaxTokens.
	MaxTokens int
	// MaxTokensField is "max_tokens" (the default when empty) or
	// "max_completion_tokens", which newer OpenAI models require. Only the
	// OpenAI-compatible adapter uses it.
	MaxTokensField string
	// OmitTemperature leaves temperature out for models that reject it.
	OmitTemperature bool
	// ExtraBody is merged into the JSON body last, one top-level key at a
	// time, so it can add provider-specific fields or override SABE's. For
	// Google an object value is merged into an object SABE sends (so
	// {"generationConfig": {"topK": 40}} keeps the temperature) instead of
	// replacing it.
	ExtraBody map[string]any
	// Seed is sent as "seed" (Google: generationConfig.seed); SABE sends the
	// sample index so that a deterministic provider (the mock) can vary
	// answers per sample. Anthropic has no seed and does not get one.
	Seed *int64
	// IdleTimeout is the longest gap allowed between two pieces of a
	// streamed answer once the response has started; a stream that stays
	// silent longer is cut and the call fails with a retryable *Error.
	// 0 takes the client's default (ClientConfig.IdleTimeout).
	IdleTimeout time.Duration
}

// String describes the request without its API key or header values.
func (r Request) String() string {
	return fmt.Sprintf("provider.Request{BaseURL: %s, Model: %s, HasAPIKey: %t, Headers: [%s], Messages: %d, Input: %d chars, Structured: %t}",
		r.BaseURL, r.Model, r.APIKey != "", headerNames(r.Headers), len(r.turns()), r.InputChars(), r.Output != nil)
}

// GoString keeps %#v as safe as %v.
func (r Request) GoString() string { return r.String() }

// Format makes every fmt verb print String, so no verb reaches the key.
func (r Request) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, r.String()) }

// LogValue keeps structured logging on the safe description.
func (r Request) LogValue() slog.Value { return slog.StringValue(r.String()) }

// endpoint is the part of r that says where and how to connect.
func (r Request) endpoint() Endpoint {
	return Endpoint{BaseURL: r.BaseURL, APIKey: r.APIKey, Headers: r.Headers}
}

// Endpoint is where a provider lives and how to authenticate to it, for
// calls that are not a chat completion (ListModels, Probe). BaseURL, APIKey
// and Headers mean what they mean in Request. Like Request, it never prints
// its key or header values.
type Endpoint struct {
	BaseURL, APIKey string
	Headers         map[string]string
}

// String describes the endpoint without its API key or header values.
func (e Endpoint) String() string {
	return fmt.Sprintf("provider.Endpoint{BaseURL: %s, HasAPIKey: %t, Headers: [%s]}", e.BaseURL, e.APIKey != "", headerNames(e.Headers))
}

// GoString keeps %#v as safe as %v.
func (e Endpoint) GoString() string { return e.String() }

// Format makes every fmt verb print String, so no verb reaches the key.
func (e Endpoint) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, e.String()) }

// LogValue keeps structured logging on the safe description.
func (e Endpoint) LogValue() slog.Value { return slog.StringValue(e.String()) }

func headerNames(h map[string]string) string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// Response is a provider's answer with its measurements.
type Response struct {
	// Text is the answer's content (first choice).
	Text string
	// InputTokens and OutputTokens are the provider's usage report, 0 when
	// it sends none. Output tokens include reasoning ("thinking") tokens
	// where the provider counts them separately, since they are billed.
	InputTokens, OutputTokens int
	// TTFT is the time from sending the request to the first non-empty
	// content; for a provider that answers in one piece it is the time the
	// whole answer arrived. 0 when the answer is empty.
	TTFT time.Duration
	// Latency is the time from sending the request to the end of the answer.
	Latency time.Duration
	// FinishReason is the provider's own reason for stopping ("stop",
	// "length", "end_turn", "STOP", ...).
	FinishReason string
	// Refusal is non-empty when the model declined to answer: OpenAI's
	// refusal text, or "refusal" for an Anthropic stop_reason refusal
	// (with whatever text came before it in Text). A judge records such an
	// answer as refused rather than as an unparseable verdict.
	Refusal string
}

// RemoteModel is one entry of a provider's own model list.
type RemoteModel struct {
	// ID is what goes into a model's provider_model_id.
	ID string `json:"id"`
	// Name is the provider's display name, ID when it has none.
	Name string `json:"name"`
}

// Client sends chat completions to a provider.
type Client interface {
	// Complete sends req and returns the answer. A failed call returns a
	// *Error (see IsRetryable); when ctx itself is cancelled or expires it
	// returns an error wrapping ctx.Err() instead, which is not a provider
	// failure.
	Complete(ctx context.Context, req Request) (Response, error)
	// ListModels returns the models the provider offers at ep. Errors are
	// like Complete's.
	ListModels(ctx context.Context, ep Endpoint) ([]RemoteModel, error)
}
