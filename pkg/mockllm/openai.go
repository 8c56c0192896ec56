package mockllm

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file holds the OpenAI chat completions wire format: requests, answers
// whole and streamed, errors and the model list.

// chatRequest is the part of an OpenAI chat completion request the mock
// reads. Unknown fields are ignored, as real providers do, because SABE may
// send provider-specific extras.
type chatRequest struct {
	Model               string         `json:"model"`
	Messages            []chatMessage  `json:"messages"`
	Seed                *int64         `json:"seed"`
	Stream              bool           `json:"stream"`
	StreamOptions       *streamOptions `json:"stream_options"`
	MaxTokens           *int64         `json:"max_tokens"`
	MaxCompletionTokens *int64         `json:"max_completion_tokens"`
	// Temperature is decoded only so that a mistyped value is rejected like
	// a real provider would; the mock's answers do not depend on it.
	Temperature *float64 `json:"temperature"`
	// ResponseFormat asks for structured output; a judge model takes its
	// json_schema as the verdict schema.
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// chatCompletions answers one completion request and returns the status it
// sent. The order mirrors a real provider's: route and auth, then the body,
// then the model, then capacity (injected faults), then the answer.
func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request, spec string, cl *call) int {
	if r.Method != http.MethodPost {
		return methodNotAllowed(w, r, "POST")
	}
	cfg, err := s.config(spec)
	if err != nil {
		return writeError(w, http.StatusBadRequest, typeInvalidRequest, "invalid_fault_spec", "", err.Error())
	}
	if status := authorize(w, r, cfg); status != 0 {
		return status
	}

	sc := s.scratch.Get().(*scratch)
	defer s.release(sc)
	var req chatRequest
	if status, msg := readJSON(w, r, &sc.in, &req); status != 0 {
		code := ""
		if status == http.StatusRequestEntityTooLarge {
			code = "request_too_large"
		}
		return writeError(w, status, typeInvalidRequest, code, "", msg)
	}
	cl.model = logModel(req.Model)
	if req.Model == "" {
		return writeError(w, http.StatusBadRequest, typeInvalidRequest, "", "model", "you must provide a model parameter")
	}
	if len(req.Messages) == 0 {
		return writeError(w, http.StatusBadRequest, typeInvalidRequest, "empty_array", "messages", "messages must contain at least one message")
	}
	maxTokens, param := req.MaxTokens, "max_tokens"
	if req.MaxCompletionTokens != nil {
		maxTokens, param = req.MaxCompletionTokens, "max_completion_tokens"
	}
	if maxTokens != nil && *maxTokens < 1 {
		return writeError(w, http.StatusBadRequest, typeInvalidRequest, "integer_below_min_value", param, param+" must be at least 1")
	}
	mi, ok := models.index[req.Model]
	if !ok {
		return writeError(w, http.StatusNotFound, typeInvalidRequest, "model_not_found", "",
			"The model `"+req.Model+"` does not exist or you do not have access to it.")
	}
	cl.model = models.names[mi]
	s.calls[mi].Add(1)
	structured := req.ResponseFormat != nil && req.ResponseFormat.Type == "json_schema"
	if structured && cfg.NoStructuredOutput {
		return writeError(w, http.StatusBadRequest, typeInvalidRequest, "", "response_format",
			"Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.")
	}

	out, draw := s.decide(cfg)
	u := unit{model: req.Model, judge: models.judge[mi]}
	out = u.drawJudgeFault(cfg, out, draw)
	switch out {
	case answerQuota:
		w.Header().Set("x-ratelimit-reset-requests", cfg.QuotaReset.String())
		return writeError(w, http.StatusTooManyRequests, "insufficient_quota", "insufficient_quota", "", "You exceeded your current quota")
	case answerError:
		return writeError(w, http.StatusInternalServerError, typeServer, "", "", "mock internal error")
	case answerRateLimit:
		return rateLimited(w, cfg.RetryAfter)
	}

	if structured && req.ResponseFormat.JSONSchema != nil {
		u.schema = req.ResponseFormat.JSONSchema.Schema
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		u.addText(m.Role, m.Content.text)
		if m.Role == "user" {
			u.prompt = m.Content.text
		}
	}
	if req.Seed != nil {
		u.sample = int(*req.Seed)
	}
	if maxTokens != nil {
		u.maxTokens = *maxTokens
	}
	c := newCompletion(wireOpenAI, &u, draw, cfg.OversizeBytes)
	c.includeUsage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return s.respond(w, r, cfg, sc, &c, req.Stream, out == answerMalformed, cl)
}

