package provider

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// OpenAI is the Client for OpenAI-compatible chat completion endpoints.
// Complete, the worker's hottest path, speaks the wire format itself (see
// send and readOpenAIStream); ListModels goes through the official SDK.
// Neither retries: SABE's retry policy and circuit breakers decide what
// happens after a failure. It is safe for concurrent use.
type OpenAI struct {
	limits
}

var _ Client = (*OpenAI)(nil)

// NewOpenAI returns an OpenAI client.
func NewOpenAI(cfg ClientConfig) *OpenAI {
	return &OpenAI{limits: newLimits(cfg)}
}

// Complete streams one chat completion (stream_options.include_usage) and
// measures time to first content and total latency. A server that answers a
// streaming request with a plain chat.completion JSON body is handled too.
// Errors are *Error, except that the caller's own cancellation or deadline
// comes back as an error wrapping ctx.Err().
func (c *OpenAI) Complete(ctx context.Context, req Request) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, fmt.Errorf("provider call: %w", err)
	}
	body, err := openAIBody(req)
	if err != nil {
		return Response{}, err
	}

	cl := c.begin(ctx, req.endpoint(), req.IdleTimeout, c.maxBytes, true)
	defer cl.end()
	start := time.Now()
	raw, err := c.send(cl, req.endpoint(), body)
	if err != nil || raw == nil || cl.ex.status >= 300 {
		if raw != nil {
			_ = raw.Body.Close()
		}
		return Response{}, cl.failure(err, nil)
	}
	// Closing the body before its end (at [DONE]) hands it to
	// exchange.drain, which keeps the connection for the next call.
	defer func() { _ = raw.Body.Close() }()

	if cl.ex.json != nil {
		return openAIJSONAnswer(cl, start, time.Since(start))
	}
	res, chunks, err := readOpenAIStream(raw, start)
	if err != nil {
		return Response{}, cl.failure(err, openAIStreamError(cl.secrets))
	}
	res.Latency = time.Since(start)
	if res.FinishReason == "" {
		return Response{}, cl.notEventStream(chunks)
	}
	return res, nil
}

// ListModels lists the models at ep (GET {base_url}/models). Names come
// from a "name" field where the server sends one (OpenRouter), else the id.
func (c *OpenAI) ListModels(ctx context.Context, ep Endpoint) ([]RemoteModel, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("provider call: %w", err)
	}
	if err := validateEndpoint(ep); err != nil {
		return nil, err
	}
	cl := c.begin(ctx, ep, 0, modelListMaxBytes, false)
	defer cl.end()
	// A service rather than openai.NewClient: the client would pick up
	// OPENAI_API_KEY and OPENAI_BASE_URL from the environment, and SABE
	// must never send its own process's key to a user's endpoint.
	models := openai.NewModelService(c.requestOptions(ep, cl.ex)...)
	page, err := models.List(cl.reqCtx)
	if err != nil || cl.ex.status >= 300 {
		return nil, cl.failure(err, nil)
	}
	var list struct {
		Data []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(page.RawJSON()), &list); err != nil {
		return nil, newError(0, false, "malformed model list: "+err.Error(), cl.secrets)
	}
	out := make([]RemoteModel, 0, min(len(list.Data), MaxRemoteModels+1))
	for _, m := range list.Data {
		if m.ID == "" {
			continue
		}
		var more bool
		if out, more = addModel(out, RemoteModel{ID: m.ID, Name: cmp.Or(m.Name, m.ID)}); !more {
			break
		}
	}
	return out, nil
}

