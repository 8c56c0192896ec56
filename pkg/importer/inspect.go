package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// The fields of an inspect_ai Sample that map to a question; any other
// field of a JSON sample (or column of a CSV one) is kept in the
// question's metadata.
var inspectFields = []string{"input", "target", "choices", "id", "metadata"}

// inspectJSON reads an inspect_ai dataset in JSON Lines, or a JSON array
// of samples (what json_dataset reads from a .json file).
func (p *parser) inspectJSON(body []byte) error {
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '[' {
		return p.eachJSONElement(body, p.inspectSample)
	}
	return p.eachJSONLine(body, func(line int, _ []byte, fields map[string]json.RawMessage) { p.inspectSample(line, fields) })
}

// inspectSample maps one sample, as inspect_ai's default FieldSpec reads
// it:
//   - input: a string, or chat messages (system, user, assistant; tool
//     turns are refused);
//   - choices: the options of a multiple-choice question, scored with
//     multiple_choice against target, the correct letter;
//   - target otherwise: scored as inspect's includes() scorer does, the
//     answer contains the target (ignoring case), or one of a list of
//     targets (contains_any); no target leaves the rule to the benchmark;
//   - id (a string or an integer) becomes the key; metadata, an object,
//     the metadata, with every other field of the sample added.
func (p *parser) inspectSample(line int, fields map[string]json.RawMessage) {
	var q oapi.CreateQuestionRequest
	bad := len(p.bad)
	if raw, ok := fields["input"]; !ok {
		p.fail(line, "input", "is required")
	} else if field, err := input(&q, "input", raw); err != nil {
		p.fail(line, field, "%s", err)
	}
	var targets []string
	if raw, ok := fields["target"]; ok && !isNull(raw) {
		list, at, err := inspectTarget(raw)
		if err != nil {
			p.fail(line, "target"+at, "%s", err)
		}
		targets = list
	}
	if raw, ok := fields["choices"]; ok && !isNull(raw) {
		var choices []string
		if err := json.Unmarshal(raw, &choices); err != nil {
			p.fail(line, "choices", "must be a list of strings, not %s", jsonKind(raw))
		} else {
			q.Choices = &choices
		}
	}
	if raw, ok := fields["id"]; ok && !isNull(raw) {
		key, err := sampleID(raw)
		if err != nil {
			p.fail(line, "id", "%s", err)
		} else {
			q.Key = &key
		}
	}
	md := metadataOf(fields, inspectFields...)
	if raw, ok := fields["metadata"]; ok && !isNull(raw) {
		own, err := metadataObject(raw)
		if err != nil {
			p.fail(line, "metadata", "%s", err)
		}
		md = merge(md, own)
	}
	if len(p.bad) > bad {
		return
	}
	if err := inspectScoring(&q, targets); err != nil {
		p.fail(line, "target", "%s", err)
		return
	}
	setMetadata(&q, md)
	p.add(line, q)
}

// inspectScoring sets q's expected answer and rule from its targets and
// choices.
func inspectScoring(q *oapi.CreateQuestionRequest, targets []string) error {
	switch {
	case q.Choices != nil:
		if len(targets) != 1 {
			return fmt.Errorf("a multiple-choice sample needs exactly one target (the correct letter), got %d", len(targets))
		}
		q.ExpectedAnswer = targets[0]
		q.Scoring = oapi.Scoring{Method: "multiple_choice"}
	case len(targets) == 1:
		q.ExpectedAnswer = targets[0]
		q.Scoring = oapi.Scoring{Method: "contains"}
	case len(targets) > 1:
		q.ExpectedAnswer = targets[0]
		values := targets
		q.Scoring = oapi.Scoring{Method: "contains_any", Values: &values}
	}
	return nil
}

// inspectTarget reads a target as inspect_ai does: a list is a list of
// targets, anything else one target (numbers as they are written).
func inspectTarget(raw json.RawMessage) ([]string, string, error) {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		s, err := scalarString(raw)
		if err != nil {
			return nil, "", err
		}
		if strings.TrimSpace(s) == "" {
			return nil, "", nil
		}
		return []string{s}, "", nil
	}
	out := make([]string, 0, len(list))
	for i, r := range list {
		s, err := scalarString(r)
		if err != nil {
			return nil, fmt.Sprintf("[%d]", i), err
		}
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Sprintf("[%d]", i), errors.New("must not be empty")
		}
		out = append(out, s)
	}
	return out, "", nil
}

// scalarString renders a JSON string, number or boolean as text.
func scalarString(raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case float64, bool:
		return strings.TrimSpace(string(raw)), nil
	}
	return "", fmt.Errorf("must be a string, not %s", jsonKind(raw))
}

// sampleID reads a sample's id, a string or an integer, as a key.
func sampleID(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if strings.TrimSpace(s) == "" {
			return "", errors.New("must not be empty")
		}
		return s, nil
	}
	var n float64
	if json.Unmarshal(raw, &n) == nil && n == math.Trunc(n) && math.Abs(n) < 1<<53 {
		return strconv.FormatInt(int64(n), 10), nil
	}
	return "", fmt.Errorf("must be a string or an integer, not %s", jsonKind(raw))
}

// metadataObject reads a metadata field: an object, or (in CSV, as
// inspect_ai reads it) a string holding a JSON object.
func metadataObject(raw json.RawMessage) (map[string]any, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var md map[string]any
	if err := json.Unmarshal(raw, &md); err != nil || md == nil {
		return nil, errors.New("must be a JSON object")
	}
	return md, nil
}

// merge adds b's entries to a (b wins) and returns it.
func merge(a, b map[string]any) map[string]any {
	if a == nil {
		return b
	}
	for k, v := range b {
		a[k] = v
	}
	return a
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// inspectCSV reads an inspect_ai CSV dataset: columns input (required),
// target, choices (options separated by commas, or by spaces when there
// is no comma, as inspect_ai splits them), id and metadata (a JSON
// object); other columns go to the metadata.
func (p *parser) inspectCSV(body []byte) error {
	f, err := p.readCSV(body)
	if err != nil || f == nil {
		return err
	}
	if f.col("input") < 0 {
		p.fail(1, "input", "the header has no input column")
		return nil
	}
	for _, row := range f.rows {
		fields := map[string]json.RawMessage{}
		for i, h := range f.header {
			v := row.fields[i]
			if h == "choices" {
				if strings.TrimSpace(v) == "" {
					continue
				}
				b, _ := json.Marshal(splitChoices(v))
				fields[h] = b
				continue
			}
			if (h == "id" || h == "metadata" || h == "target") && strings.TrimSpace(v) == "" {
				continue
			}
			b, _ := json.Marshal(v)
			fields[h] = b
		}
		p.inspectSample(row.line, fields)
	}
	return nil
}

// splitChoices splits a CSV cell of choices as inspect_ai does: by
// commas, or by whitespace when there is no comma.
func splitChoices(s string) []string {
	parts := strings.Split(s, ",")
	if len(parts) == 1 {
		parts = strings.Fields(s)
	}
	out := make([]string, 0, len(parts))
	for _, c := range parts {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}
