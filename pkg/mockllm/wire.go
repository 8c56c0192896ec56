package mockllm

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file holds what the three wire formats share: message content,
// JSON strings, request bodies, keys and Retry-After.

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

// MaxBodyBytes is the largest request body the server reads; a larger one
// gets 413.
const MaxBodyBytes = 1 << 20

// badKeyPrefix marks API keys the mock rejects with a message that echoes
// part of the key, as real providers do; tests use it to prove that SABE
// scrubs key material from stored errors.
const badKeyPrefix = "bad-key-"

func bearerKey(header string) (string, bool) {
	const prefix = "Bearer "
	if len(header) < len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", false
	}
	key := strings.TrimSpace(header[len(prefix):])
	return key, key != ""
}

// maskKey shows a key the way OpenAI's 401 message does: the first five
// characters, stars, and the last four when the key is long enough for that
// to hide something.
func maskKey(key string) string {
	if len(key) < 12 {
		return key[:min(5, len(key))] + "****"
	}
	return key[:5] + "****" + key[len(key)-4:]
}

// tooLarge is the 413 message, built once: readJSON runs on every request.
var tooLarge = "Request body exceeds " + strconv.Itoa(MaxBodyBytes) + " bytes."

// readJSON reads at most MaxBodyBytes into buf and decodes it into v. On
// failure it returns the status to answer (413 or 400) and a message, which
// the caller sends in its wire format; 0 means success.
func readJSON(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer, v any) (int, string) {
	if r.ContentLength > MaxBodyBytes {
		return http.StatusRequestEntityTooLarge, tooLarge
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodyBytes)); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return http.StatusRequestEntityTooLarge, tooLarge
		}
		return http.StatusBadRequest, "could not read the request body"
	}
	if err := json.Unmarshal(buf.Bytes(), v); err != nil {
		return http.StatusBadRequest, "We could not parse the JSON body of your request: " + err.Error()
	}
	return 0, ""
}

// setRetryAfter sets Retry-After in whole seconds (rounded up, as the
// header requires integers) and Retry-After-Ms with the exact wait, which
// the OpenAI and Anthropic SDKs prefer.
func setRetryAfter(h http.Header, retryAfter time.Duration) {
	h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(retryAfter.Seconds())), 10))
	h.Set("Retry-After-Ms", strconv.FormatInt(retryAfter.Milliseconds(), 10))
}

// modelsCreated is a fixed creation time for the listed models, so the list
// is the same on every start.
const modelsCreated = 1735689600 // 2025-01-01T00:00:00Z

// mustMarshal encodes a fixed value built at start; failing is a bug.
func mustMarshal(v any) []byte {
	body, err := json.Marshal(v)
	if err != nil {
		panic("mockllm: marshal: " + err.Error())
	}
	return append(body, '\n')
}
