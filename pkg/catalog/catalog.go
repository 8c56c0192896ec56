// Package catalog holds what users register before they run anything:
// providers, models, question suites and their questions, and benchmarks.
// It defines the domain types and the rules a value must meet; persistence
// lives in pkg/store.
package catalog

import (
	"encoding/json"
	"maps"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/scoring"
)

// ProviderKind names the wire format a provider speaks.
type ProviderKind string

// The provider kinds SABE knows.
const (
	KindOpenAI    ProviderKind = "openai"
	KindAnthropic ProviderKind = "anthropic"
	KindGoogle    ProviderKind = "google"
)

// ProviderLimits bound how SABE calls a provider, across the whole worker
// fleet. Zero means no limit.
type ProviderLimits struct {
	// RequestsPerMinute caps calls started per minute.
	RequestsPerMinute int `json:"requests_per_minute,omitempty"`
	// TokensPerMinute caps tokens (input + output) per minute.
	TokensPerMinute int `json:"tokens_per_minute,omitempty"`
	// MaxConcurrency caps calls in flight at once.
	MaxConcurrency int `json:"max_concurrency,omitempty"`
	// QuotaPauseSeconds is how long the provider's tasks wait after a quota
	// answer that does not say when the quota resets (default 3600).
	QuotaPauseSeconds int `json:"quota_pause_seconds,omitempty"`
}

