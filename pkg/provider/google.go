package provider

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/genai"
)

// googleAPIVersion is the Gemini API version used when the base URL does
// not name one.
const googleAPIVersion = "v1beta"

// googleKeyHeader carries the Gemini API key.
const googleKeyHeader = "x-goog-api-key"

// apiVersionSegment matches a path segment that is an API version
// ("v1", "v1beta", "v1alpha2").
var apiVersionSegment = regexp.MustCompile(`^v\d+((alpha|beta)\d*)?$`)

// Google is the Client for the Gemini API (generateContent and
// streamGenerateContent?alt=sse), built on the official SDK with its
// retries off. The key goes in x-goog-api-key, the system prompt in
// systemInstruction, temperature, max tokens and seed in generationConfig.
// It is safe for concurrent use.
type Google struct {
	limits
}

var _ Client = (*Google)(nil)

// NewGoogle returns a Google Gemini client.
func NewGoogle(cfg ClientConfig) *Google {
	return &Google{limits: newLimits(cfg)}
}

// Complete streams one generateContent call and measures time to first
// text and total latency; usage comes from usageMetadata (output tokens
// include thinking tokens). MaxTokensField does not apply. A server that
// answers with plain JSON (one response or an array of them) is handled
// too. Errors are like OpenAI.Complete's; a prompt the provider blocks is
// a non-retryable *Error.
func (c *Google) Complete(ctx context.Context, req Request) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, fmt.Errorf("provider call: %w", err)
	}
	if err := validateRequest(req); err != nil {
		return Response{}, err
	}
	cl := c.begin(ctx, req.endpoint(), req.IdleTimeout, c.maxBytes, true)
	defer cl.end()
	cl.ex.quiet = true
	client, err := c.client(cl, req.endpoint(), req.ExtraBody)
	if err != nil {
		return Response{}, err
	}
	system, turns := req.splitSystem(false)
	contents := make([]*genai.Content, 0, len(turns))
	for _, m := range turns {
		role := genai.RoleUser
		if m.Role == RoleAssistant {
			role = genai.RoleModel
		}
		contents = append(contents, &genai.Content{Role: role, Parts: []*genai.Part{{Text: m.Content}}})
	}
	config, err := googleConfig(req, system)
	if err != nil {
		return Response{}, err
	}

	start := time.Now()
	var (
		g         googleAnswer
		events    int
		streamErr error
	)
	for chunk, err := range client.Models.GenerateContentStream(cl.reqCtx, req.Model, contents, config) {
		if err != nil {
			streamErr = err
			break
		}
		events++
		g.observe(chunk, start)
	}
	if streamErr != nil || cl.ex.status >= 300 || cl.ex.readErr != nil {
		return Response{}, cl.failure(streamErr, googleStreamError(cl.secrets))
	}
	latency := time.Since(start)

	if cl.ex.json != nil {
		return googleJSONAnswer(cl, start, latency)
	}
	return g.response(cl, latency, events, false)
}

// ListModels lists the models at ep (GET v1beta/models), following its
// pages and keeping only models that can generate content when the
// provider says what each supports.
func (c *Google) ListModels(ctx context.Context, ep Endpoint) ([]RemoteModel, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("provider call: %w", err)
	}
	if err := validateEndpoint(ep); err != nil {
		return nil, err
	}
	cl := c.begin(ctx, ep, 0, modelListMaxBytes, false)
	defer cl.end()
	cl.ex.quiet = true
	cl.ex.shareBudget()
	client, err := c.client(cl, ep, nil)
	if err != nil {
		return nil, err
	}
	var out []RemoteModel
	page, err := client.Models.List(cl.reqCtx, &genai.ListModelsConfig{PageSize: 1000})
	for i := 0; ; i++ {
		if errors.Is(err, genai.ErrPageDone) {
			break
		}
		if err != nil || cl.ex.status >= 300 || cl.ex.readErr != nil {
			return nil, cl.failure(err, googleStreamError(cl.secrets))
		}
		more := true
		for _, m := range page.Items {
			if m == nil || !more || (len(m.SupportedActions) > 0 && !slices.Contains(m.SupportedActions, "generateContent")) {
				continue
			}
			if id := strings.TrimPrefix(m.Name, "models/"); id != "" {
				out, more = addModel(out, RemoteModel{ID: id, Name: cmp.Or(m.DisplayName, id)})
			}
		}
		if !more || page.NextPageToken == "" || i+1 >= maxModelPages {
			break
		}
		page, err = page.Next(cl.reqCtx)
	}
	return out, nil
}

