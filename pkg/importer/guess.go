package importer

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// guessHead is how much of a file Guess reads.
const guessHead = 8 << 10

// Guess tells a file's format from its name and its start (body may be
// the whole file: Guess reads its first 8 KiB): .yaml and .yml are promptfoo; a CSV file whose
// header has promptfoo's `__` columns, or only variables, is promptfoo,
// one with `input` and `target` is inspect, others csv; a JSON Lines
// file's first object decides: `ideal` is openai-evals, `target` inspect,
// `expected_answer` sabe; a JSON array is inspect (samples with `input`)
// or promptfoo (tests with `vars` or `assert`). A file it cannot tell is an error asking for
// --format.
func Guess(filename string, body []byte) (Format, error) {
	head := trimBOM(body[:min(len(body), guessHead)])
	ext := strings.ToLower(filepath.Ext(filename))
	switch ext {
	case ".yaml", ".yml":
		return FormatPromptfoo, nil
	case ".csv":
		return guessCSV(filename, head)
	case ".jsonl", ".json", ".ndjson":
		return guessJSON(filename, head)
	}
	switch {
	case looksLikeJSON(head):
		return guessJSON(filename, head)
	case looksLikeYAML(head):
		return FormatPromptfoo, nil
	}
	return "", undecided(filename, "neither JSON Lines nor YAML, and its name does not end in .csv")
}

func undecided(filename, why string) error {
	return fmt.Errorf("cannot tell the format of %s (%s): give --format (one of %s)", filename, why, formatNames())
}

func guessCSV(filename string, head []byte) (Format, error) {
	r := csv.NewReader(bytes.NewReader(head))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return "", undecided(filename, "its header row cannot be read")
	}
	cols := make([]string, len(header))
	for i, h := range header {
		cols[i] = strings.ToLower(strings.TrimSpace(h))
	}
	has := func(names ...string) bool {
		return slices.ContainsFunc(cols, func(c string) bool { return slices.Contains(names, c) })
	}
	switch {
	case slices.ContainsFunc(cols, func(c string) bool { return strings.HasPrefix(c, "__") }):
		return FormatPromptfoo, nil
	case has("input") && has("target"):
		return FormatInspect, nil
	case has(csvPromptColumns...) || has(csvExpectedColumns...):
		return FormatCSV, nil
	}
	return FormatPromptfoo, nil
}

func guessJSON(filename string, head []byte) (Format, error) {
	b := bytes.TrimSpace(head)
	if len(b) > 0 && b[0] == '[' {
		// A JSON array: inspect_ai's json_dataset reads samples so, and
		// promptfoo reads tests so; the first element tells them apart.
		dec := json.NewDecoder(bytes.NewReader(b))
		var first map[string]json.RawMessage
		if _, err := dec.Token(); err != nil || dec.Decode(&first) != nil {
			return "", undecided(filename, "its first element is not a JSON object")
		}
		_, vars := first["vars"]
		_, assert := first["assert"]
		_, input := first["input"]
		switch {
		case vars || assert:
			return FormatPromptfoo, nil
		case input:
			return FormatInspect, nil
		}
		return "", undecided(filename, "its first element has neither input (inspect) nor vars or assert (promptfoo)")
	}
	first, _, _ := bytes.Cut(b, []byte("\n"))
	var fields map[string]json.RawMessage
	if json.Unmarshal(first, &fields) != nil {
		return "", undecided(filename, "its first line is not a JSON object")
	}
	_, ideal := fields["ideal"]
	_, target := fields["target"]
	_, expected := fields["expected_answer"]
	switch {
	case ideal && !target && !expected:
		return FormatOpenAIEvals, nil
	case target && !ideal && !expected:
		return FormatInspect, nil
	case expected && !ideal && !target:
		return FormatSabe, nil
	}
	return "", undecided(filename, "its first object has none, or more than one, of ideal (openai-evals), target (inspect) and expected_answer (sabe)")
}
