package catalog

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

// Limits on user input. The OpenAPI document states the same bounds, so a
// request is refused early with the field named; these checks keep the
// domain safe when it is driven from elsewhere (CLI, imports).
const (
	MaxNameLength           = 200
	MaxDescriptionLength    = 4000
	MaxPromptLength         = 32768
	MaxExpectedAnswerLength = 4096
	MaxCategoryLength       = 200
	MaxSystemPromptLength   = 32768
	MaxHeaders              = 20
	MaxSamples              = 100
	MaxTokensLimit          = 1_000_000
	MaxBenchmarkMembers     = 100
	// MaxMessages bounds the chat turns of a question and of a suite's
	// few-shot examples; their contents together are bounded by
	// MaxPromptLength, like a prompt.
	MaxMessages = 100
	// MinChoices and MaxChoices bound a multiple-choice question's
	// options: one letter each, A to Z.
	MinChoices      = 2
	MaxChoices      = 26
	MaxChoiceLength = 1000
	// MaxJudges bounds the judges a benchmark names by default.
	MaxJudges = 10
	// MaxKeyLength bounds a question's key (QuestionKey).
	MaxKeyLength = 200
	// MaxMetadataBytes bounds a question's metadata, JSON-encoded.
	MaxMetadataBytes = 16 << 10
	// MaxPromptTemplateLength bounds a suite's prompt template.
	MaxPromptTemplateLength = 32768
)

// keyPattern is the QuestionKey schema's pattern: no leading or trailing
// white space, and (as "." does not match it) no line break inside.
var keyPattern = regexp.MustCompile(`^[^\s](.*[^\s])?$`)

func checkText(field, v string, required bool, max int) error {
	if required && strings.TrimSpace(v) == "" {
		return fault.Invalid(field, "must not be empty")
	}
	if utf8.RuneCountInString(v) > max {
		return fault.Invalid(field, "must be at most %d characters", max)
	}
	if !utf8.ValidString(v) {
		return fault.Invalid(field, "must be valid UTF-8")
	}
	return nil
}

// Validate checks a new provider. Whether the base URL is allowed is
// decided by the caller, which knows the operator's address policy.
func (in ProviderInput) Validate() error {
	if err := checkText("name", in.Name, true, MaxNameLength); err != nil {
		return err
	}
	switch in.Kind {
	case KindOpenAI, KindAnthropic, KindGoogle:
	default:
		return fault.Invalid("kind", "must be one of openai, anthropic, google")
	}
	if len(in.APIKey) > 4096 {
		return fault.Invalid("api_key", "must be at most 4096 characters")
	}
	if err := in.Limits.Validate("limits"); err != nil {
		return err
	}
	return validateHeaders(in.Headers)
}

// Validate checks limits under the given field prefix.
func (l ProviderLimits) Validate(field string) error {
	for _, c := range []struct {
		name string
		v    int
		max  int
	}{
		{"requests_per_minute", l.RequestsPerMinute, 1_000_000},
		{"tokens_per_minute", l.TokensPerMinute, 1_000_000_000},
		{"max_concurrency", l.MaxConcurrency, 100_000},
		{"quota_pause_seconds", l.QuotaPauseSeconds, 7 * 24 * 3600},
	} {
		if c.v < 0 || c.v > c.max {
			return fault.Invalid(field+"."+c.name, "must be between 0 (no limit) and %d", c.max)
		}
	}
	return nil
}

// Validate checks a provider change.
func (p ProviderPatch) Validate() error {
	if p.Name != nil {
		if err := checkText("name", *p.Name, true, MaxNameLength); err != nil {
			return err
		}
	}
	if p.APIKey != nil && len(*p.APIKey) > 4096 {
		return fault.Invalid("api_key", "must be at most 4096 characters")
	}
	if p.Limits != nil {
		if err := p.Limits.Validate("limits"); err != nil {
			return err
		}
	}
	return validateHeaders(p.Headers)
}

// reservedHeaders are set by SABE itself; letting users override them would
// let a provider's configuration leak or replace its key.
var reservedHeaders = map[string]bool{"authorization": true, "x-api-key": true, "x-goog-api-key": true, "content-type": true, "content-length": true, "host": true}

