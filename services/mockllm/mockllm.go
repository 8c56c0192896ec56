// Package mockllm runs the deterministic fake LLM provider (pkg/mockllm) as
// a process: configuration from the environment, a listener, graceful
// shutdown.
package mockllm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/mockllm"
)

// Config is the mockllm process's configuration.
type Config struct {
	// Addr is the listen address (SABE_MOCK_ADDR); port 0 picks a free port.
	Addr string
	// Mock is the provider's behaviour: SABE_MOCK_LATENCY, SABE_MOCK_TTFT,
	// SABE_MOCK_ERROR_RATE, SABE_MOCK_RATE_LIMIT_RATE,
	// SABE_MOCK_MALFORMED_RATE, SABE_MOCK_SEED, SABE_MOCK_REQUIRE_KEY,
	// SABE_MOCK_HANG_AFTER_FIRST_TOKEN, SABE_MOCK_OVERSIZE_BYTES,
	// SABE_MOCK_QUOTA, SABE_MOCK_QUOTA_RESET, and for the judge models
	// SABE_MOCK_JUDGE_ERROR_RATE, SABE_MOCK_JUDGE_REFUSAL_RATE,
	// SABE_MOCK_JUDGE_MALFORMED_RATE, SABE_MOCK_JUDGE_MALFORMED_KIND and
	// SABE_MOCK_NO_STRUCTURED_OUTPUT (see mockllm.Config).
	Mock mockllm.Config
}

