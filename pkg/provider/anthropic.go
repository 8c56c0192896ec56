package provider

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

// DefaultAnthropicMaxTokens is the max_tokens sent to Anthropic when the
// Request has none: the Messages API requires the field.
const DefaultAnthropicMaxTokens = 1024

// anthropicErrorStatus maps the error types of Anthropic's error events to
// the HTTP status the same error gets outside a stream.
var anthropicErrorStatus = map[string]int{
	"invalid_request_error": 400,
	"authentication_error":  401,
	"billing_error":         402,
	"permission_error":      403,
	"not_found_error":       404,
	"request_too_large":     413,
	"rate_limit_error":      429,
	"api_error":             500,
	"timeout_error":         504,
	"overloaded_error":      529,
}

// Anthropic is the Client for Anthropic's Messages API, built on the
// official SDK with its retries off. It sends x-api-key and
// anthropic-version, the system prompt as the top-level system field, and
// streams so time to first token is real. It is safe for concurrent use.
type Anthropic struct {
	limits
}

var _ Client = (*Anthropic)(nil)

// NewAnthropic returns an Anthropic client.
func NewAnthropic(cfg ClientConfig) *Anthropic {
	return &Anthropic{limits: newLimits(cfg)}
}

// Complete streams one message and measures time to first text and total
// latency; input tokens come from message_start, output tokens from
// message_delta. MaxTokens 0 sends DefaultAnthropicMaxTokens; Seed and
// MaxTokensField do not apply. A server that answers with a plain message
// JSON body is handled too. Errors are like OpenAI.Complete's.
func (c *Anthropic) Complete(ctx context.Context, req Request) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, fmt.Errorf("provider call: %w", err)
	}
	if err := validateRequest(req); err != nil {
		return Response{}, err
	}
	ep := anthropicEndpoint(req.endpoint())
	cl := c.begin(ctx, ep, req.IdleTimeout, c.maxBytes, true)
	defer cl.end()
	// A service rather than anthropic.NewClient, which would read
	// ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, profiles and federation
	// settings from the environment: only what SABE passes is used.
	opts := c.requestOptions(ep, cl.ex)
	// The tool goes in before ExtraBody, which keeps the last word.
	opts = append(opts, anthropicToolOptions(req.Output)...)
	opts = append(opts, extraBodyOptions(req.ExtraBody)...)
	messages := anthropic.NewMessageService(opts...)

	start := time.Now()
	stream := messages.NewStreaming(cl.reqCtx, anthropicParams(req))
	defer func() { _ = stream.Close() }()

	var (
		text   strings.Builder
		tool   anthropicToolInput
		res    Response
		events int
	)
	firstPiece := func() {
		if text.Len() == 0 && tool.input.Len() == 0 {
			res.TTFT = time.Since(start)
		}
	}
	for stream.Next() {
		events++
		ev := stream.Current()
		switch ev.Type {
		case "message_start":
			res.InputTokens = anthropicInputTokens(ev.Message.Usage.InputTokens,
				ev.Message.Usage.CacheCreationInputTokens, ev.Message.Usage.CacheReadInputTokens)
			res.OutputTokens = int(ev.Message.Usage.OutputTokens)
		case "content_block_start":
			if req.Output != nil && ev.ContentBlock.Type == "tool_use" && ev.ContentBlock.Name == req.Output.Name && !tool.seen {
				tool.seen, tool.index, tool.start = true, ev.Index, ev.ContentBlock.JSON.Input.Raw()
			}
		case "content_block_delta":
			switch {
			case ev.Delta.Type == "text_delta" && ev.Delta.Text != "":
				firstPiece()
				text.WriteString(ev.Delta.Text)
			case ev.Delta.Type == "input_json_delta" && tool.seen && ev.Index == tool.index && ev.Delta.PartialJSON != "":
				firstPiece()
				tool.input.WriteString(ev.Delta.PartialJSON)
			}
		case "message_delta":
			if ev.Delta.StopReason != "" {
				res.FinishReason = string(ev.Delta.StopReason)
			}
			// The usage here is cumulative; input tokens appear in it only
			// on newer API versions.
			if ev.Usage.OutputTokens > 0 {
				res.OutputTokens = int(ev.Usage.OutputTokens)
			}
			if in := anthropicInputTokens(ev.Usage.InputTokens, ev.Usage.CacheCreationInputTokens, ev.Usage.CacheReadInputTokens); in > 0 {
				res.InputTokens = in
			}
		}
	}
	if err := stream.Err(); err != nil || cl.ex.status >= 300 {
		return Response{}, cl.failure(err, anthropicStreamError(cl.secrets))
	}
	res.Latency = time.Since(start)

	if cl.ex.json != nil {
		return anthropicJSONAnswer(cl, req.Output, start, res.Latency)
	}
	if res.FinishReason == "" {
		return Response{}, cl.notEventStream(events)
	}
	res.Text = text.String()
	if tool.seen {
		// The forced tool's input is the structured answer; any text
		// beside it is the model thinking aloud.
		res.Text = tool.json()
	}
	if res.FinishReason == anthropicRefusal {
		res.Refusal = anthropicRefusal
	}
	return res, nil
}