// validateHeaders refuses, when a provider is written, every header that
// net/http would refuse at each call: names must be RFC 7230 tokens and
// values free of control characters (tab aside). HTTP names are
// case-insensitive, so two spellings of one name would overwrite each other
// on the wire and are refused too. Messages never repeat a value: values
// are credentials.
func validateHeaders[V string | *string](h map[string]V) error {
	if len(h) > MaxHeaders {
		return fault.Invalid("headers", "at most %d headers", MaxHeaders)
	}
	seen := make(map[string]string, len(h))
	for k, v := range h {
		if k == "" || len(k) > 100 || !httpguts.ValidHeaderFieldName(k) {
			return fault.Invalid("headers", "%q is not a valid header name (letters, digits and !#$%%&'*+-.^_`|~ only)", k)
		}
		lk := strings.ToLower(k)
		if other, dup := seen[lk]; dup {
			return fault.Invalid("headers", "%q and %q name the same header", min(k, other), max(k, other))
		}
		seen[lk] = k
		field := "headers." + k
		if reservedHeaders[lk] {
			return fault.Invalid(field, "is set by SABE and cannot be overridden")
		}
		if val, ok := headerValue(v); ok && (len(val) > 1000 || !httpguts.ValidHeaderFieldValue(val)) {
			return fault.Invalid(field, "is not a valid header value (at most 1000 bytes, no control characters)")
		}
	}
	return nil
}

// headerValue reads a header's value from a creation (string) or a patch
// (*string, nil when the header is removed).
func headerValue[V string | *string](v V) (string, bool) {
	switch v := any(v).(type) {
	case string:
		return v, true
	case *string:
		if v == nil {
			return "", false
		}
		return *v, true
	}
	return "", false
}

// Validate checks a model's request overrides under the given field prefix.
func (o RequestOverrides) Validate(field string) error {
	switch o.MaxTokensField {
	case "", "max_tokens", "max_completion_tokens":
	default:
		return fault.Invalid(field+".max_tokens_field", "must be max_tokens or max_completion_tokens")
	}
	for k := range o.ExtraBody {
		switch k {
		case "model", "messages", "stream", "stream_options":
			return fault.Invalid(field+".extra_body."+k, "is set by SABE and cannot be overridden")
		}
	}
	if len(o.ExtraBody) > 50 {
		return fault.Invalid(field+".extra_body", "at most 50 keys")
	}
	return nil
}

func checkCost(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e6 {
		return fault.Invalid(field, "must be between 0 and 1000000")
	}
	return nil
}

// Validate checks a new model.
func (m Model) Validate() error {
	if err := checkText("name", m.Name, true, MaxNameLength); err != nil {
		return err
	}
	if err := checkText("provider_model_id", m.ProviderModelID, true, MaxNameLength); err != nil {
		return err
	}
	if err := checkCost("input_cost_per_mtok", m.InputCostPerMTok); err != nil {
		return err
	}
	if err := checkCost("output_cost_per_mtok", m.OutputCostPerMTok); err != nil {
		return err
	}
	return m.Overrides.Validate("request_overrides")
}

// Validate checks a model change.
func (p ModelPatch) Validate() error {
	if p.Name != nil {
		if err := checkText("name", *p.Name, true, MaxNameLength); err != nil {
			return err
		}
	}
	if p.ProviderModelID != nil {
		if err := checkText("provider_model_id", *p.ProviderModelID, true, MaxNameLength); err != nil {
			return err
		}
	}
	if p.InputCostPerMTok != nil {
		if err := checkCost("input_cost_per_mtok", *p.InputCostPerMTok); err != nil {
			return err
		}
	}
	if p.OutputCostPerMTok != nil {
		if err := checkCost("output_cost_per_mtok", *p.OutputCostPerMTok); err != nil {
			return err
		}
	}
	if p.Overrides != nil {
		return p.Overrides.Validate("request_overrides")
	}
	return nil
}

// Validate checks a new suite.
func (in SuiteInput) Validate() error {
	if err := checkText("name", in.Name, true, MaxNameLength); err != nil {
		return err
	}
	if err := checkText("description", in.Description, false, MaxDescriptionLength); err != nil {
		return err
	}
	if err := ValidateFewShot("few_shot", in.FewShot); err != nil {
		return err
	}
	return checkText("prompt_template", in.PromptTemplate, false, MaxPromptTemplateLength)
}

// Validate checks a suite change.
func (p SuitePatch) Validate() error {
	if p.Name != nil {
		if err := checkText("name", *p.Name, true, MaxNameLength); err != nil {
			return err
		}
	}
	if p.Description != nil {
		if err := checkText("description", *p.Description, false, MaxDescriptionLength); err != nil {
			return err
		}
	}
	if p.PromptTemplate != nil {
		if err := checkText("prompt_template", *p.PromptTemplate, false, MaxPromptTemplateLength); err != nil {
			return err
		}
	}
	if p.FewShot != nil {
		return ValidateFewShot("few_shot", *p.FewShot)
	}
	return nil
}

