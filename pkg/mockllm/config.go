package mockllm

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxOversizeBytes bounds Config.OversizeBytes: the padding is built in
// memory for every answer, and a fault spec in a URL must not be able to
// make the mock allocate gigabytes.
const MaxOversizeBytes = 64 << 20

// DefaultQuotaReset is when a quota answer says the quota resets if
// Config.QuotaReset is zero.
const DefaultQuotaReset = time.Hour

// Config shapes how the mock behaves as a provider. The zero value is a
// fast, faultless, keyless provider. Every fault applies to every wire
// format, each in that format's own shape.
type Config struct {
	// Latency is the target total response time of a successful completion.
	Latency time.Duration
	// TTFT is the delay before the first streamed content chunk; zero means
	// Latency/4. The rest of Latency is spread over the remaining chunks.
	TTFT time.Duration
	// ErrorRate is the fraction of completion requests answered 500.
	ErrorRate float64
	// RateLimitRate is the fraction answered 429 with a Retry-After header.
	RateLimitRate float64
	// MalformedRate is the fraction answered 200 with a body (or, when
	// streaming, a first event) that is not valid JSON, as a provider behind
	// a broken proxy does. ErrorRate + RateLimitRate + MalformedRate must not
	// exceed 1.
	MalformedRate float64
	// RetryAfter is what 429 answers ask the client to wait; zero means 1s.
	RetryAfter time.Duration
	// Seed makes the sequence of injected faults reproducible.
	Seed uint64
	// RequireKey makes requests without a key fail with 401, as real
	// providers do.
	RequireKey bool
	// ChunkWords is the number of words per streamed content chunk; zero
	// means 1.
	ChunkWords int
	// HangAfterFirstToken makes every answer stall once its first content
	// chunk is out (for a non-streaming answer: the first half of its body)
	// until the client goes away or the server closes, which is what an idle
	// timeout must catch.
	HangAfterFirstToken bool
	// OversizeBytes, when positive, pads every successful answer's text
	// with one "word" of that many bytes, so the body is at least that
	// large; it is billed as OversizeBytes/4 output tokens, rounded up.
	OversizeBytes int
	// Quota makes every completion request answer the format's
	// quota-exhausted error (see the package documentation).
	Quota bool
	// QuotaReset is how long from now a quota answer says the quota
	// resets; zero means DefaultQuotaReset.
	QuotaReset time.Duration

	// The judge faults below apply to the judge models only (see Judge),
	// after the faults above, drawn from the same per-request draw. Their
	// rates stack like the ones above and must not exceed 1 together.

	// JudgeErrorRate is the fraction of judge requests answered 500.
	JudgeErrorRate float64
	// JudgeRefusalRate is the fraction of judge requests the judge refuses
	// to answer: OpenAI's refusal field, Anthropic stop_reason "refusal",
	// and for Gemini, which has no refusal signal, a refusal in prose.
	JudgeRefusalRate float64
	// JudgeMalformedRate is the fraction answered with a malformed verdict
	// (in a well-formed response): see JudgeMalformedKind.
	JudgeMalformedRate float64
	// JudgeMalformedKind is the kind of malformed verdict: broken_json,
	// truncated, missing_key or out_of_range; empty cycles through them,
	// chosen by the request's draw.
	JudgeMalformedKind string
	// NoStructuredOutput makes the mock a provider without structured
	// output: a request that asks for it (OpenAI response_format
	// json_schema, Anthropic tools, Gemini responseSchema) is answered 400
	// naming that field, for any model.
	NoStructuredOutput bool
}

// Validate reports the first setting that is out of range, by field name.
func (c Config) Validate() error {
	switch {
	case c.Latency < 0:
		//lint:ignore ST1005 each message starts with the setting's field name, as Validate promises
		return errors.New("Latency must not be negative")
	case c.TTFT < 0:
		return errors.New("TTFT must not be negative")
	case !(c.ErrorRate >= 0 && c.ErrorRate <= 1): // also rejects NaN
		return fmt.Errorf("ErrorRate %v must be within [0, 1]", c.ErrorRate)
	case !(c.RateLimitRate >= 0 && c.RateLimitRate <= 1):
		return fmt.Errorf("RateLimitRate %v must be within [0, 1]", c.RateLimitRate)
	case !(c.MalformedRate >= 0 && c.MalformedRate <= 1):
		return fmt.Errorf("MalformedRate %v must be within [0, 1]", c.MalformedRate)
	case c.ErrorRate+c.RateLimitRate+c.MalformedRate > 1:
		return fmt.Errorf("ErrorRate + RateLimitRate + MalformedRate = %v must not exceed 1", c.ErrorRate+c.RateLimitRate+c.MalformedRate)
	case c.RetryAfter < 0:
		return errors.New("RetryAfter must not be negative")
	case c.ChunkWords < 0:
		return errors.New("ChunkWords must not be negative")
	case c.OversizeBytes < 0 || c.OversizeBytes > MaxOversizeBytes:
		return fmt.Errorf("OversizeBytes %d must be within [0, %d]", c.OversizeBytes, MaxOversizeBytes)
	case c.QuotaReset < 0:
		return errors.New("QuotaReset must not be negative")
	case !(c.JudgeErrorRate >= 0 && c.JudgeErrorRate <= 1):
		return fmt.Errorf("JudgeErrorRate %v must be within [0, 1]", c.JudgeErrorRate)
	case !(c.JudgeRefusalRate >= 0 && c.JudgeRefusalRate <= 1):
		return fmt.Errorf("JudgeRefusalRate %v must be within [0, 1]", c.JudgeRefusalRate)
	case !(c.JudgeMalformedRate >= 0 && c.JudgeMalformedRate <= 1):
		return fmt.Errorf("JudgeMalformedRate %v must be within [0, 1]", c.JudgeMalformedRate)
	case c.JudgeErrorRate+c.JudgeRefusalRate+c.JudgeMalformedRate > 1:
		return fmt.Errorf("JudgeErrorRate + JudgeRefusalRate + JudgeMalformedRate = %v must not exceed 1",
			c.JudgeErrorRate+c.JudgeRefusalRate+c.JudgeMalformedRate)
	case c.JudgeMalformedKind != "" && !slices.Contains(malformedKinds, c.JudgeMalformedKind):
		return fmt.Errorf("JudgeMalformedKind %q must be empty or one of %s", c.JudgeMalformedKind, strings.Join(malformedKinds, ", "))
	}
	return nil
}