// anthropicRefusal is the stop_reason of a message the model declined to
// finish.
const anthropicRefusal = "refusal"

// anthropicToolInput collects the input of the forced tool's tool_use block
// from a stream: input_json_delta pieces, or the block's own input when no
// piece came.
type anthropicToolInput struct {
	seen  bool
	index int64
	start string
	input strings.Builder
}

func (t *anthropicToolInput) json() string {
	if t.input.Len() == 0 {
		return compactJSON([]byte(t.start))
	}
	return compactJSON([]byte(t.input.String()))
}

// anthropicToolOptions asks for structured output as Anthropic offers it:
// one tool whose input_schema is the schema, and tool_choice forcing it.
func anthropicToolOptions(o *OutputSchema) []option.RequestOption {
	if o == nil {
		return nil
	}
	tool := map[string]any{
		"name":         o.Name,
		"description":  "Record the answer as " + o.Name + ", in the shape its input schema gives.",
		"input_schema": o.Schema,
	}
	return []option.RequestOption{
		option.WithJSONSet("tools", []any{tool}),
		option.WithJSONSet("tool_choice", map[string]any{"type": "tool", "name": o.Name}),
	}
}

// ListModels lists the models at ep (GET /v1/models), following its pages.
func (c *Anthropic) ListModels(ctx context.Context, ep Endpoint) ([]RemoteModel, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("provider call: %w", err)
	}
	if err := validateEndpoint(ep); err != nil {
		return nil, err
	}
	ep = anthropicEndpoint(ep)
	cl := c.begin(ctx, ep, 0, modelListMaxBytes, false)
	defer cl.end()
	cl.ex.shareBudget()
	models := anthropic.NewModelService(c.requestOptions(ep, cl.ex)...)
	params := anthropic.ModelListParams{Limit: anthropic.Int(1000)}
	var out []RemoteModel
	for range maxModelPages {
		page, err := models.List(cl.reqCtx, params)
		if err != nil || cl.ex.status >= 300 {
			return nil, cl.failure(err, nil)
		}
		more := true
		for _, m := range page.Data {
			if m.ID != "" && more {
				out, more = addModel(out, RemoteModel{ID: m.ID, Name: cmp.Or(m.DisplayName, m.ID)})
			}
		}
		if !more || !page.HasMore || page.LastID == "" {
			break
		}
		params.AfterID = anthropic.String(page.LastID)
	}
	return out, nil
}

// anthropicEndpoint tolerates a base URL that ends in the API version,
// which the SDK adds itself.
func anthropicEndpoint(ep Endpoint) Endpoint {
	base := strings.TrimRight(ep.BaseURL, "/")
	ep.BaseURL = strings.TrimSuffix(base, "/v1") + "/"
	return ep
}

func anthropicParams(req Request) anthropic.MessageNewParams {
	system, turns := req.splitSystem(true)
	p := anthropic.MessageNewParams{
		Model:     anthropic.Model(req.Model),
		MaxTokens: int64(cmp.Or(req.MaxTokens, DefaultAnthropicMaxTokens)),
		Messages:  make([]anthropic.MessageParam, 0, len(turns)),
	}
	for _, m := range turns {
		block := anthropic.NewTextBlock(m.Content)
		if m.Role == RoleAssistant {
			p.Messages = append(p.Messages, anthropic.NewAssistantMessage(block))
		} else {
			p.Messages = append(p.Messages, anthropic.NewUserMessage(block))
		}
	}
	if system != "" {
		p.System = []anthropic.TextBlockParam{{Text: system}}
	}
	if req.Temperature != nil && !req.OmitTemperature {
		p.Temperature = anthropic.Float(*req.Temperature)
	}
	return p
}