// ValidateFewShot checks a suite's few-shot turns under the given field:
// worked examples of user and assistant turns (a system prompt belongs in
// the benchmark's config), ending with an assistant turn so that the
// question's own user turn follows an answer. Empty means none.
func ValidateFewShot(field string, turns []Message) error {
	if len(turns) == 0 {
		return nil
	}
	if err := checkTurns(field, turns); err != nil {
		return err
	}
	for i, m := range turns {
		if m.Role == RoleSystem {
			return fault.Invalid(fmt.Sprintf("%s[%d].role", field, i), "must be user or assistant (put a system prompt in the benchmark's config.system_prompt)")
		}
	}
	if last := len(turns) - 1; turns[last].Role != RoleAssistant {
		return fault.Invalid(fmt.Sprintf("%s[%d].role", field, last), "the last few-shot turn must be an assistant turn")
	}
	return nil
}

// checkTurns checks what every list of chat turns must meet: a bounded
// count, known roles, non-empty contents, and MaxPromptLength characters
// in all, like one prompt.
func checkTurns(field string, turns []Message) error {
	if len(turns) > MaxMessages {
		return fault.Invalid(field, "at most %d turns", MaxMessages)
	}
	total := 0
	for i, m := range turns {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch m.Role {
		case RoleSystem, RoleUser, RoleAssistant:
		default:
			return fault.Invalid(at+".role", "must be one of system, user, assistant")
		}
		if err := checkText(at+".content", m.Content, true, MaxPromptLength); err != nil {
			return err
		}
		total += utf8.RuneCountInString(m.Content)
	}
	if total > MaxPromptLength {
		return fault.Invalid(field, "contents must be at most %d characters in all", MaxPromptLength)
	}
	return nil
}

// validateMessages checks a question's conversation: a system turn only
// first, and a user turn last (the turn the model answers).
func validateMessages(turns []Message) error {
	if len(turns) == 0 {
		return fault.Invalid("messages", "must hold at least one turn")
	}
	if err := checkTurns("messages", turns); err != nil {
		return err
	}
	for i, m := range turns {
		if m.Role == RoleSystem && i > 0 {
			return fault.Invalid(fmt.Sprintf("messages[%d].role", i), "a system turn may only come first")
		}
	}
	if last := len(turns) - 1; turns[last].Role != RoleUser {
		return fault.Invalid(fmt.Sprintf("messages[%d].role", last), "the last turn must be a user turn")
	}
	return nil
}

// validateChoices checks a multiple-choice question's options.
func validateChoices(choices []string) error {
	if choices == nil {
		return nil
	}
	if len(choices) < MinChoices || len(choices) > MaxChoices {
		return fault.Invalid("choices", "must list between %d and %d options", MinChoices, MaxChoices)
	}
	for i, c := range choices {
		if err := checkText(fmt.Sprintf("choices[%d]", i), c, true, MaxChoiceLength); err != nil {
			return err
		}
	}
	return nil
}

// HasScoring reports whether a rule is set: the zero Rule is a question's
// way of saying the benchmark's default scoring applies.
func HasScoring(r scoring.Rule) bool { return !r.IsZero() }

// Validate checks a question's content: exactly one of prompt and
// messages, its choices, and that its scoring rule, when it has one,
// compiles against its expected answer and choices.
func (q QuestionInput) Validate() error {
	switch {
	case q.Prompt != "" && q.Messages != nil:
		return fault.Invalid("messages", "give either prompt or messages, not both")
	case q.Messages != nil:
		if err := validateMessages(q.Messages); err != nil {
			return err
		}
	default:
		if err := checkText("prompt", q.Prompt, true, MaxPromptLength); err != nil {
			return err
		}
	}
	if err := validateChoices(q.Choices); err != nil {
		return err
	}
	if err := checkText("category", q.Category, false, MaxCategoryLength); err != nil {
		return err
	}
	if err := checkText("expected_answer", q.ExpectedAnswer, false, MaxExpectedAnswerLength); err != nil {
		return err
	}
	if err := ValidateKey(q.Key); err != nil {
		return err
	}
	if err := validateMetadata(q.Metadata); err != nil {
		return err
	}
	if !HasScoring(q.Scoring) {
		return nil
	}
	return q.Scoring.Validate(scoring.QuestionRef{Expected: q.ExpectedAnswer, Choices: q.Choices})
}

// ValidateKey checks a question's key as the QuestionKey schema does; ""
// (no key) is valid. Imports and sabe apply reach the store without the
// document's validator, so the domain holds the same rule.
func ValidateKey(key string) error {
	if key == "" {
		return nil
	}
	if err := checkText("key", key, false, MaxKeyLength); err != nil {
		return err
	}
	if !keyPattern.MatchString(key) {
		return fault.Invalid("key", "must not start or end with white space or hold a line break")
	}
	return nil
}

// validateMetadata checks that a question's metadata encodes (JSON has
// no NaN) within MaxMetadataBytes.
func validateMetadata(m map[string]any) error {
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fault.Invalid("metadata", "must be JSON")
	}
	if len(b) > MaxMetadataBytes {
		return fault.Invalid("metadata", "must be at most %d bytes encoded (it is %d)", MaxMetadataBytes, len(b))
	}
	return nil
}

