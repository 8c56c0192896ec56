package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Message roles a Request's Messages may use.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one turn of a chat: a question's few-shot examples and its
// own turns, or a judge's follow-up after an unusable verdict.
type Message struct {
	// Role is RoleSystem, RoleUser or RoleAssistant.
	Role string `json:"role"`
	// Content is the turn's text.
	Content string `json:"content"`
}

// OutputSchema asks the provider for an answer that is one JSON value
// matching Schema (structured output). Each adapter sends it in its own
// way: OpenAI response_format json_schema with strict on, Anthropic a
// forced call of a tool named Name whose input_schema is Schema, Gemini
// responseMimeType application/json with responseSchema converted from
// Schema. Response.Text then holds the JSON text of the answer.
type OutputSchema struct {
	// Name names the schema (OpenAI's json_schema.name, Anthropic's tool
	// name): 1-64 letters, digits, '_' or '-'.
	Name string `json:"name"`
	// Schema is a JSON Schema object. Gemini understands a subset (see
	// GeminiSchema); keywords outside it are dropped for Gemini only.
	Schema json.RawMessage `json:"schema"`
}

// schemaName is what OpenAI and Anthropic accept as a schema or tool name.
var schemaName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// validateConversation checks Messages and Output.
func validateConversation(req Request) *Error {
	for i, m := range req.Messages {
		switch m.Role {
		case RoleSystem, RoleUser, RoleAssistant:
		default:
			return &Error{Message: fmt.Sprintf("messages[%d].role must be system, user or assistant, not %q", i, m.Role)}
		}
	}
	if o := req.Output; o != nil {
		if !schemaName.MatchString(o.Name) {
			return &Error{Message: fmt.Sprintf("output schema name %q must be 1-64 letters, digits, '_' or '-'", o.Name)}
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(o.Schema, &obj); err != nil || obj == nil {
			return &Error{Message: "output schema must be a JSON object"}
		}
	}
	return nil
}

// InputChars is how many characters (runes) of text the request sends:
// the system prompt and the prompt, or every message when Messages is set.
// Token estimates before a call (four characters to a token) start from
// it.
func (r Request) InputChars() int {
	n := utf8.RuneCountInString(r.System)
	if len(r.Messages) == 0 {
		return n + utf8.RuneCountInString(r.Prompt)
	}
	for _, m := range r.Messages {
		n += utf8.RuneCountInString(m.Content)
	}
	return n
}

// turns is the request's conversation in order: Messages when set, else
// one user turn holding Prompt. System is not part of it.
func (r Request) turns() []Message {
	if len(r.Messages) == 0 {
		return []Message{{Role: RoleUser, Content: r.Prompt}}
	}
	return r.Messages
}

// splitSystem is the conversation for an API that takes the system prompt
// apart from the turns (Anthropic, Gemini): System and every system
// message, joined by blank lines in order, and the other turns. With merge,
// consecutive turns of one role become one turn (their texts joined by a
// blank line), since Anthropic wants user and assistant to alternate.
func (r Request) splitSystem(merge bool) (string, []Message) {
	var system []string
	if r.System != "" {
		system = append(system, r.System)
	}
	all := r.turns()
	turns := make([]Message, 0, len(all))
	for _, m := range all {
		switch {
		case m.Role == RoleSystem:
			system = append(system, m.Content)
		case merge && len(turns) > 0 && turns[len(turns)-1].Role == m.Role:
			turns[len(turns)-1].Content += "\n\n" + m.Content
		default:
			turns = append(turns, m)
		}
	}
	return strings.Join(system, "\n\n"), turns
}

// compactJSON is raw without insignificant whitespace, or raw itself when
// it is not JSON (a broken structured answer is the caller's to judge).
func compactJSON(raw []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}