// client builds a genai client for one call. Everything is set explicitly
// (backend, key, base URL, version), and the transport under it sets the
// key header itself, so nothing genai would read from the environment
// (GOOGLE_API_KEY, GEMINI_API_KEY, GOOGLE_GENAI_USE_VERTEXAI,
// GOOGLE_GEMINI_BASE_URL, ...) takes part.
func (c *Google) client(cl *call, ep Endpoint, extraBody map[string]any) (*genai.Client, error) {
	base, version := googleBaseURL(ep.BaseURL)
	headers := make(http.Header, len(ep.Headers))
	for k, v := range ep.Headers {
		headers.Set(k, v)
	}
	// genai refuses to build a Gemini client without a key and would take
	// one from the environment; the transport replaces this stand-in with
	// SABE's key, or removes the header when there is none.
	key := cmp.Or(ep.APIKey, "unset")
	client, err := genai.NewClient(cl.reqCtx, &genai.ClientConfig{
		APIKey:     key,
		Backend:    genai.BackendGeminiAPI,
		HTTPClient: withExchange(c.httpClient, cl.ex, googleKeyHeader, ep.APIKey),
		HTTPOptions: genai.HTTPOptions{
			BaseURL:    base,
			APIVersion: version,
			Headers:    headers,
			ExtraBody:  extraBody,
		},
	})
	if err != nil {
		return nil, newError(0, false, "google client: "+err.Error(), cl.secrets)
	}
	return client, nil
}

// googleBaseURL splits a base URL that ends in an API version
// (".../v1beta") into the root and the version, since genai joins them
// itself.
func googleBaseURL(raw string) (base, version string) {
	u, err := url.Parse(raw)
	if err != nil {
		return raw, googleAPIVersion
	}
	p := strings.TrimRight(u.Path, "/")
	if last := path.Base(p); apiVersionSegment.MatchString(last) {
		version = last
		p = path.Dir(p)
	}
	u.Path = strings.TrimRight(p, "/") + "/"
	u.RawPath = ""
	return u.String(), cmp.Or(version, googleAPIVersion)
}

// googleConfig is the generation config of req, whose system text
// (System and any system messages) is system.
func googleConfig(req Request, system string) (*genai.GenerateContentConfig, error) {
	cfg := &genai.GenerateContentConfig{
		// One request per call: SABE measures and retries calls itself.
		AutomaticContinuation: genai.Ptr(false),
	}
	if system != "" {
		cfg.SystemInstruction = &genai.Content{Parts: []*genai.Part{{Text: system}}}
	}
	if req.Output != nil {
		schema, err := geminiSchema(req.Output.Schema)
		if err != nil {
			return nil, &Error{Message: err.Error()}
		}
		cfg.ResponseMIMEType, cfg.ResponseSchema = "application/json", schema
	}
	if req.Temperature != nil && !req.OmitTemperature {
		cfg.Temperature = genai.Ptr(float32(*req.Temperature))
	}
	if req.MaxTokens > 0 {
		cfg.MaxOutputTokens = int32(min(req.MaxTokens, math.MaxInt32))
	}
	if req.Seed != nil {
		cfg.Seed = genai.Ptr(int32(max(min(*req.Seed, math.MaxInt32), math.MinInt32)))
	}
	return cfg, nil
}

// googleAnswer collects a Gemini answer from its chunks.
type googleAnswer struct {
	text         strings.Builder
	res          Response
	blockReason  string
	blockMessage string
}

func (g *googleAnswer) observe(chunk *genai.GenerateContentResponse, start time.Time) {
	if chunk == nil {
		return
	}
	// usageMetadata is cumulative: the last one counts.
	if u := chunk.UsageMetadata; u != nil {
		if u.PromptTokenCount > 0 {
			g.res.InputTokens = int(u.PromptTokenCount)
		}
		if out := u.CandidatesTokenCount + u.ThoughtsTokenCount; out > 0 {
			g.res.OutputTokens = int(out)
		}
	}
	if pf := chunk.PromptFeedback; pf != nil && pf.BlockReason != "" {
		g.blockReason, g.blockMessage = string(pf.BlockReason), pf.BlockReasonMessage
	}
	for _, cand := range chunk.Candidates {
		if cand == nil || cand.Index != 0 {
			continue
		}
		if cand.Content != nil {
			for _, part := range cand.Content.Parts {
				if part == nil || part.Thought || part.Text == "" {
					continue
				}
				if g.text.Len() == 0 && !start.IsZero() {
					g.res.TTFT = time.Since(start)
				}
				g.text.WriteString(part.Text)
			}
		}
		if cand.FinishReason != "" {
			g.res.FinishReason = string(cand.FinishReason)
		}
	}
}