// Validate checks a benchmark configuration under the given field prefix.
func (c BenchmarkConfig) Validate(field string) error {
	if math.IsNaN(c.Temperature) || c.Temperature < 0 || c.Temperature > 2 {
		return fault.Invalid(field+".temperature", "must be between 0 and 2")
	}
	if c.MaxTokens < 1 || c.MaxTokens > MaxTokensLimit {
		return fault.Invalid(field+".max_tokens", "must be between 1 and %d", MaxTokensLimit)
	}
	if c.Samples < 1 || c.Samples > MaxSamples {
		return fault.Invalid(field+".samples", "must be between 1 and %d", MaxSamples)
	}
	if err := ValidateMaxCost(field+".max_cost_usd", c.MaxCostUSD); err != nil {
		return err
	}
	if c.TimeoutSeconds < 0 || c.TimeoutSeconds > 30*24*3600 {
		return fault.Invalid(field+".timeout_seconds", "must be between 0 (no deadline) and %d", 30*24*3600)
	}
	if err := checkText(field+".system_prompt", c.SystemPrompt, false, MaxSystemPromptLength); err != nil {
		return err
	}
	if len(c.JudgeModelIDs) > MaxJudges {
		return fault.Invalid(field+".judge_model_ids", "at most %d judges", MaxJudges)
	}
	for i, id := range c.JudgeModelIDs {
		if slices.Index(c.JudgeModelIDs, id) < i {
			return fault.Invalid(fmt.Sprintf("%s.judge_model_ids[%d]", field, i), "is listed twice")
		}
	}
	if c.Scoring != nil {
		return ValidateDefaultScoring(field+".scoring", *c.Scoring)
	}
	return nil
}

// MaxCostUSDLimit bounds a spend cap; beyond it a cap is no cap.
const MaxCostUSDLimit = 1e9

// ValidateMaxCost checks an optional spend cap (a benchmark's or a run's)
// under the given field name: nil means no cap; otherwise above 0 and at
// most MaxCostUSDLimit.
func ValidateMaxCost(field string, v *float64) error {
	if v != nil && (math.IsNaN(*v) || *v <= 0 || *v > MaxCostUSDLimit) {
		return fault.Invalid(field, "must be above 0 and at most 1000000000")
	}
	return nil
}

// Validate checks a new benchmark's fields, but neither that its suites
// and models exist nor its config: the store checks those, in that order,
// so an unknown member is reported before a detail of the config.
func (in BenchmarkInput) Validate() error {
	if err := checkText("name", in.Name, true, MaxNameLength); err != nil {
		return err
	}
	if err := validateMembers("suite_ids", len(in.SuiteIDs)); err != nil {
		return err
	}
	if err := validateMembers("model_ids", len(in.ModelIDs)); err != nil {
		return err
	}
	if err := uniqueIDs("suite_ids", in.SuiteIDs); err != nil {
		return err
	}
	if err := uniqueIDs("model_ids", in.ModelIDs); err != nil {
		return err
	}
	if in.Alerts != nil {
		if err := in.Alerts.Validate("alerts"); err != nil {
			return err
		}
	}
	if in.Schedule != nil {
		return in.Schedule.Validate()
	}
	return nil
}

// Validate checks a benchmark change, but not its members or config (see
// BenchmarkInput.Validate).
func (p BenchmarkPatch) Validate() error {
	if p.Name != nil {
		if err := checkText("name", *p.Name, true, MaxNameLength); err != nil {
			return err
		}
	}
	if p.SuiteIDs != nil {
		if err := validateMembers("suite_ids", len(p.SuiteIDs)); err != nil {
			return err
		}
		if err := uniqueIDs("suite_ids", p.SuiteIDs); err != nil {
			return err
		}
	}
	if p.ModelIDs != nil {
		if err := validateMembers("model_ids", len(p.ModelIDs)); err != nil {
			return err
		}
		if err := uniqueIDs("model_ids", p.ModelIDs); err != nil {
			return err
		}
	}
	if p.Alerts != nil {
		if err := p.Alerts.Validate("alerts"); err != nil {
			return err
		}
	}
	if p.Schedule != nil {
		return p.Schedule.Validate()
	}
	return nil
}

func validateMembers(field string, n int) error {
	if n < 1 || n > MaxBenchmarkMembers {
		return fault.Invalid(field, "must list between 1 and %d ids", MaxBenchmarkMembers)
	}
	return nil
}

func uniqueIDs[T comparable](field string, ids []T) error {
	seen := make(map[T]bool, len(ids))
	for i, id := range ids {
		if seen[id] {
			return fault.Invalid(fmt.Sprintf("%s[%d]", field, i), "is listed twice")
		}
		seen[id] = true
	}
	return nil
}
