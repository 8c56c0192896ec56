package mockllm

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file holds the Gemini generateContent wire format (the Gemini API's
// v1beta REST surface).

// geminiPrefix is where Gemini's model resources live.
const geminiPrefix = "/v1beta/models"

// geminiRequest is the part of a generateContent request the mock reads.
// Gemini's REST API accepts both lowerCamel and snake_case field names
// (proto JSON), and curl examples use either, so both are read.
type geminiRequest struct {
	Contents               []geminiContent   `json:"contents"`
	SystemInstruction      *geminiContent    `json:"systemInstruction"`
	SystemInstructionSnake *geminiContent    `json:"system_instruction"`
	GenerationConfig       *generationConfig `json:"generationConfig"`
	GenerationConfigSnake  *generationConfig `json:"generation_config"`
}

type geminiContent struct {
	Role  string       `json:"role"`
	Parts []geminiPart `json:"parts"`
}

type geminiPart struct {
	Text string `json:"text"`
}

// generationConfig holds the settings the mock reads; Seed is the sample.
type generationConfig struct {
	// Temperature is decoded only so that a mistyped value is rejected.
	Temperature          *float64 `json:"temperature"`
	MaxOutputTokens      *int64   `json:"maxOutputTokens"`
	MaxOutputTokensSnake *int64   `json:"max_output_tokens"`
	Seed                 *int64   `json:"seed"`
	// The structured-output schema: responseSchema (Gemini's OpenAPI
	// subset) or responseJsonSchema (JSON Schema), in either spelling.
	ResponseSchema          json.RawMessage `json:"responseSchema"`
	ResponseSchemaSnake     json.RawMessage `json:"response_schema"`
	ResponseJSONSchema      json.RawMessage `json:"responseJsonSchema"`
	ResponseJSONSchemaSnake json.RawMessage `json:"response_json_schema"`
}

// schema is the structured-output schema the request sent, nil when none,
// and the field that held it.
func (g *generationConfig) schema() (json.RawMessage, string) {
	for _, f := range []struct {
		raw   json.RawMessage
		field string
	}{
		{g.ResponseSchema, "response_schema"}, {g.ResponseSchemaSnake, "response_schema"},
		{g.ResponseJSONSchema, "response_json_schema"}, {g.ResponseJSONSchemaSnake, "response_json_schema"},
	} {
		if len(f.raw) > 0 && string(f.raw) != "null" {
			return f.raw, f.field
		}
	}
	return nil, ""
}

// text concatenates the content's text parts.
func (c *geminiContent) text() string {
	if len(c.Parts) == 1 {
		return c.Parts[0].Text
	}
	var sb strings.Builder
	for _, p := range c.Parts {
		sb.WriteString(p.Text)
	}
	return sb.String()
}

// generateContent answers POST /v1beta/models/{model}:generateContent and
// :streamGenerateContent?alt=sse; target is the path after /v1beta/models/.
// It returns the status it sent, in the same order of checks as
// chatCompletions.
func (s *Server) generateContent(w http.ResponseWriter, r *http.Request, spec, target string, cl *call) int {
	i := strings.LastIndexByte(target, ':')
	if i < 0 {
		return googleError(w, http.StatusNotFound, "Method not found: GET "+r.URL.Path, nil)
	}
	model, method := target[:i], target[i+1:]
	var stream bool
	switch method {
	case "generateContent":
	case "streamGenerateContent":
		stream = true
	default:
		return googleError(w, http.StatusNotFound, "Method not found: "+method, nil)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return googleError(w, http.StatusMethodNotAllowed, "Method "+r.Method+" is not allowed here; use POST.", nil)
	}
	cfg, err := s.config(spec)
	if err != nil {
		return googleError(w, http.StatusBadRequest, err.Error(), nil)
	}
	if stream && r.URL.Query().Get("alt") != "sse" {
		// Without alt=sse Gemini streams one JSON array; the mock speaks
		// only the server-sent events form, which the SDKs use.
		return googleError(w, http.StatusBadRequest, "the mock streams only with alt=sse", nil)
	}
	if status := authorizeGoogle(w, r, cfg); status != 0 {
		return status
	}

	sc := s.scratch.Get().(*scratch)
	defer s.release(sc)
	var req geminiRequest
	if status, msg := readJSON(w, r, &sc.in, &req); status != 0 {
		return googleError(w, status, msg, nil)
	}
	cl.model = logModel(model)
	gen := req.GenerationConfig
	if gen == nil {
		gen = req.GenerationConfigSnake
	}
	if gen == nil {
		gen = &generationConfig{}
	}
	if gen.MaxOutputTokens == nil {
		gen.MaxOutputTokens = gen.MaxOutputTokensSnake
	}
	switch {
	case len(req.Contents) == 0:
		return googleError(w, http.StatusBadRequest, "* GenerateContentRequest.contents: contents is not specified", nil)
	case gen.MaxOutputTokens != nil && *gen.MaxOutputTokens < 0:
		return googleError(w, http.StatusBadRequest, "* GenerateContentRequest.generation_config.max_output_tokens: must not be negative", nil)
	}
	schema, field := gen.schema()
	if schema != nil && cfg.NoStructuredOutput {
		return googleError(w, http.StatusBadRequest,
			"* GenerateContentRequest.generation_config."+field+": structured output is not supported by this model", nil)
	}
	mi, known := models.index[model]
	u := unit{model: model, judge: known && models.judge[mi], schema: schema}
	if gen.MaxOutputTokens != nil {
		u.maxTokens = *gen.MaxOutputTokens
	}
	if gen.Seed != nil {
		u.sample = int(*gen.Seed)
	}
	sys := req.SystemInstruction
	if sys == nil {
		sys = req.SystemInstructionSnake
	}
	if sys != nil {
		u.addText("system", sys.text())
	}
	for i := range req.Contents {
		c := &req.Contents[i]
		text := c.text()
		u.addText(c.Role, text)
		// Gemini treats a content without a role as the user's.
		if c.Role == "user" || c.Role == "" {
			u.prompt = text
		}
	}
	if !known {
		return googleError(w, http.StatusNotFound, "models/"+model+" is not found for API version v1beta, or is not supported for "+method+
			". Call ListModels to see the list of available models and their supported methods.", nil)
	}
	cl.model = models.names[mi]
	s.calls[mi].Add(1)

	out, draw := s.decide(cfg)
	out = u.drawJudgeFault(cfg, out, draw)
	switch out {
	case answerQuota:
		return googleError(w, http.StatusTooManyRequests,
			"You exceeded your current quota. Please retry in "+protoDuration(cfg.QuotaReset)+".", quotaDetails(cfg.QuotaReset))
	case answerError:
		return googleError(w, http.StatusInternalServerError, "mock internal error", nil)
	case answerRateLimit:
		// No RetryInfo or QuotaFailure here: those mark the quota answer,
		// and a client must be able to tell the two apart.
		setRetryAfter(w.Header(), cfg.RetryAfter)
		return googleError(w, http.StatusTooManyRequests, "Resource has been exhausted (e.g. check quota).", nil)
	}
	c := newCompletion(wireGoogle, &u, draw, cfg.OversizeBytes)
	return s.respond(w, r, cfg, sc, &c, stream, out == answerMalformed, cl)
}

// authorizeGoogle is authorize for Gemini, whose key travels in
// x-goog-api-key (or, in older clients, the key query parameter).
func authorizeGoogle(w http.ResponseWriter, r *http.Request, cfg *Config) int {
	key := strings.TrimSpace(r.Header.Get("x-goog-api-key"))
	if key == "" && r.URL.RawQuery != "" {
		key = r.URL.Query().Get("key")
	}
	switch {
	case key != "" && strings.HasPrefix(key, badKeyPrefix):
		return googleError(w, http.StatusUnauthorized, "API key not valid: "+maskKey(key)+". Please pass a valid API key.", nil)
	case key == "" && cfg.RequireKey:
		return googleError(w, http.StatusUnauthorized,
			"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", nil)
	}
	return 0
}

// googleStatus is the google.rpc.Code name Google's APIs pair with an HTTP
// status.
func googleStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	default:
		return "INTERNAL"
	}
}

