package mockllm

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file holds the Anthropic Messages wire format.

// messagesRequest is the part of an Anthropic Messages request the mock
// reads; unknown fields (metadata, tools, stop_sequences) are ignored.
type messagesRequest struct {
	Model     string `json:"model"`
	MaxTokens *int64 `json:"max_tokens"`
	// System is the top-level system prompt, a string or text blocks.
	System   messageContent `json:"system"`
	Messages []chatMessage  `json:"messages"`
	Stream   bool           `json:"stream"`
	// Temperature is decoded only so that a mistyped value is rejected.
	Temperature *float64 `json:"temperature"`
	// Tools and ToolChoice: a forced tool is structured output, and a
	// judge model answers with a tool_use block whose input is its
	// verdict, the tool's input_schema being the verdict schema.
	Tools []struct {
		Name        string          `json:"name"`
		InputSchema json.RawMessage `json:"input_schema"`
	} `json:"tools"`
	ToolChoice *struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tool_choice"`
}

// Anthropic error types the mock uses.
const (
	anthInvalidRequest = "invalid_request_error"
	anthAuthentication = "authentication_error"
	anthNotFound       = "not_found_error"
	anthTooLarge       = "request_too_large"
	anthRateLimit      = "rate_limit_error"
	anthAPI            = "api_error"
)

// messages answers one Anthropic Messages request and returns the status it
// sent, in the same order of checks as chatCompletions. Anthropic has no
// seed, so the mock answers every request as sample 0.
func (s *Server) messages(w http.ResponseWriter, r *http.Request, spec string, cl *call) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return anthropicError(w, http.StatusMethodNotAllowed, anthInvalidRequest, "Method "+r.Method+" is not allowed here; use POST.")
	}
	cfg, err := s.config(spec)
	if err != nil {
		return anthropicError(w, http.StatusBadRequest, anthInvalidRequest, err.Error())
	}
	if r.Header.Get("anthropic-version") == "" {
		return anthropicError(w, http.StatusBadRequest, anthInvalidRequest, "anthropic-version: header is required")
	}
	if status := authorizeAnthropic(w, r, cfg); status != 0 {
		return status
	}

	sc := s.scratch.Get().(*scratch)
	defer s.release(sc)
	var req messagesRequest
	if status, msg := readJSON(w, r, &sc.in, &req); status != 0 {
		typ := anthInvalidRequest
		if status == http.StatusRequestEntityTooLarge {
			typ = anthTooLarge
		}
		return anthropicError(w, status, typ, msg)
	}
	cl.model = logModel(req.Model)
	switch {
	case req.Model == "":
		return anthropicError(w, http.StatusBadRequest, anthInvalidRequest, "model: Field required")
	case req.MaxTokens == nil:
		return anthropicError(w, http.StatusBadRequest, anthInvalidRequest, "max_tokens: Field required")
	case *req.MaxTokens < 1:
		return anthropicError(w, http.StatusBadRequest, anthInvalidRequest, "max_tokens: Input should be greater than or equal to 1")
	case len(req.Messages) == 0:
		return anthropicError(w, http.StatusBadRequest, anthInvalidRequest, "messages: at least one message is required")
	}
	mi, known := models.index[req.Model]
	u := unit{model: req.Model, maxTokens: *req.MaxTokens, judge: known && models.judge[mi]}
	u.addText("system", req.System.text)
	for i := range req.Messages {
		m := &req.Messages[i]
		switch m.Role {
		case "user":
			u.prompt = m.Content.text
		case "assistant":
		default:
			// Putting the system prompt in a message is the classic
			// adapter bug; the real API rejects it the same way.
			return anthropicError(w, http.StatusBadRequest, anthInvalidRequest,
				"messages: Unexpected role \""+m.Role+"\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.")
		}
		u.addText(m.Role, m.Content.text)
	}
	if len(req.Tools) > 0 && cfg.NoStructuredOutput {
		return anthropicError(w, http.StatusBadRequest, anthInvalidRequest, "tools: tool use is not supported by this model")
	}
	if tc := req.ToolChoice; tc != nil && tc.Type == "tool" {
		found := false
		for _, t := range req.Tools {
			if t.Name == tc.Name {
				u.tool, u.schema, found = t.Name, t.InputSchema, true
				break
			}
		}
		if !found {
			return anthropicError(w, http.StatusBadRequest, anthInvalidRequest, "tool_choice.name: tool "+strconv.Quote(tc.Name)+" is not in tools")
		}
	}
	if !known {
		return anthropicError(w, http.StatusNotFound, anthNotFound, "model: "+req.Model)
	}
	cl.model = models.names[mi]
	s.calls[mi].Add(1)

	out, draw := s.decide(cfg)
	out = u.drawJudgeFault(cfg, out, draw)
	switch out {
	case answerQuota:
		w.Header().Set("anthropic-ratelimit-requests-reset", resetTime(cfg.QuotaReset))
		return anthropicError(w, http.StatusTooManyRequests, anthRateLimit, "daily quota exhausted")
	case answerError:
		return anthropicError(w, http.StatusInternalServerError, anthAPI, "mock internal error")
	case answerRateLimit:
		setRetryAfter(w.Header(), cfg.RetryAfter)
		return anthropicError(w, http.StatusTooManyRequests, anthRateLimit,
			"Number of requests has exceeded your rate limit. Please try again in "+cfg.RetryAfter.String()+".")
	}
	c := newCompletion(wireAnthropic, &u, draw, cfg.OversizeBytes)
	return s.respond(w, r, cfg, sc, &c, req.Stream, out == answerMalformed, cl)
}

