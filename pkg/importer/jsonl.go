package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// trimBOM drops the byte order mark some editors write.
func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }

// looksLikeJSON reports whether the first character that is not space
// opens a JSON object or array (a JSON Lines file, not a CSV one).
func looksLikeJSON(body []byte) bool {
	b := bytes.TrimSpace(body)
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// eachJSONLine calls fn for every non-blank line of a JSON Lines body with
// its number (from 1, counting blank lines), its text and its object's
// fields. A line that is not one JSON object is reported and skipped.
// More than MaxQuestions lines is ErrTooMany.
func (p *parser) eachJSONLine(body []byte, fn func(line int, raw []byte, fields map[string]json.RawMessage)) error {
	for i, raw := range bytes.Split(body, []byte("\n")) {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		if err := p.item(); err != nil {
			return err
		}
		fields, err := decodeObject(raw)
		if err != nil {
			p.fail(i+1, "", "%s", err)
			continue
		}
		fn(i+1, raw, fields)
	}
	return nil
}

// decodeObject decodes one JSON object, refusing anything after it.
func decodeObject(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil || fields == nil {
		if _, ok := errors.AsType[*json.UnmarshalTypeError](err); ok || (err == nil && fields == nil) {
			return nil, errors.New("must be a JSON object")
		}
		return nil, fmt.Errorf("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return nil, errors.New("malformed JSON: more than one value on the line (JSON Lines has one object per line)")
	}
	return fields, nil
}

// jsonKind names the JSON type of raw for error messages.
func jsonKind(raw json.RawMessage) string {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// stringOrList decodes a string, or a list of strings, as a list; a
// string gives one element. Empty strings are refused.
func stringOrList(raw json.RawMessage) ([]string, string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if strings.TrimSpace(s) == "" {
			return nil, "", errors.New("must not be empty")
		}
		return []string{s}, "", nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil, "", fmt.Errorf("must be a string or a list of strings, not %s", jsonKind(raw))
	}
	if len(list) == 0 {
		return nil, "", errors.New("must not be an empty list")
	}
	out := make([]string, len(list))
	for i, r := range list {
		if json.Unmarshal(r, &out[i]) != nil {
			return nil, fmt.Sprintf("[%d]", i), fmt.Errorf("must be a string, not %s", jsonKind(r))
		}
		if strings.TrimSpace(out[i]) == "" {
			return nil, fmt.Sprintf("[%d]", i), errors.New("must not be empty")
		}
	}
	return out, "", nil
}

// chatMessage is a chat turn as openai/evals and inspect_ai write it.
type chatMessage struct {
	Role    string `json:"role"`
	Content any    `json:"content"`
	Name    string `json:"name"`
}

// input decodes an `input` field, a string or a list of chat turns, into
// a question's prompt or messages. A turn's `name` is kept the way
// OpenAI's few-shot convention means it: a system turn named
// example_user or example_assistant is a user or assistant turn; any
// other name prefixes the content as "name: content". It returns the
// field of the problem (relative to field) and its message.
func input(q *oapi.CreateQuestionRequest, field string, raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if strings.TrimSpace(s) == "" {
			return field, errors.New("must not be empty")
		}
		q.Prompt = s
		return "", nil
	}
	var turns []json.RawMessage
	if json.Unmarshal(raw, &turns) != nil {
		return field, fmt.Errorf("must be a string or a list of chat messages, not %s", jsonKind(raw))
	}
	if len(turns) == 0 {
		return field, errors.New("must not be an empty list")
	}
	msgs := make([]oapi.Message, 0, len(turns))
	for i, r := range turns {
		at := fmt.Sprintf("%s[%d]", field, i)
		var m chatMessage
		dec := json.NewDecoder(bytes.NewReader(r))
		if err := dec.Decode(&m); err != nil || !bytes.HasPrefix(bytes.TrimSpace(r), []byte("{")) {
			return at, fmt.Errorf("must be a chat message object with role and content, not %s", jsonKind(r))
		}
		content, ok := m.Content.(string)
		if !ok {
			return at + ".content", errors.New("must be a string (content parts such as images are not supported)")
		}
		role := m.Role
		switch {
		case role == "system" && m.Name == "example_user":
			role = "user"
		case role == "system" && m.Name == "example_assistant":
			role = "assistant"
		case m.Name != "":
			content = m.Name + ": " + content
		}
		if !slices.Contains([]string{"system", "user", "assistant"}, role) {
			return at + ".role", fmt.Errorf("must be system, user or assistant, not %q", m.Role)
		}
		if strings.TrimSpace(content) == "" {
			return at + ".content", errors.New("must not be empty")
		}
		msgs = append(msgs, oapi.Message{Role: oapi.MessageRole(role), Content: content})
	}
	for i, m := range msgs {
		if m.Role == "system" && i > 0 {
			return fmt.Sprintf("%s[%d].role", field, i), errors.New("a system message may only come first")
		}
	}
	if last := len(msgs) - 1; msgs[last].Role != "user" {
		return fmt.Sprintf("%s[%d].role", field, last), errors.New("the last message must be a user message")
	}
	q.Messages = &msgs
	return "", nil
}

// metadataOf keeps the fields of a line no mapping used, as the
// question's metadata.
func metadataOf(fields map[string]json.RawMessage, used ...string) map[string]any {
	var md map[string]any
	for k, raw := range fields {
		if slices.Contains(used, k) {
			continue
		}
		var v any
		if json.Unmarshal(raw, &v) != nil {
			continue
		}
		if md == nil {
			md = map[string]any{}
		}
		md[k] = v
	}
	return md
}

// setMetadata sets q's metadata when md has any entry.
func setMetadata(q *oapi.CreateQuestionRequest, md map[string]any) {
	if len(md) > 0 {
		m := oapi.QuestionMetadata(md)
		q.Metadata = &m
	}
}

// eachJSONElement calls fn for every element of a JSON array of objects
// with the line the element starts on. An element that is not an object
// is reported; a malformed array is reported on the line of the problem
// and ends the reading.
func (p *parser) eachJSONElement(body []byte, fn func(line int, fields map[string]json.RawMessage)) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the [
		p.fail(1, "", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
		return nil
	}
	for dec.More() {
		// The offset is just past the previous token: skip the comma
		// and spaces to the element's first byte.
		start := int(dec.InputOffset())
		line := lineAt(body, start+len(body[start:])-len(bytes.TrimLeft(body[start:], " \t\r\n,")))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			p.fail(line, "", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
			return nil
		}
		if err := p.item(); err != nil {
			return err
		}
		fields, err := decodeObject(raw)
		if err != nil {
			p.fail(line, "", "%s", err)
			continue
		}
		fn(line, fields)
	}
	if _, err := dec.Token(); err != nil { // the ]
		p.fail(lineAt(body, int(dec.InputOffset())), "", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// lineAt is the line (from 1) of the byte at offset.
func lineAt(body []byte, offset int) int {
	return bytes.Count(body[:min(offset, len(body))], []byte("\n")) + 1
}
