package mockllm

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// This file holds the OpenAI chat completions wire format and the helpers
// the other formats share.

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
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role    string         `json:"role"`
	Content messageContent `json:"content"`
}

// messageContent is a message's text, whether it came as a string or as an
// array of content parts.
type messageContent struct {
	text string
}

type contentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

var errContentShape = errors.New("message content must be a string or an array of content parts")

// UnmarshalJSON accepts a string, null, or an array of parts whose text
// parts are concatenated; other part types (images, audio) carry no text the
// mock could answer.
func (c *messageContent) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &c.text)
	case string(b) == "null":
		c.text = ""
		return nil
	}
	var parts []contentPart
	if err := json.Unmarshal(b, &parts); err != nil {
		return errContentShape
	}
	var sb strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			sb.WriteString(p.Text)
		}
	}
	c.text = sb.String()
	return nil
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
	b = appendJSONString(b, c.content)
	b = append(b, `,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":`...)
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
	b = append(b, `"content":`...)
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

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string. The strings on the hot path
// (model names from the table, generated answers) are plain ASCII, so a
// byte loop beats encoding/json's reflection; the escapes keep it correct
// for anything else.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Header values shared by every response; net/http only reads them.
var (
	jsonContentType = []string{"application/json"}
	sseContentType  = []string{"text/event-stream; charset=utf-8"}
	noCache         = []string{"no-cache"}
)

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