// resetTime is the RFC 3339 time after d from now, rounded up to the whole
// second so that a client waiting until then never comes back early.
func resetTime(d time.Duration) string {
	t := time.Now().Add(d)
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return t.UTC().Format(time.RFC3339)
}

// authorizeAnthropic is authorize for Anthropic, whose key travels in
// x-api-key (an OAuth-style Bearer token is accepted too).
func authorizeAnthropic(w http.ResponseWriter, r *http.Request, cfg *Config) int {
	key := strings.TrimSpace(r.Header.Get("x-api-key"))
	ok := key != ""
	if !ok {
		key, ok = bearerKey(r.Header.Get("Authorization"))
	}
	switch {
	case ok && strings.HasPrefix(key, badKeyPrefix):
		return anthropicError(w, http.StatusUnauthorized, anthAuthentication, "invalid x-api-key: "+maskKey(key))
	case !ok && cfg.RequireKey:
		return anthropicError(w, http.StatusUnauthorized, anthAuthentication, "x-api-key header is required")
	}
	return 0
}

type anthropicErrorBody struct {
	Type  string               `json:"type"`
	Error anthropicErrorDetail `json:"error"`
}

type anthropicErrorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// anthropicError sends an Anthropic-style error and returns status.
func anthropicError(w http.ResponseWriter, status int, typ, message string) int {
	body, err := json.Marshal(anthropicErrorBody{Type: "error", Error: anthropicErrorDetail{Type: typ, Message: message}})
	if err != nil {
		body = []byte(`{"type":"error","error":{"type":"api_error","message":"mock error"}}`)
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return status
}

// appendMessage writes c as a whole Anthropic Message.
func appendMessage(b []byte, c *completion) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, c.id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendJSONString(b, c.model)
	if c.tool != "" && !c.refusal {
		b = append(b, `,"content":[{"type":"tool_use","id":`...)
		b = appendJSONString(b, toolUseID(c))
		b = append(b, `,"name":`...)
		b = appendJSONString(b, c.tool)
		b = append(b, `,"input":`...)
		if json.Valid([]byte(c.content)) {
			b = append(b, c.content...)
		} else {
			// A whole message cannot hold broken JSON as an input; a
			// string in its place is as unusable as a verdict.
			b = appendJSONString(b, c.content)
		}
	} else {
		b = append(b, `,"content":[{"type":"text","text":`...)
		b = appendJSONString(b, c.content)
	}
	b = append(b, `}],"stop_reason":`...)
	b = appendJSONString(b, c.finishReason())
	b = append(b, `,"stop_sequence":null,"usage":{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(c.promptTokens), 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, int64(c.completionTokens), 10)
	return append(b, "}}\n"...)
}

// appendMessageStart writes message_start (with the input tokens, as the
// real API reports them up front), content_block_start and a ping, which
// the real API sends too and clients must skip.
func appendMessageStart(b []byte, c *completion) []byte {
	b = append(b, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"...)
	b = appendJSONString(b, c.id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendJSONString(b, c.model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(c.promptTokens), 10)
	b = append(b, ",\"output_tokens\":1}}}\n\n"...)
	if c.tool != "" && !c.refusal {
		b = append(b, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":"...)
		b = appendJSONString(b, toolUseID(c))
		b = append(b, `,"name":`...)
		b = appendJSONString(b, c.tool)
		b = append(b, ",\"input\":{}}}\n\n"...)
	} else {
		b = append(b, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"...)
	}
	return append(b, "event: ping\ndata: {\"type\":\"ping\"}\n\n"...)
}

func appendTextDelta(b []byte, piece string) []byte {
	b = append(b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"...)
	b = appendJSONString(b, piece)
	return append(b, "}}\n\n"...)
}

// appendInputJSONDelta writes one piece of a tool_use block's input.
func appendInputJSONDelta(b []byte, piece string) []byte {
	b = append(b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":"...)
	b = appendJSONString(b, piece)
	return append(b, "}}\n\n"...)
}

// toolUseID names a tool_use block after its message.
func toolUseID(c *completion) string {
	return "toolu_" + strings.TrimPrefix(c.id, idPrefixAnthropic)
}

// appendMessageEnd closes the content block and the message; message_delta
// carries the output tokens and the stop reason.
func appendMessageEnd(b []byte, c *completion) []byte {
	b = append(b, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"...)
	b = append(b, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"...)
	b = appendJSONString(b, c.finishReason())
	b = append(b, `,"stop_sequence":null},"usage":{"output_tokens":`...)
	b = strconv.AppendInt(b, int64(c.completionTokens), 10)
	b = append(b, "}}\n\n"...)
	return append(b, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

// anthropicModelsBody is the Anthropic model list: GET /v1/models when the
// request carries anthropic-version.
func anthropicModelsBody() []byte {
	type model struct {
		Type        string `json:"type"`
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
		CreatedAt   string `json:"created_at"`
	}
	list := struct {
		Data    []model `json:"data"`
		HasMore bool    `json:"has_more"`
		FirstID string  `json:"first_id"`
		LastID  string  `json:"last_id"`
	}{}
	names := listedModels()
	for _, name := range names {
		list.Data = append(list.Data, model{Type: "model", ID: name, DisplayName: displayName(name),
			CreatedAt: time.Unix(modelsCreated, 0).UTC().Format(time.RFC3339)})
	}
	list.FirstID, list.LastID = names[0], names[len(names)-1]
	return mustMarshal(list)
}