// Provider is an endpoint SABE calls. The key itself never leaves the store
// except decrypted in a worker's memory; HasAPIKey says whether one is set.
type Provider struct {
	ID      uuid.UUID
	Name    string
	Kind    ProviderKind
	BaseURL string
	// HeaderNames are the names of the extra headers, sorted. Their values
	// are credentials as often as not: like the key, they leave the store
	// only decrypted in the memory of a process about to call the provider.
	HeaderNames []string
	HasAPIKey   bool
	// KeyFingerprint is secrets.KeyFingerprint of the stored key: "" when
	// there is no key, or when it was stored before fingerprints were kept.
	KeyFingerprint string
	Limits         ProviderLimits
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ProviderInput creates a provider. APIKey is plaintext and only ever held in
// memory until the store encrypts it.
type ProviderInput struct {
	Name    string
	Kind    ProviderKind
	BaseURL string
	APIKey  string
	Headers map[string]string
	Limits  ProviderLimits
}

// ProviderPatch changes a provider; nil fields stay as they are.
type ProviderPatch struct {
	Name    *string
	BaseURL *string
	APIKey  *string
	// Headers changes headers one by one, since their values cannot be
	// read back to be resent: a value sets or replaces the header of that
	// name (in any case), nil removes it, and headers not named are kept.
	Headers map[string]*string
	Limits  *ProviderLimits
}

// MergeHeaders applies a patch's header changes to current and returns the
// result; current is not modified. Names match case-insensitively, as in
// HTTP; a replaced header takes the patch's spelling.
func MergeHeaders(current map[string]string, patch map[string]*string) map[string]string {
	out := make(map[string]string, len(current)+len(patch))
	maps.Copy(out, current)
	for k, v := range patch {
		for old := range out {
			if strings.EqualFold(old, k) {
				delete(out, old)
			}
		}
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// RequestOverrides adapt SABE's request to what a model accepts: some
// models reject temperature or want max_completion_tokens.
type RequestOverrides struct {
	MaxTokensField  string         `json:"max_tokens_field,omitempty"`
	OmitTemperature bool           `json:"omit_temperature,omitempty"`
	ExtraBody       map[string]any `json:"extra_body,omitempty"`
	// StructuredOutput says whether the model accepts a JSON-schema output
	// format (OpenAI response_format, Anthropic forced tool call, Gemini
	// responseSchema); nil means it does. A judge model marked false is
	// asked for JSON in the text of its answer instead.
	StructuredOutput *bool `json:"structured_output,omitempty"`
}

// SupportsStructuredOutput reports whether the model may be sent an
// output schema: unless the overrides say otherwise, it may.
func (o RequestOverrides) SupportsStructuredOutput() bool {
	return o.StructuredOutput == nil || *o.StructuredOutput
}

// Model is a model behind a provider, with its prices.
type Model struct {
	ID                uuid.UUID
	ProviderID        uuid.UUID
	Name              string
	ProviderModelID   string
	InputCostPerMTok  float64
	OutputCostPerMTok float64
	Overrides         RequestOverrides
	// ArchivedAt is when the model was archived (deleted while a benchmark
	// or run refers to it); nil while it is active.
	ArchivedAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ModelPatch changes a model; nil fields stay as they are.
type ModelPatch struct {
	Name              *string
	ProviderModelID   *string
	InputCostPerMTok  *float64
	OutputCostPerMTok *float64
	Overrides         *RequestOverrides
}

// The roles of a chat turn.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one chat turn: of a question asked as a conversation, or of a
// suite's few-shot examples.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Suite is a named set of questions.
type Suite struct {
	ID          uuid.UUID
	Name        string
	Description string
	// FewShot are chat turns (worked examples) asked before every question
	// of the suite. Each question revision keeps the turns the suite had
	// when it was made, so changing them revises every active question.
	FewShot []Message
	// PromptTemplate turns an import's variables (promptfoo's vars, CSV
	// columns) into each question's prompt; "" when the suite has none.
	// Questions keep the prompt it gave them when they were imported.
	PromptTemplate string
	QuestionCount  int
	// ArchivedAt is when the suite was archived; nil while it is active.
	ArchivedAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// SuiteInput creates a suite.
type SuiteInput struct {
	Name        string
	Description string
	// FewShot are the suite's few-shot turns; none when empty.
	FewShot        []Message
	PromptTemplate string
}

// SuitePatch changes a suite; nil fields stay as they are.
type SuitePatch struct {
	Name        *string
	Description *string
	// FewShot replaces the suite's few-shot turns (an empty list removes
	// them) and makes a new revision of each of its active questions.
	FewShot *[]Message
	// PromptTemplate replaces the suite's prompt template ("" removes
	// it); questions already imported keep their prompts.
	PromptTemplate *string
}

// Question is the current revision of a question. Revisions are immutable:
// editing a question makes revision n+1, and runs keep the one they used.
type Question struct {
	ID         uuid.UUID
	SuiteID    uuid.UUID
	Revision   int
	RevisionID uuid.UUID
	Prompt     string
	// Messages is the conversation asked instead of Prompt; nil when the
	// question is a plain prompt.
	Messages []Message
	// Choices are the options of a multiple-choice question, asked as
	// "A. …" lines after the prompt; nil otherwise.
	Choices        []string
	Category       string
	ExpectedAnswer string
	// Scoring is the question's own rule; the zero Rule means none, and
	// the benchmark's config.scoring applies.
	Scoring scoring.Rule
	// FewShot are the suite's few-shot turns as of this revision.
	FewShot []Message
	// Key names the question within its suite, kept across revisions;
	// "" when it has none.
	Key string
	// Metadata is free-form data of the revision, never sent to models;
	// nil when there is none.
	Metadata map[string]any
	// ArchivedAt is when the question was removed from its suite; nil
	// while it is active.
	ArchivedAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// QuestionInput is the content of a question revision.
// Exactly one of Prompt and Messages is set. Scoring may be left out (the
// zero Rule): the benchmark's default scoring then applies.
type QuestionInput struct {
	Prompt         string       `json:"prompt,omitempty"`
	Messages       []Message    `json:"messages,omitempty"`
	Choices        []string     `json:"choices,omitempty"`
	Category       string       `json:"category"`
	ExpectedAnswer string       `json:"expected_answer"`
	Scoring        scoring.Rule `json:"scoring"`
	// Key names the question within its suite ("" for none): unique among
	// the suite's active questions, kept across revisions.
	Key string `json:"key,omitempty"`
	// Metadata is free-form JSON kept with the revision (at most
	// MaxMetadataBytes encoded); nil for none.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// The defaults of a benchmark config's fields that a request leaves out:
// deterministic answers, room for a worked answer, each question once.
const (
	DefaultTemperature = 0.0
	DefaultMaxTokens   = 1024
	DefaultSamples     = 1
)

// BenchmarkConfig is how a benchmark asks its questions.
type BenchmarkConfig struct {
	Temperature  float64 `json:"temperature"`
	MaxTokens    int     `json:"max_tokens"`
	Samples      int     `json:"samples"`
	SystemPrompt string  `json:"system_prompt,omitempty"`
	// MaxCostUSD stops a run from starting new units once its spend
	// reaches it; nil means no cap.
	MaxCostUSD *float64 `json:"max_cost_usd,omitempty"`
	// TimeoutSeconds is a run's deadline from its creation; 0 means none.
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
	// Scoring is the rule of every question that has none of its own; nil
	// when there is no default (then every question needs its own).
	Scoring *scoring.Rule `json:"scoring,omitempty"`
	// JudgeModelIDs are the judges of llm_judge rules that name none.
	JudgeModelIDs []uuid.UUID `json:"judge_model_ids,omitempty"`
}

// Benchmark groups suites and models under one configuration.
type Benchmark struct {
	ID        uuid.UUID
	Name      string
	SuiteIDs  []uuid.UUID
	ModelIDs  []uuid.UUID
	Config    BenchmarkConfig
	UnitCount int
	// Schedule is nil when the benchmark has none.
	Schedule *Schedule
	// NextRunAt is the schedule's next occurrence; nil unless the
	// schedule is active (enabled, not blocked, benchmark not archived).
	NextRunAt *time.Time
	// ArchivedAt is when the benchmark was archived (deleted while it had
	// runs); nil while it is active. Archiving disables its schedule.
	ArchivedAt *time.Time
	// BudgetMaxCostUSDMonth is the admin-set spend budget, in US dollars
	// per UTC month, of all the benchmark's runs; nil when none is set.
	BudgetMaxCostUSDMonth *float64
	// Alerts are the regression alert settings; nil when there are none.
	Alerts    *AlertSettings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// BenchmarkInput creates a benchmark.
type BenchmarkInput struct {
	Name     string
	SuiteIDs []uuid.UUID
	ModelIDs []uuid.UUID
	Config   BenchmarkConfig
	Schedule *Schedule
	// Alerts are the regression alert settings, defaults filled in; nil
	// for none.
	Alerts *AlertSettings
}

// BenchmarkPatch changes a benchmark; nil fields stay as they are.
type BenchmarkPatch struct {
	Name     *string
	SuiteIDs []uuid.UUID
	ModelIDs []uuid.UUID
	Config   *BenchmarkConfig
	Schedule *SchedulePatch
	// Alerts replaces the regression alert settings as a whole;
	// RemoveAlerts removes them (Alerts is then nil).
	Alerts       *AlertSettings
	RemoveAlerts bool
}

// MarshalOverrides encodes overrides for storage.
func MarshalOverrides(o RequestOverrides) json.RawMessage {
	b, _ := json.Marshal(o) // a struct of plain fields and a JSON-decoded map cannot fail
	return b
}
