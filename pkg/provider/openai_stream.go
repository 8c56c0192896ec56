package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"
)

// doneEvent is the data of the event that ends an OpenAI stream.
var doneEvent = []byte("[DONE]")

// openAIChunk is the part of a chat.completion.chunk that Complete reads,
// plus the "error" key that marks an error event.
type openAIChunk struct {
	Choices []openAIChoice `json:"choices"`
	Usage   struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
	} `json:"usage"`
	// Error is set whenever the key is there, even as null: the SDK took
	// any "error" key for an error event, and so does Complete.
	Error json.RawMessage `json:"error"`
}

type openAIChoice struct {
	Index int64 `json:"index"`
	Delta struct {
		Content string `json:"content"`
		Refusal string `json:"refusal"`
	} `json:"delta"`
	FinishReason string `json:"finish_reason"`
}

// errorEvent is an error event inside a stream, kept whole for streamError.
type errorEvent struct {
	data []byte
}

func (e *errorEvent) Error() string { return "error event in stream" }

// decode fills c from one event's data. It reuses c's choices, zeroed
// first: encoding/json decodes into the elements a slice already has
// without zeroing them, so a field missing from this chunk would keep the
// last chunk's value. A field of an unexpected type (an index sent as "0",
// a float token count) fails encoding/json but not the SDK's lenient
// decoder, which servers that are only roughly OpenAI-compatible have
// relied on; such a chunk goes through the SDK's decoder instead, so it is
// read as before.
func (c *openAIChunk) decode(data []byte) error {
	clear(c.Choices)
	*c = openAIChunk{Choices: c.Choices[:0]}
	err := json.Unmarshal(data, c)
	if len(c.Error) > 0 {
		return &errorEvent{data: data}
	}
	if typeErr := (*json.UnmarshalTypeError)(nil); errors.As(err, &typeErr) {
		return c.decodeLenient(data)
	}
	return err
}

func (c *openAIChunk) decodeLenient(data []byte) error {
	var sdk openai.ChatCompletionChunk
	if err := json.Unmarshal(data, &sdk); err != nil {
		return err
	}
	c.Choices = c.Choices[:0]
	for _, choice := range sdk.Choices {
		var ch openAIChoice
		ch.Index, ch.Delta.Content, ch.FinishReason = choice.Index, choice.Delta.Content, choice.FinishReason
		ch.Delta.Refusal = choice.Delta.Refusal
		c.Choices = append(c.Choices, ch)
	}
	c.Usage.PromptTokens, c.Usage.CompletionTokens = sdk.Usage.PromptTokens, sdk.Usage.CompletionTokens
	return nil
}

// readOpenAIStream reads a chat completion stream up to "data: [DONE]" or
// the body's end, whichever comes first; what follows [DONE] is never
// read. It returns the answer without its Latency and the number of chunks
// read. TTFT is taken at the first non-empty content of choice 0, usage
// from the chunk that carries it. An error event comes back as
// *errorEvent, a chunk that is not JSON as the *json.SyntaxError that
// call.failure reports as a malformed stream event. The caller closes the
// body.
//
// It replaces the SDK's ssestream.Stream[ChatCompletionChunk], which
// decodes every chunk with the SDK's reflection-driven apijson (fields
// looked up by name, metadata kept for each): that was 21% of the worker's
// CPU in the issue 7 profile and 49% of Complete's in
// BenchmarkOpenAI_Complete. The SDK's SSE decoder still frames the events.
func readOpenAIStream(raw *http.Response, start time.Time) (Response, int, error) {
	var (
		res     Response
		text    strings.Builder
		refusal strings.Builder
		chunk   openAIChunk
		chunks  int
	)
	dec := ssestream.NewDecoder(raw)
	for dec.Next() {
		data := dec.Event().Data
		if bytes.HasPrefix(data, doneEvent) {
			break
		}
		if err := chunk.decode(data); err != nil {
			return Response{}, chunks, err
		}
		chunks++
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
			if choice.Delta.Refusal != "" {
				if text.Len() == 0 && refusal.Len() == 0 {
					res.TTFT = time.Since(start)
				}
				refusal.WriteString(choice.Delta.Refusal)
			}
			if choice.FinishReason != "" {
				res.FinishReason = choice.FinishReason
			}
		}
	}
	if err := dec.Err(); err != nil {
		return Response{}, chunks, err
	}
	res.Text, res.Refusal = text.String(), refusal.String()
	return res, chunks, nil
}

// openAIStreamError classifies an error event inside the stream.
func openAIStreamError(secrets []string) func(error) *Error {
	return func(err error) *Error {
		var ev *errorEvent
		if errors.As(err, &ev) {
			return streamError(ev.data, secrets)
		}
		return nil
	}
}
