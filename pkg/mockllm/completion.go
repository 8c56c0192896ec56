package mockllm

import (
	"strings"
	"time"
	"unicode/utf8"
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
	// tool is the forced tool whose tool_use block carries content
	// (Anthropic structured output), empty for a text answer.
	tool string
	// refusal marks content as the model's refusal.
	refusal bool
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

	// A judge model's request also keeps all of its system and user text
	// (the judge prompt's tags may sit in an earlier turn than the last),
	// the structured-output schema, and the forced tool (Anthropic).
	judge     bool
	judgeText strings.Builder
	schema    []byte
	tool      string
	// judgeFault and malformedKind are the judge faults drawn for it.
	judgeFault    judgeOutcome
	malformedKind string
}

// addText counts a message's text and, for a judge, keeps what is not the
// assistant's.
func (u *unit) addText(role, text string) {
	u.chars += utf8.RuneCountInString(text)
	if u.judge && role != "assistant" && role != "model" {
		u.judgeText.WriteString(text)
		u.judgeText.WriteByte('\n')
	}
}

// refusalText is what a judge says when it refuses.
const refusalText = "I'm sorry, but I can't help with evaluating this answer."

// content is the unit's answer: the mock's arithmetic answer, or for a
// judge model its verdict, spoiled or refused as its faults say.
func (u *unit) content() (string, bool) {
	if !u.judge {
		return Answer(u.model, u.prompt, u.sample), false
	}
	j := Judge(u.model, u.judgeText.String(), u.schema)
	switch u.judgeFault {
	case judgeRefuse:
		return refusalText, true
	case judgeMalformed:
		return j.malformed(u.malformedKind), false
	}
	return j.JSON(), false
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
	content, refusal := u.content()
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
		refusal:          refusal,
		tool:             u.tool,
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
		switch {
		case c.truncated:
			return "max_tokens"
		case c.refusal:
			return "refusal"
		case c.tool != "":
			return "tool_use"
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
		if c.tool != "" && !c.refusal {
			return appendInputJSONDelta(b, piece)
		}
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
