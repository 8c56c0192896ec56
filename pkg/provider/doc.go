// Package provider calls LLM providers on SABE's behalf.
//
// A Client sends one prompt and returns the answer with the measurements a
// benchmark needs: time to first token, total latency, token usage and the
// finish reason. There is one Client per wire format, each streaming so
// that time to first token is real and built on the provider's official
// SDK, except the OpenAI adapter's Complete, which speaks the wire format
// itself (the SDK's per-chunk decoding was the worker's largest CPU cost)
// and keeps only the SDK's event-stream framing. OpenAI serves every
// OpenAI-compatible endpoint (OpenAI, OpenRouter, vLLM, Ollama, the mock
// provider), Anthropic the Messages API and Google the Gemini API.
// NewClients returns all three, keyed by catalog.ProviderKind. Each also
// lists the provider's models (ListModels), and Probe uses either to say
// what is wrong with a provider: DNS, connection, TLS, key or model.
//
// A Request carries either one prompt or a conversation (Messages: system,
// user and assistant turns), and may ask for structured output (Output): a
// JSON answer matching a schema, sent as OpenAI response_format json_schema
// (strict), an Anthropic tool forced through tool_choice (the tool_use
// input becomes Response.Text), or Gemini responseSchema (converted from
// JSON Schema, property order kept). A model that declines to answer is
// reported in Response.Refusal (OpenAI's refusal field, Anthropic's refusal
// stop reason, Gemini's SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT and
// SPII finish reasons).
//
// Everything a provider sends back is treated as hostile: answers are capped
// in size, in total time and in silence between stream chunks, error
// messages are scrubbed of credentials (Scrub) before anyone stores or logs
// them, and the HTTP client underneath (NewHTTPClient) refuses to connect to
// loopback, private, link-local and metadata addresses unless they are on
// its allow list, checked after DNS resolution so a hostname cannot be
// rebound to one, and follows no redirects. The SDKs never see the process
// environment's keys or base URLs: only what SABE passes is sent.
//
// Failures come back as *Error, classified for SABE's own retry policy
// (IsRetryable, RetryAfter) and marked when a quota is used up (Quota,
// ResetAt); the SDKs' retries are off. Circuit breakers, shared by the whole
// worker fleet, live in pkg/resilience.
package provider
