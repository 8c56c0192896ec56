package provider

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"
)

// OpenAI is the Client for OpenAI-compatible chat completion endpoints,
// built on the official SDK with its retries off: SABE's retry policy and
// circuit breakers decide what happens after a failure. It is safe for
// concurrent use.
type OpenAI struct {
	limits
}

var _ Client = (*OpenAI)(nil)

// NewOpenAI returns an OpenAI client.
func NewOpenAI(opts ClientOptions) *OpenAI {
	return &OpenAI{limits: newLimits(opts)}
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
	params, err := chatParams(req)
	if err != nil {
		return Response{}, err
	}

	cl := c.begin(ctx, req.endpoint(), req.IdleTimeout, c.maxBytes, true)
	defer cl.end()
	// A service rather than openai.NewClient: the client would pick up
	// OPENAI_API_KEY and OPENAI_BASE_URL from the environment, and SABE
	// must never send its own process's key to a user's endpoint.
	chat := openai.NewChatCompletionService(c.requestOptions(req.endpoint(), cl.ex, req.ExtraBody)...)

	start := time.Now()
	stream := chat.NewStreaming(cl.reqCtx, params)
	defer func() { _ = stream.Close() }()

	var (
		text   strings.Builder
		res    Response
		chunks int
	)
	for stream.Next() {
		chunks++
		chunk := stream.Current()
		if chunk.Usage.PromptTokens > 0 || chunk.Usage.CompletionTokens > 0 {
			res.InputTokens, res.OutputTokens = int(chunk.Usage.PromptTokens), int(chunk.Usage.CompletionTokens)
		}
		for _, choice := range chunk.Choices {
			if choice.Index != 0 {
				continue
			}
			if choice.Delta.Content != "" {
				if text.Len() == 0 {
					res.TTFT = time.Since(start)
				}
				text.WriteString(choice.Delta.Content)
			}
			if choice.FinishReason != "" {
				res.FinishReason = choice.FinishReason
			}
		}
	}
	if err := stream.Err(); err != nil || cl.ex.status >= 300 {
		return Response{}, cl.failure(err, openAIStreamError(cl.secrets))
	}
	res.Latency = time.Since(start)

	if cl.ex.json != nil {
		return openAIJSONAnswer(cl, start, res.Latency)
	}
	if res.FinishReason == "" {
		// The SDK swallows "[DONE]", so a stream cut short between events
		// looks like a clean end; only the missing finish reason tells.
		return Response{}, cl.notEventStream(chunks)
	}
	res.Text = text.String()
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
	cl := c.begin(ctx, ep, 0, max(c.maxBytes, modelListMaxBytes), false)
	defer cl.end()
	models := openai.NewModelService(c.requestOptions(ep, cl.ex, nil)...)
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
	out := make([]RemoteModel, 0, len(list.Data))
	for _, m := range list.Data {
		if m.ID != "" {
			out = append(out, RemoteModel{ID: m.ID, Name: cmp.Or(m.Name, m.ID)})
		}
	}
	return out, nil
}

// chatParams maps a Request onto the SDK's parameters.
func chatParams(req Request) (openai.ChatCompletionNewParams, error) {
	var p openai.ChatCompletionNewParams
	if err := validateRequest(req); err != nil {
		return p, err
	}
	p.Model = shared.ChatModel(req.Model)
	if req.System != "" {
		p.Messages = append(p.Messages, openai.SystemMessage(req.System))
	}
	p.Messages = append(p.Messages, openai.UserMessage(req.Prompt))
	if req.Temperature != nil && !req.OmitTemperature {
		p.Temperature = openai.Float(*req.Temperature)
	}
	if req.MaxTokens > 0 {
		switch req.MaxTokensField {
		case "", "max_tokens":
			p.MaxTokens = openai.Int(int64(req.MaxTokens))
		case "max_completion_tokens":
			p.MaxCompletionTokens = openai.Int(int64(req.MaxTokens))
		default:
			return p, &Error{Message: fmt.Sprintf("max_tokens_field must be max_tokens or max_completion_tokens, not %q", req.MaxTokensField)}
		}
	}
	if req.Seed != nil {
		p.Seed = openai.Int(*req.Seed)
	}
	p.StreamOptions.IncludeUsage = openai.Bool(true)
	return p, nil
}

func (c *OpenAI) requestOptions(ep Endpoint, ex *exchange, extraBody map[string]any) []option.RequestOption {
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
	for k, v := range extraBody {
		opts = append(opts, option.WithJSONSet(jsonKeyPath(k), v))
	}
	return opts
}

// openAIStreamError classifies an error event inside the stream, which the
// SDK reports as a StreamError.
func openAIStreamError(secrets []string) func(error) *Error {
	return func(err error) *Error {
		var serr *ssestream.StreamError
		if errors.As(err, &serr) {
			return streamError(serr.Event.Data, secrets)
		}
		return nil
	}
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
			res.FinishReason = choice.FinishReason
			break
		}
	}
	if len(cc.Choices) == 0 {
		return Response{}, newError(0, false, "answer has no choices", cl.secrets)
	}
	if res.Text != "" {
		res.TTFT = cl.ex.jsonAt.Sub(start)
	}
	return res, nil
}