// openAIRequest is the body of a streamed chat completion.
type openAIRequest struct {
	Model               string          `json:"model"`
	Messages            []openAIMessage `json:"messages"`
	Temperature         *float64        `json:"temperature,omitempty"`
	MaxTokens           int             `json:"max_tokens,omitempty"`
	MaxCompletionTokens int             `json:"max_completion_tokens,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	ResponseFormat      *openAIFormat   `json:"response_format,omitempty"`
	Stream              bool            `json:"stream"`
	StreamOptions       struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type openAIMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// openAIFormat is response_format for structured output.
type openAIFormat struct {
	Type       string `json:"type"`
	JSONSchema struct {
		Name   string          `json:"name"`
		Strict bool            `json:"strict"`
		Schema json.RawMessage `json:"schema"`
	} `json:"json_schema"`
}

// openAIBody is req's JSON body: a streamed completion with usage, and
// ExtraBody's keys set at the top level over SABE's own, except "stream",
// which stays true (as the SDK's NewStreaming had it).
func openAIBody(req Request) ([]byte, error) {
	if err := validateRequest(req); err != nil {
		return nil, err
	}
	body := openAIRequest{Model: req.Model, Stream: true, Seed: req.Seed}
	body.StreamOptions.IncludeUsage = true
	turns := req.turns()
	body.Messages = make([]openAIMessage, 0, len(turns)+1)
	if req.System != "" {
		body.Messages = append(body.Messages, openAIMessage{Role: RoleSystem, Content: req.System})
	}
	for _, m := range turns {
		body.Messages = append(body.Messages, openAIMessage(m))
	}
	if o := req.Output; o != nil {
		body.ResponseFormat = &openAIFormat{Type: "json_schema"}
		body.ResponseFormat.JSONSchema.Name, body.ResponseFormat.JSONSchema.Strict = o.Name, true
		body.ResponseFormat.JSONSchema.Schema = o.Schema
	}
	if req.Temperature != nil && !req.OmitTemperature {
		body.Temperature = req.Temperature
	}
	if req.MaxTokens > 0 {
		switch req.MaxTokensField {
		case "", "max_tokens":
			body.MaxTokens = req.MaxTokens
		case "max_completion_tokens":
			body.MaxCompletionTokens = req.MaxTokens
		default:
			return nil, &Error{Message: fmt.Sprintf("max_tokens_field must be max_tokens or max_completion_tokens, not %q", req.MaxTokensField)}
		}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, &Error{Message: "encode request: " + err.Error()}
	}
	if len(req.ExtraBody) == 0 {
		return data, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, &Error{Message: "encode request: " + err.Error()}
	}
	for k, v := range req.ExtraBody {
		if fields[k], err = json.Marshal(v); err != nil {
			return nil, &Error{Message: fmt.Sprintf("extra_body %q: %v", k, err)}
		}
	}
	fields["stream"] = json.RawMessage("true")
	if data, err = json.Marshal(fields); err != nil {
		return nil, &Error{Message: "encode request: " + err.Error()}
	}
	return data, nil
}

// openAIUserAgent names SABE to the provider in place of the SDK's
// "OpenAI/Go <version>"; Go's default would look like an anonymous script,
// which some gateways' bot rules refuse.
const openAIUserAgent = "SABE"

// send posts body to ep's chat/completions through cl's exchange, which
// records the response and caps its body.
//
// It replaces the SDK's ChatCompletionService.New: once readOpenAIStream
// decoded the chunks, the SDK's request path (params marshalled by its
// reflection-based encoder, the option chain, header and origin
// bookkeeping) was 37-47% of what Complete still cost in CPU in
// BenchmarkOpenAI_Complete, to build a body of seven fields. Headers are
// the SDK's without its X-Stainless telemetry and with SABE's User-Agent:
// the key as a Bearer token when there is one, and the endpoint's own
// headers over everything else, a custom Authorization included. The SDK's
// origin check, which kept a redirect from taking those headers to another
// host, has no work left here: NewHTTPClient follows no redirects.
func (c *OpenAI) send(cl *call, ep Endpoint, body []byte) (*http.Response, error) {
	target, err := chatCompletionsURL(ep.BaseURL)
	if err != nil {
		return nil, &Error{Message: "base_url: " + err.Error()}
	}
	req, err := http.NewRequestWithContext(cl.reqCtx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = http.Header{
		"Content-Type": {"application/json"},
		// What the SDK sends, streaming or not, so servers that look at it
		// see nothing new.
		"Accept":     {"application/json"},
		"User-Agent": {openAIUserAgent},
	}
	if ep.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+ep.APIKey)
	}
	for k, v := range ep.Headers {
		req.Header.Set(k, v)
	}
	return cl.ex.middleware(req, c.httpClient.Do)
}

// chatCompletionsURL resolves "chat/completions" against base the way the
// SDK's WithBaseURL did: the base's path gets a trailing slash first, so
// "https://host/v1" becomes "https://host/v1/chat/completions".
func chatCompletionsURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	if u.Path != "" && !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u, err = u.Parse("chat/completions")
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

func (c *OpenAI) requestOptions(ep Endpoint, ex *exchange) []option.RequestOption {
	opts := []option.RequestOption{
		option.WithHTTPClient(c.httpClient),
		option.WithMaxRetries(0),
		option.WithBaseURL(ep.BaseURL),
		option.WithMiddleware(ex.middleware),
	}
	if ep.APIKey != "" {
		opts = append(opts, option.WithAPIKey(ep.APIKey))
	}
	for k, v := range ep.Headers {
		opts = append(opts, option.WithHeader(k, v))
	}
	return opts
}

// openAIJSONAnswer decodes a chat.completion sent instead of a stream. With
// no stream to watch, the first token is taken to arrive with the whole
// body.
func openAIJSONAnswer(cl *call, start time.Time, latency time.Duration) (Response, error) {
	var probe struct {
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(cl.ex.json, &probe); err != nil {
		return Response{}, newError(0, false, "malformed JSON answer: "+err.Error(), cl.secrets)
	}
	if len(probe.Error) > 0 && string(probe.Error) != "null" {
		return Response{}, streamError(cl.ex.json, cl.secrets)
	}
	var cc openai.ChatCompletion
	if err := json.Unmarshal(cl.ex.json, &cc); err != nil {
		return Response{}, newError(0, false, "malformed JSON answer: "+err.Error(), cl.secrets)
	}
	res := Response{
		InputTokens:  int(cc.Usage.PromptTokens),
		OutputTokens: int(cc.Usage.CompletionTokens),
		Latency:      latency,
	}
	for _, choice := range cc.Choices {
		if choice.Index == 0 {
			res.Text = choice.Message.Content
			res.Refusal = choice.Message.Refusal
			res.FinishReason = choice.FinishReason
			break
		}
	}
	if len(cc.Choices) == 0 {
		return Response{}, newError(0, false, "answer has no choices", cl.secrets)
	}
	if res.Text != "" || res.Refusal != "" {
		res.TTFT = cl.ex.jsonAt.Sub(start)
	}
	return res, nil
}