type googleErrorBody struct {
	Error googleErrorDetail `json:"error"`
}

type googleErrorDetail struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Status  string          `json:"status"`
	Details json.RawMessage `json:"details,omitempty"`
}

// googleError sends a Google API error and returns status; details is a
// JSON array or nil.
func googleError(w http.ResponseWriter, status int, message string, details []byte) int {
	body, err := json.Marshal(googleErrorBody{Error: googleErrorDetail{Code: status, Message: message, Status: googleStatus(status), Details: details}})
	if err != nil {
		body = []byte(`{"error":{"code":500,"message":"mock error","status":"INTERNAL"}}`)
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return status
}

// protoDuration writes d the way protobuf's JSON mapping writes a
// google.protobuf.Duration: seconds with a trailing "s", such as "30s" or
// "3600s".
func protoDuration(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// quotaDetails are the google.rpc details of a quota answer: when to retry
// and which (daily) quota ran out.
func quotaDetails(reset time.Duration) []byte {
	b := []byte(`[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"`)
	b = append(b, protoDuration(reset)...)
	return append(b, `"},{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[`+
		`{"quotaMetric":"generativelanguage.googleapis.com/generate_content_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel"}]}]`...)
}

// appendGoogleResponse writes one GenerateContentResponse holding text;
// final adds the finish reason and the usage, as Gemini's last (or only)
// chunk carries them.
func appendGoogleResponse(b []byte, c *completion, text string, final bool) []byte {
	b = append(b, `{"candidates":[{"content":{"parts":[{"text":`...)
	b = appendJSONString(b, text)
	b = append(b, `}],"role":"model"}`...)
	if final {
		b = append(b, `,"finishReason":`...)
		b = appendJSONString(b, c.finishReason())
	}
	b = append(b, `,"index":0}]`...)
	if final {
		b = append(b, `,"usageMetadata":{"promptTokenCount":`...)
		b = strconv.AppendInt(b, int64(c.promptTokens), 10)
		b = append(b, `,"candidatesTokenCount":`...)
		b = strconv.AppendInt(b, int64(c.completionTokens), 10)
		b = append(b, `,"totalTokenCount":`...)
		b = strconv.AppendInt(b, int64(c.promptTokens+c.completionTokens), 10)
		b = append(b, '}')
	}
	b = append(b, `,"modelVersion":`...)
	b = appendJSONString(b, c.model)
	b = append(b, `,"responseId":`...)
	b = appendJSONString(b, c.id)
	return append(b, "}\n"...)
}

// appendGoogleChunk writes one streamed chunk as a server-sent event.
func appendGoogleChunk(b []byte, c *completion, piece string, last bool) []byte {
	b = append(b, "data: "...)
	b = appendGoogleResponse(b, c, piece, last)
	return append(b, '\n')
}

// googleModelsBody is the Gemini model list: GET /v1beta/models.
func googleModelsBody() []byte {
	type model struct {
		Name                       string   `json:"name"`
		DisplayName                string   `json:"displayName"`
		Description                string   `json:"description"`
		SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
	}
	var list struct {
		Models []model `json:"models"`
	}
	for _, name := range listedModels() {
		acc, ok := Accuracy(name)
		desc := "SABE mock model answering " + strconv.FormatFloat(acc*100, 'f', -1, 64) + "% of questions correctly"
		if !ok {
			desc = "SABE mock judge giving deterministic verdicts"
		}
		list.Models = append(list.Models, model{
			Name:                       "models/" + name,
			DisplayName:                displayName(name),
			Description:                desc,
			SupportedGenerationMethods: []string{"generateContent", "streamGenerateContent"},
		})
	}
	return mustMarshal(list)
}
