package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// probeTimeout bounds a probe whose context has no deadline of its own.
const probeTimeout = 30 * time.Second

// probePrompt is the live call's prompt; with one token allowed, any
// answer (even an empty one cut at the limit) proves the model serves.
const probePrompt = "Reply with OK."

// ProbeResult says whether a provider answers and, when it does not,
// what is wrong. Message never contains the key.
type ProbeResult struct {
	// OK is true when the provider answered.
	OK bool `json:"ok"`
	// Stage is StageOK or the part that failed: StageDNS, StageConnect,
	// StageTLS, StageAuth, StageModel or StageRequest.
	Stage string `json:"stage"`
	// Message says what happened in words a person can act on, scrubbed
	// of credentials.
	Message string `json:"message"`
	// StatusCode is the provider's HTTP status when it answered with an
	// error, 0 otherwise.
	StatusCode int `json:"status_code,omitempty"`
	// LatencyMs is how long the check took.
	LatencyMs float64 `json:"latency_ms"`
}

// Probe checks a provider live: a one-token completion of model, or, when
// model is "", the provider's model list. It reports the first thing that
// failed (DNS, connection, TLS, credentials, model, anything else). A
// context without a deadline gets 30 seconds. An OpenAI-compatible model
// that refuses max_tokens is asked once more with max_completion_tokens.
func Probe(ctx context.Context, c Client, ep Endpoint, model string) ProbeResult {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, probeTimeout)
		defer cancel()
	}
	start := time.Now()
	var (
		err     error
		success string
	)
	if model == "" {
		var models []RemoteModel
		models, err = c.ListModels(ctx, ep)
		success = fmt.Sprintf("the provider listed %d models", len(models))
		if len(models) > MaxRemoteModels {
			success = fmt.Sprintf("the provider listed more than %d models", MaxRemoteModels)
		}
	} else {
		req := Request{BaseURL: ep.BaseURL, APIKey: ep.APIKey, Headers: ep.Headers, Model: model, Prompt: probePrompt, MaxTokens: 1}
		_, err = c.Complete(ctx, req)
		if wantsCompletionTokens(err) {
			req.MaxTokensField = "max_completion_tokens"
			_, err = c.Complete(ctx, req)
		}
		success = fmt.Sprintf("model %s answered", model)
	}
	res := ProbeResult{LatencyMs: float64(time.Since(start).Microseconds()) / 1000}
	if err == nil {
		res.OK, res.Stage, res.Message = true, StageOK, success
		return res
	}
	var perr *Error
	if errors.As(err, &perr) {
		res.Stage, res.StatusCode = perr.Stage(), perr.StatusCode
		if res.Stage == StageModel && model == "" {
			// Without a model, "not found" means the base URL is wrong.
			res.Stage = StageRequest
		}
		res.Message = stageIntro(res.Stage, model) + perr.Message
	} else {
		res.Stage = StageRequest
		res.Message = "no answer: " + err.Error()
	}
	res.Message = truncate(Scrub(res.Message, ep.Secrets()...), maxMessageBytes)
	return res
}

// wantsCompletionTokens recognises OpenAI's answer to max_tokens from a
// model that only takes max_completion_tokens.
func wantsCompletionTokens(err error) bool {
	var perr *Error
	return errors.As(err, &perr) && perr.StatusCode == http.StatusBadRequest && strings.Contains(perr.Message, "max_completion_tokens")
}

func stageIntro(stage, model string) string {
	switch stage {
	case StageDNS:
		return "the base URL's host name does not resolve: "
	case StageConnect:
		return "could not connect to the provider: "
	case StageTLS:
		return "the TLS handshake failed: "
	case StageAuth:
		return "the provider rejected the credentials: "
	case StageModel:
		return fmt.Sprintf("the provider does not know model %q: ", model)
	}
	return ""
}
