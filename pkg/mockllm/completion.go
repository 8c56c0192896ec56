package mockllm

import (
	"strings"
	"time"
)

// wireFormat says which provider's wire format a request speaks; it picks
// the shape of every answer, error and stream event.
type wireFormat uint8

const (
	wireOpenAI wireFormat = iota
	wireAnthropic
	wireGoogle
)

func (f wireFormat) String() string {
	switch f {
	case wireAnthropic:
		return FormatAnthropic
	case wireGoogle:
		return FormatGoogle
	default:
		return FormatOpenAI
	}
}

// completion is one answer, ready to be written in its format, whole or as
// a stream.
type completion struct {
	format           wireFormat
	id               string
	created          int64
	model            string
	content          string
	truncated        bool // stopped at the request's token limit
	promptTokens     int
	completionTokens int
	includeUsage     bool // OpenAI streams only: stream_options.include_usage
}

// unit is what decides an answer: the request's model, its prompt (the
// last user message), the sample, the characters of every message (which
// the mock bills as input tokens, four to a token) and the output token
// limit (0 when the request set none).
type unit struct {
	model     string
	prompt    string
	sample    int
	chars     int
	maxTokens int64
}

// ID prefixes look like the real providers' so that logs read naturally.
const (
	idPrefixOpenAI    = "chatcmpl-mock"
	idPrefixAnthropic = "msg_mock"
	idPrefixGoogle    = "mock"
)

// newCompletion answers u. The draw that decided the request's faults also
// names the answer, so ids are reproducible for a given Seed.
func newCompletion(f wireFormat, u *unit, draw uint64, oversize int) completion {
	content := Answer(u.model, u.prompt, u.sample)
	words, truncated := countWords(content), false
	if u.maxTokens > 0 && int64(words) > u.maxTokens {
		words, truncated = int(u.maxTokens), true
		content = content[:endOfWords(content, words)]
	}
	if oversize > 0 {
		content += " " + strings.Repeat("x", oversize)
		words += (oversize + 3) / 4
	}
	prefix := idPrefixOpenAI
	switch f {
	case wireAnthropic:
		prefix = idPrefixAnthropic
	case wireGoogle:
		prefix = idPrefixGoogle
	}
	return completion{
		format:           f,
		id:               newID(prefix, draw),
		created:          time.Now().Unix(),
		model:            u.model,
		content:          content,
		truncated:        truncated,
		promptTokens:     (u.chars + 3) / 4,
		completionTokens: words,
	}
}

// newID is prefix followed by 16 hex digits of the mixed draw.
func newID(prefix string, draw uint64) string {
	var buf [32]byte
	n := copy(buf[:], prefix)
	h := mix64(draw)
	for i := n + 15; i >= n; i-- {
		buf[i] = hexDigits[h&0xf]
		h >>= 4
	}
	return string(buf[:n+16])
}

func (c *completion) finishReason() string {
	switch c.format {
	case wireAnthropic:
		if c.truncated {
			return "max_tokens"
		}
		return "end_turn"
	case wireGoogle:
		if c.truncated {
			return "MAX_TOKENS"
		}
		return "STOP"
	default:
		if c.truncated {
			return "length"
		}
		return "stop"
	}
}

// appendBody writes the whole non-streaming answer.
func (c *completion) appendBody(b []byte) []byte {
	switch c.format {
	case wireAnthropic:
		return appendMessage(b, c)
	case wireGoogle:
		return appendGoogleResponse(b, c, c.content, true)
	default:
		return appendCompletion(b, c)
	}
}

// appendStreamStart writes the events that precede the first content
// (Anthropic's message_start and content_block_start); the other formats
// have none.
func (c *completion) appendStreamStart(b []byte) []byte {
	if c.format == wireAnthropic {
		return appendMessageStart(b, c)
	}
	return b
}

// appendStreamPiece writes the event carrying one piece of content. Gemini
// has no closing event: its last chunk carries the finish reason and the
// usage.
func (c *completion) appendStreamPiece(b []byte, first, last bool, piece string) []byte {
	switch c.format {
	case wireAnthropic:
		return appendTextDelta(b, piece)
	case wireGoogle:
		return appendGoogleChunk(b, c, piece, last)
	default:
		return appendContentChunk(b, c, first, piece, c.includeUsage)
	}
}

// hasStreamEnd reports whether events follow the last piece of content.
func (c *completion) hasStreamEnd() bool {
	return c.format != wireGoogle
}

// appendStreamEnd writes the events after the last piece of content.
func (c *completion) appendStreamEnd(b []byte) []byte {
	switch c.format {
	case wireAnthropic:
		return appendMessageEnd(b, c)
	case wireGoogle:
		return b
	default:
		b = appendFinishChunk(b, c, c.includeUsage)
		if c.includeUsage {
			b = appendUsageChunk(b, c)
		}
		return append(b, "data: [DONE]\n\n"...)
	}
}