// authorize answers 401 and returns its status when the request's key is
// missing (and required) or is a known bad key; it returns 0 otherwise.
func authorize(w http.ResponseWriter, r *http.Request, cfg *Config) int {
	key, ok := bearerKey(r.Header.Get("Authorization"))
	switch {
	case ok && strings.HasPrefix(key, badKeyPrefix):
		return writeError(w, http.StatusUnauthorized, typeInvalidRequest, "invalid_api_key", "",
			"Incorrect API key provided: "+maskKey(key)+". You can find your API key at https://platform.openai.com/account/api-keys.")
	case !ok && cfg.RequireKey:
		return writeError(w, http.StatusUnauthorized, typeInvalidRequest, "", "",
			"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
	}
	return 0
}

// rateLimited answers 429 in OpenAI's shape.
func rateLimited(w http.ResponseWriter, retryAfter time.Duration) int {
	setRetryAfter(w.Header(), retryAfter)
	return writeError(w, http.StatusTooManyRequests, typeRateLimit, "rate_limit_exceeded", "",
		"Rate limit reached for requests. Please try again in "+retryAfter.String()+".")
}

// appendCompletion writes c as an OpenAI chat.completion object.
func appendCompletion(b []byte, c *completion) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, c.id)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, c.created, 10)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, c.model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if c.refusal {
		b = append(b, `null,"refusal":`...)
		b = appendJSONString(b, c.content)
	} else {
		b = appendJSONString(b, c.content)
		b = append(b, `,"refusal":null`...)
	}
	b = append(b, `,"annotations":[]},"logprobs":null,"finish_reason":`...)
	b = appendJSONString(b, c.finishReason())
	b = append(b, `}],"usage":`...)
	b = appendUsage(b, c)
	return append(b, "}\n"...)
}

// appendChunkStart opens one server-sent event holding a
// chat.completion.chunk, up to and including the opening of its choices.
func appendChunkStart(b []byte, c *completion) []byte {
	b = append(b, `data: {"id":`...)
	b = appendJSONString(b, c.id)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, c.created, 10)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, c.model)
	return append(b, `,"choices":[`...)
}

// appendChunkEnd closes what appendChunkStart opened. With include_usage,
// OpenAI sends "usage": null on every chunk but the last.
func appendChunkEnd(b []byte, includeUsage bool) []byte {
	if includeUsage {
		b = append(b, `],"usage":null}`...)
	} else {
		b = append(b, `]}`...)
	}
	return append(b, "\n\n"...)
}

func appendContentChunk(b []byte, c *completion, first bool, piece string, includeUsage bool) []byte {
	b = appendChunkStart(b, c)
	b = append(b, `{"index":0,"delta":{`...)
	if first {
		b = append(b, `"role":"assistant",`...)
	}
	if c.refusal {
		b = append(b, `"refusal":`...)
	} else {
		b = append(b, `"content":`...)
	}
	b = appendJSONString(b, piece)
	b = append(b, `},"logprobs":null,"finish_reason":null}`...)
	return appendChunkEnd(b, includeUsage)
}

func appendFinishChunk(b []byte, c *completion, includeUsage bool) []byte {
	b = appendChunkStart(b, c)
	b = append(b, `{"index":0,"delta":{},"logprobs":null,"finish_reason":`...)
	b = appendJSONString(b, c.finishReason())
	b = append(b, '}')
	return appendChunkEnd(b, includeUsage)
}

func appendUsageChunk(b []byte, c *completion) []byte {
	b = appendChunkStart(b, c)
	b = append(b, `],"usage":`...)
	b = appendUsage(b, c)
	return append(b, "}\n\n"...)
}

func appendUsage(b []byte, c *completion) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(c.promptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(c.completionTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(c.promptTokens+c.completionTokens), 10)
	return append(b, '}')
}

func modelsListBody() []byte {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list"}
	for _, name := range listedModels() {
		list.Data = append(list.Data, model{ID: name, Object: "model", Created: modelsCreated, OwnedBy: "sabe-mockllm"})
	}
	return mustMarshal(list)
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

// errorDetail is OpenAI's error object: param and code are null when unset.
type errorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// OpenAI error types the mock uses.
const (
	typeInvalidRequest = "invalid_request_error"
	typeServer         = "server_error"
	typeRateLimit      = "requests"
)

// writeError sends an OpenAI-style error and returns status, so handlers can
// end with `return writeError(...)`. Empty code and param become null.
func writeError(w http.ResponseWriter, status int, typ, code, param, message string) int {
	d := errorDetail{Message: message, Type: typ}
	if code != "" {
		d.Code = &code
	}
	if param != "" {
		d.Param = &param
	}
	body, err := json.Marshal(errorBody{Error: d})
	if err != nil {
		// Only strings go in, so Marshal cannot fail; keep the status anyway.
		body = []byte(`{"error":{"message":"mock error","type":"server_error","param":null,"code":null}}`)
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return status
}

func notFound(w http.ResponseWriter, r *http.Request) int {
	return writeError(w, http.StatusNotFound, typeInvalidRequest, "", "", "Invalid URL ("+r.Method+" "+r.URL.Path+")")
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) int {
	w.Header().Set("Allow", allow)
	return writeError(w, http.StatusMethodNotAllowed, typeInvalidRequest, "", "", "Method "+r.Method+" is not allowed here; use "+allow+".")
}