func (c *Anthropic) requestOptions(ep Endpoint, ex *exchange) []option.RequestOption {
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

// extraBodyOptions sets ExtraBody's keys at the top level of the body.
func extraBodyOptions(extraBody map[string]any) []option.RequestOption {
	opts := make([]option.RequestOption, 0, len(extraBody))
	for k, v := range extraBody {
		opts = append(opts, option.WithJSONSet(jsonKeyPath(k), v))
	}
	return opts
}

// anthropicInputTokens counts every input token: uncached, written to and
// read from the prompt cache.
func anthropicInputTokens(uncached, cacheWrite, cacheRead int64) int {
	return int(uncached + cacheWrite + cacheRead)
}

// anthropicStreamError classifies an error event inside the stream
// ("event: error", e.g. overloaded_error), which the SDK reports as an
// *anthropic.Error carrying the event's JSON.
func anthropicStreamError(secrets []string) func(error) *Error {
	return func(err error) *Error {
		var aerr *anthropic.Error
		if !errors.As(err, &aerr) {
			if strings.HasPrefix(err.Error(), "received error while streaming") {
				return newError(0, true, err.Error(), secrets)
			}
			return nil
		}
		return anthropicErrorEvent([]byte(aerr.RawJSON()), secrets)
	}
}

// anthropicErrorEvent classifies an Anthropic error object sent with a 200
// status, in a stream or as the whole body. Its type decides like the HTTP
// status it stands for; an unknown type is most likely transient.
func anthropicErrorEvent(data []byte, secrets []string) *Error {
	info := parseErrorBody(data)
	status := anthropicErrorStatus[info.Type]
	msg := cmp.Or(info.Message, info.Type, strings.TrimSpace(string(data)))
	e := newError(status, status == 0 || retryableStatus(status), "error in response: "+msg, secrets)
	annotate(e, nil, info, time.Now())
	return e
}

// anthropicJSONAnswer decodes a message sent instead of a stream. With no
// stream to watch, the first token is taken to arrive with the whole body.
func anthropicJSONAnswer(cl *call, out *OutputSchema, start time.Time, latency time.Duration) (Response, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(cl.ex.json, &head); err != nil {
		return Response{}, newError(0, false, "malformed JSON answer: "+err.Error(), cl.secrets)
	}
	switch head.Type {
	case "error":
		return Response{}, anthropicErrorEvent(cl.ex.json, cl.secrets)
	case "message":
	default:
		return Response{}, newError(0, false, fmt.Sprintf("JSON answer is not a message (type %q)", head.Type), cl.secrets)
	}
	var msg anthropic.Message
	if err := json.Unmarshal(cl.ex.json, &msg); err != nil {
		return Response{}, newError(0, false, "malformed JSON answer: "+err.Error(), cl.secrets)
	}
	var text strings.Builder
	toolInput := ""
	for _, block := range msg.Content {
		switch {
		case block.Type == "text":
			text.WriteString(block.Text)
		case block.Type == "tool_use" && out != nil && block.Name == out.Name && toolInput == "":
			toolInput = compactJSON(block.Input)
		}
	}
	res := Response{
		Text:         text.String(),
		InputTokens:  anthropicInputTokens(msg.Usage.InputTokens, msg.Usage.CacheCreationInputTokens, msg.Usage.CacheReadInputTokens),
		OutputTokens: int(msg.Usage.OutputTokens),
		Latency:      latency,
		FinishReason: string(msg.StopReason),
	}
	if toolInput != "" {
		res.Text = toolInput
	}
	if res.FinishReason == anthropicRefusal {
		res.Refusal = anthropicRefusal
	}
	if res.Text != "" {
		res.TTFT = cl.ex.jsonAt.Sub(start)
	}
	return res, nil
}

// jsonKeyPath escapes a top-level key for sjson (behind the SDKs'
// WithJSONSet), whose paths treat '.', '*', '?' and a few others as syntax.
func jsonKeyPath(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		switch c := key[i]; c {
		case '.', '*', '?', '|', '#', '@', '\\', ':', '!', '=', '<', '>', '%':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