// response finishes the answer. A stream without a finish reason was cut
// short; a whole JSON answer needs none to be complete.
func (g *googleAnswer) response(cl *call, latency time.Duration, events int, whole bool) (Response, error) {
	if g.blockReason != "" && g.res.FinishReason == "" {
		return Response{}, newError(0, false, strings.TrimSpace("prompt blocked by the provider: "+g.blockReason+" "+g.blockMessage), cl.secrets)
	}
	if g.res.FinishReason == "" && !whole {
		return Response{}, cl.notEventStream(events)
	}
	g.res.Text = g.text.String()
	g.res.Latency = latency
	if googleRefusals[g.res.FinishReason] {
		g.res.Refusal = g.res.FinishReason
	}
	return g.res, nil
}

// googleRefusals are the finish reasons of a candidate the model stopped
// for its own policy rather than for length or the end of its answer:
// Gemini's refusals, reported in Response.Refusal like OpenAI's refusal
// field and Anthropic's refusal stop reason.
var googleRefusals = map[string]bool{
	"SAFETY": true, "RECITATION": true, "BLOCKLIST": true, "PROHIBITED_CONTENT": true, "SPII": true,
}

// googleStreamError classifies an error object inside a 200 stream, which
// genai reports as an APIError. Its code decides like an HTTP status; without
// one the failure is most likely transient.
func googleStreamError(secrets []string) func(error) *Error {
	return func(err error) *Error {
		var apiErr genai.APIError
		if !errors.As(err, &apiErr) {
			return nil
		}
		info := errorInfo{Message: apiErr.Message, Status: apiErr.Status}
		for _, d := range apiErr.Details {
			if raw, err := json.Marshal(d); err == nil {
				info.Details = append(info.Details, raw)
			}
		}
		return googleError(apiErr.Code, info, secrets)
	}
}

func googleError(code int, info errorInfo, secrets []string) *Error {
	if code < 400 || code > 599 {
		code = 0
	}
	e := newError(code, code == 0 || retryableStatus(code), "error in response: "+cmp.Or(info.Message, info.Status), secrets)
	annotate(e, nil, info, time.Now())
	return e
}

// googleJSONAnswer decodes a response (or the JSON array of responses
// streamGenerateContent sends without alt=sse) sent instead of a stream.
// With no stream to watch, the first token is taken to arrive with the
// whole body.
func googleJSONAnswer(cl *call, start time.Time, latency time.Duration) (Response, error) {
	body := bytes.TrimSpace(cl.ex.json)
	var items []json.RawMessage
	if bytes.HasPrefix(body, []byte("[")) {
		if err := json.Unmarshal(body, &items); err != nil {
			return Response{}, newError(0, false, "malformed JSON answer: "+err.Error(), cl.secrets)
		}
	} else {
		items = []json.RawMessage{body}
	}
	var g googleAnswer
	for _, item := range items {
		var probe struct {
			Error *struct {
				Code int `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(item, &probe); err != nil {
			return Response{}, newError(0, false, "malformed JSON answer: "+err.Error(), cl.secrets)
		}
		if probe.Error != nil {
			return Response{}, googleError(probe.Error.Code, parseErrorBody(item), cl.secrets)
		}
		var chunk genai.GenerateContentResponse
		if err := json.Unmarshal(item, &chunk); err != nil {
			return Response{}, newError(0, false, "malformed JSON answer: "+err.Error(), cl.secrets)
		}
		g.observe(&chunk, time.Time{})
	}
	if g.text.Len() > 0 {
		g.res.TTFT = cl.ex.jsonAt.Sub(start)
	}
	if g.blockReason == "" && g.res.FinishReason == "" && g.text.Len() == 0 {
		return Response{}, newError(0, false, "JSON answer has no candidates", cl.secrets)
	}
	return g.response(cl, latency, len(items), true)
}