// withDefaults fills the fields whose zero value means "the default". TTFT
// stays as is: its default depends on Latency, which a fault spec may
// override after this runs.
func (c Config) withDefaults() Config {
	if c.RetryAfter == 0 {
		c.RetryAfter = time.Second
	}
	if c.ChunkWords == 0 {
		c.ChunkWords = 1
	}
	if c.QuotaReset == 0 {
		c.QuotaReset = DefaultQuotaReset
	}
	return c
}

// ttft is the delay before the first content chunk, never longer than the
// whole response is meant to take unless TTFT was set longer on purpose.
func (c *Config) ttft() time.Duration {
	if c.TTFT > 0 {
		return c.TTFT
	}
	return c.Latency / 4
}

// applySpec overrides c with a fault spec from a /faults/<spec>/ path
// prefix: comma-separated key=value items with keys latency, ttft,
// retry_after, quota_reset (Go durations), error_rate, rate_limit_rate,
// malformed_rate (0..1), chunk_words, oversize_bytes (integers),
// require_key, hang_after_first_token and quota (bools), judge_error_rate,
// judge_refusal_rate, judge_malformed_rate (0..1), judge_malformed_kind
// (a kind name) and no_structured_output (bool). The result is
// validated as a whole, so a spec cannot push the rates' sum over 1.
func (c Config) applySpec(spec string) (Config, error) {
	if spec == "" {
		return c, nil
	}
	for item := range strings.SplitSeq(spec, ",") {
		key, value, ok := strings.Cut(item, "=")
		if !ok {
			return c, fmt.Errorf("fault spec item %q is not key=value", item)
		}
		var err error
		switch key {
		case "latency":
			c.Latency, err = time.ParseDuration(value)
		case "ttft":
			c.TTFT, err = time.ParseDuration(value)
		case "retry_after":
			c.RetryAfter, err = time.ParseDuration(value)
			if err == nil && c.RetryAfter == 0 {
				c.RetryAfter = time.Second
			}
		case "error_rate":
			c.ErrorRate, err = strconv.ParseFloat(value, 64)
		case "rate_limit_rate":
			c.RateLimitRate, err = strconv.ParseFloat(value, 64)
		case "malformed_rate":
			c.MalformedRate, err = strconv.ParseFloat(value, 64)
		case "chunk_words":
			c.ChunkWords, err = strconv.Atoi(value)
			if err == nil && c.ChunkWords == 0 {
				c.ChunkWords = 1
			}
		case "oversize_bytes":
			c.OversizeBytes, err = strconv.Atoi(value)
		case "require_key":
			c.RequireKey, err = strconv.ParseBool(value)
		case "hang_after_first_token":
			c.HangAfterFirstToken, err = strconv.ParseBool(value)
		case "quota":
			c.Quota, err = strconv.ParseBool(value)
		case "quota_reset":
			c.QuotaReset, err = time.ParseDuration(value)
			if err == nil && c.QuotaReset == 0 {
				c.QuotaReset = DefaultQuotaReset
			}
		case "judge_error_rate":
			c.JudgeErrorRate, err = strconv.ParseFloat(value, 64)
		case "judge_refusal_rate":
			c.JudgeRefusalRate, err = strconv.ParseFloat(value, 64)
		case "judge_malformed_rate":
			c.JudgeMalformedRate, err = strconv.ParseFloat(value, 64)
		case "judge_malformed_kind":
			c.JudgeMalformedKind = value
		case "no_structured_output":
			c.NoStructuredOutput, err = strconv.ParseBool(value)
		default:
			return c, fmt.Errorf("fault spec key %q is unknown (want latency, ttft, error_rate, rate_limit_rate, malformed_rate, retry_after, "+
				"chunk_words, require_key, hang_after_first_token, oversize_bytes, quota, quota_reset, judge_error_rate, judge_refusal_rate, "+
				"judge_malformed_rate, judge_malformed_kind or no_structured_output)", key)
		}
		if err != nil {
			return c, fmt.Errorf("fault spec %s=%q: invalid value", key, value)
		}
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("fault spec %q: %w", spec, err)
	}
	return c, nil
}