// LoadConfig reads the configuration from getenv, applies defaults and
// validates it. The error names every variable that is wrong.
func LoadConfig(getenv func(string) string) (Config, error) {
	var errs []error
	env := func(name, def string) (string, string) {
		return name, cmp.Or(getenv(name), def)
	}
	duration := func(name, value string) time.Duration {
		d, err := time.ParseDuration(value)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (like 250ms or 1s)", name, value))
		case d < 0:
			errs = append(errs, fmt.Errorf("%s: %q must not be negative", name, value))
		}
		return d
	}
	rate := func(name, value string) float64 {
		r, err := strconv.ParseFloat(value, 64)
		if err != nil || !(r >= 0 && r <= 1) {
			errs = append(errs, fmt.Errorf("%s: %q must be a number from 0 to 1", name, value))
		}
		return r
	}
	unsigned := func(name, value string) uint64 {
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q must be an unsigned integer", name, value))
		}
		return n
	}
	size := func(name, value string) int {
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 || n > mockllm.MaxOversizeBytes {
			errs = append(errs, fmt.Errorf("%s: %q must be a byte count from 0 to %d", name, value, mockllm.MaxOversizeBytes))
		}
		return n
	}
	boolean := func(name, value string) bool {
		b, err := strconv.ParseBool(value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q must be true or false", name, value))
		}
		return b
	}

	cfg := Config{Addr: cmp.Or(getenv("SABE_MOCK_ADDR"), "127.0.0.1:8090")}
	cfg.Mock.Latency = duration(env("SABE_MOCK_LATENCY", "0s"))
	cfg.Mock.TTFT = duration(env("SABE_MOCK_TTFT", "0s"))
	cfg.Mock.ErrorRate = rate(env("SABE_MOCK_ERROR_RATE", "0"))
	cfg.Mock.RateLimitRate = rate(env("SABE_MOCK_RATE_LIMIT_RATE", "0"))
	cfg.Mock.Seed = unsigned(env("SABE_MOCK_SEED", "0"))
	cfg.Mock.RequireKey = boolean(env("SABE_MOCK_REQUIRE_KEY", "false"))
	cfg.Mock.MalformedRate = rate(env("SABE_MOCK_MALFORMED_RATE", "0"))
	cfg.Mock.HangAfterFirstToken = boolean(env("SABE_MOCK_HANG_AFTER_FIRST_TOKEN", "false"))
	cfg.Mock.OversizeBytes = size(env("SABE_MOCK_OVERSIZE_BYTES", "0"))
	cfg.Mock.Quota = boolean(env("SABE_MOCK_QUOTA", "false"))
	// 0s leaves the library's default (mockllm.DefaultQuotaReset) in force.
	cfg.Mock.QuotaReset = duration(env("SABE_MOCK_QUOTA_RESET", "0s"))
	cfg.Mock.JudgeErrorRate = rate(env("SABE_MOCK_JUDGE_ERROR_RATE", "0"))
	cfg.Mock.JudgeRefusalRate = rate(env("SABE_MOCK_JUDGE_REFUSAL_RATE", "0"))
	cfg.Mock.JudgeMalformedRate = rate(env("SABE_MOCK_JUDGE_MALFORMED_RATE", "0"))
	cfg.Mock.JudgeMalformedKind = getenv("SABE_MOCK_JUDGE_MALFORMED_KIND")
	cfg.Mock.NoStructuredOutput = boolean(env("SABE_MOCK_NO_STRUCTURED_OUTPUT", "false"))
	if len(errs) == 0 && cfg.Mock.ErrorRate+cfg.Mock.RateLimitRate+cfg.Mock.MalformedRate > 1 {
		errs = append(errs, errors.New("SABE_MOCK_ERROR_RATE + SABE_MOCK_RATE_LIMIT_RATE + SABE_MOCK_MALFORMED_RATE must not exceed 1"))
	}
	if len(errs) == 0 && cfg.Mock.JudgeErrorRate+cfg.Mock.JudgeRefusalRate+cfg.Mock.JudgeMalformedRate > 1 {
		errs = append(errs, errors.New("SABE_MOCK_JUDGE_ERROR_RATE + SABE_MOCK_JUDGE_REFUSAL_RATE + SABE_MOCK_JUDGE_MALFORMED_RATE must not exceed 1"))
	}
	if k := cfg.Mock.JudgeMalformedKind; k != "" && !slices.Contains([]string{mockllm.MalformedBrokenJSON, mockllm.MalformedTruncated,
		mockllm.MalformedMissingKey, mockllm.MalformedOutOfRange}, k) {
		errs = append(errs, fmt.Errorf("SABE_MOCK_JUDGE_MALFORMED_KIND: %q must be broken_json, truncated, missing_key or out_of_range", k))
	}
	if len(errs) == 0 {
		if err := cfg.Mock.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// Usage is what `mockllm --help` prints.
const Usage = `usage: mockllm

Serves a deterministic fake LLM provider speaking the OpenAI, Anthropic and
Gemini wire formats. It takes no flags: it is configured with SABE_MOCK_*
environment variables (README: Configuration). SIGINT or SIGTERM stops it
cleanly (exit 0).`

// Run serves the mock provider until ctx is cancelled, then shuts down
// gracefully. It prints "mockllm listening on <URL>" with the bound address
// once it accepts requests. It takes no arguments: configuration comes from
// the SABE_MOCK_* variables (see Config).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if help, err := command.NoArgs("mockllm", Usage, args, stdout); help || err != nil {
		return err
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	// Errors go out unprefixed: command.Main puts "mockllm: " before them.
	inst, err := mockllm.Listen(ctx, cfg.Addr, cfg.Mock)
	if err != nil {
		return fmt.Errorf("%w (SABE_MOCK_ADDR)", err)
	}
	if _, err := fmt.Fprintf(stdout, "mockllm listening on %s\n", inst.URL); err != nil {
		return errors.Join(err, inst.Stop())
	}
	select {
	case <-ctx.Done():
	case <-inst.Done():
	}
	err = inst.Stop()
	if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
		// A stop on request whose slowest responses outlived the shutdown
		// timeout and were cut: still the graceful stop that was asked for.
		_, _ = fmt.Fprintf(stdout, "mockllm stopped: responses still running after %s were cut\n", mockllm.ShutdownTimeout)
		return nil
	}
	return err
}

// Listen starts a mock provider on addr in-process, for tests and
// development tools; url is its base URL (OpenAI clients want url + "/v1",
// the Anthropic and Gemini SDKs want url itself).
// It stops when ctx ends or stop is called; stop waits for the shutdown and
// is safe to call more than once. Callers that need the request counters use
// pkg/mockllm.Listen directly.
func Listen(ctx context.Context, addr string, cfg mockllm.Config) (url string, stop func(), err error) {
	inst, err := mockllm.Listen(ctx, addr, cfg)
	if err != nil {
		return "", nil, err
	}
	return inst.URL, func() { _ = inst.Stop() }, nil
}
