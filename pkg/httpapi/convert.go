package httpapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

// This file turns domain values into the document's response types and
// request bodies into domain values. Nothing here decides anything.

func nextCursor(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}

func toProvider(p *catalog.Provider) oapi.Provider {
	// Names only: header values are credentials, never returned.
	headers := make(oapi.ProviderHeaderNames, len(p.HeaderNames))
	for _, name := range p.HeaderNames {
		headers[name] = "set"
	}
	return oapi.Provider{
		Id:                p.ID,
		Name:              p.Name,
		Kind:              oapi.ProviderKind(p.Kind),
		BaseUrl:           p.BaseURL,
		Headers:           headers,
		Limits:            toLimits(p.Limits),
		HasApiKey:         p.HasAPIKey,
		ApiKeyFingerprint: nonEmpty(p.KeyFingerprint),
		CreatedAt:         p.CreatedAt.UTC(),
		UpdatedAt:         p.UpdatedAt.UTC(),
	}
}

// toLimits renders every limit, 0 (no limit) included, so a client sees
// the whole policy without knowing the defaults.
func toLimits(l catalog.ProviderLimits) oapi.ProviderLimits {
	return oapi.ProviderLimits{
		RequestsPerMinute: &l.RequestsPerMinute,
		TokensPerMinute:   &l.TokensPerMinute,
		MaxConcurrency:    &l.MaxConcurrency,
		QuotaPauseSeconds: &l.QuotaPauseSeconds,
	}
}

func fromLimits(l *oapi.ProviderLimits) catalog.ProviderLimits {
	if l == nil {
		return catalog.ProviderLimits{}
	}
	return catalog.ProviderLimits{
		RequestsPerMinute: derefOr(l.RequestsPerMinute),
		TokensPerMinute:   derefOr(l.TokensPerMinute),
		MaxConcurrency:    derefOr(l.MaxConcurrency),
		QuotaPauseSeconds: derefOr(l.QuotaPauseSeconds),
	}
}

func derefOr[T any](p *T) T {
	var zero T
	return derefDefault(p, zero)
}

func toOverrides(o catalog.RequestOverrides) oapi.RequestOverrides {
	out := oapi.RequestOverrides{OmitTemperature: &o.OmitTemperature}
	if o.MaxTokensField != "" {
		f := oapi.MaxTokensField(o.MaxTokensField)
		out.MaxTokensField = &f
	}
	if len(o.ExtraBody) > 0 {
		extra := maps.Clone(o.ExtraBody)
		out.ExtraBody = &extra
	}
	out.StructuredOutput = o.StructuredOutput
	return out
}

func fromOverrides(o *oapi.RequestOverrides) catalog.RequestOverrides {
	if o == nil {
		return catalog.RequestOverrides{}
	}
	var out catalog.RequestOverrides
	if o.MaxTokensField != nil {
		out.MaxTokensField = string(*o.MaxTokensField)
	}
	if o.OmitTemperature != nil {
		out.OmitTemperature = *o.OmitTemperature
	}
	if o.ExtraBody != nil {
		out.ExtraBody = *o.ExtraBody
	}
	out.StructuredOutput = o.StructuredOutput
	return out
}

func toModel(m *catalog.Model) oapi.Model {
	return oapi.Model{
		Id:                m.ID,
		ProviderId:        m.ProviderID,
		Name:              m.Name,
		ProviderModelId:   m.ProviderModelID,
		InputCostPerMtok:  m.InputCostPerMTok,
		OutputCostPerMtok: m.OutputCostPerMTok,
		RequestOverrides:  toOverrides(m.Overrides),
		Archived:          m.ArchivedAt != nil,
		ArchivedAt:        utcPtr(m.ArchivedAt),
		CreatedAt:         m.CreatedAt.UTC(),
		UpdatedAt:         m.UpdatedAt.UTC(),
	}
}

func fromCreateSuite(b oapi.CreateSuiteRequest) catalog.SuiteInput {
	in := catalog.SuiteInput{Name: b.Name, Description: derefOr(b.Description), PromptTemplate: derefOr(b.PromptTemplate)}
	if b.FewShot != nil {
		in.FewShot = fromMessages(*b.FewShot)
	}
	return in
}

func toSuite(s *catalog.Suite) oapi.Suite {
	return oapi.Suite{
		Id:             s.ID,
		Name:           s.Name,
		Description:    s.Description,
		FewShot:        toMessages(s.FewShot),
		PromptTemplate: s.PromptTemplate,
		QuestionCount:  s.QuestionCount,
		Archived:       s.ArchivedAt != nil,
		ArchivedAt:     utcPtr(s.ArchivedAt),
		CreatedAt:      s.CreatedAt.UTC(),
		UpdatedAt:      s.UpdatedAt.UTC(),
	}
}

// toScoring and fromScoring convert a rule through its JSON: the
// document's Scoring schema is scoring.Rule's JSON, field for field (the
// spec tests hold them together), and a rule has too many optional parts
// (assertions, a judge's verdict, a JSON Schema) to copy one by one
// without one day dropping a field.
func toScoring(r scoring.Rule) oapi.Scoring {
	var out oapi.Scoring
	convertJSON(r, &out)
	return out
}

func fromScoring(s oapi.Scoring) scoring.Rule {
	var r scoring.Rule
	convertJSON(s, &r)
	return r
}

// convertJSON copies from into to through JSON. Both are plain data types
// of one JSON shape, so neither step can fail.
func convertJSON(from, to any) {
	b, err := json.Marshal(from)
	if err == nil {
		err = json.Unmarshal(b, to)
	}
	if err != nil {
		panic(fmt.Sprintf("httpapi: convert %T to %T: %v", from, to, err))
	}
}

func toMessages(ms []catalog.Message) []oapi.Message {
	out := make([]oapi.Message, len(ms))
	for i, m := range ms {
		out[i] = oapi.Message{Role: oapi.MessageRole(m.Role), Content: m.Content}
	}
	return out
}

// optionalMessages is nil for no turns, as the document's nullable
// fields want.
func optionalMessages(ms []catalog.Message) *[]oapi.Message {
	if len(ms) == 0 {
		return nil
	}
	out := toMessages(ms)
	return &out
}

func fromMessages(ms []oapi.Message) []catalog.Message {
	out := make([]catalog.Message, len(ms))
	for i, m := range ms {
		out[i] = catalog.Message{Role: string(m.Role), Content: m.Content}
	}
	return out
}

func toQuestion(q *catalog.Question) oapi.Question {
	out := oapi.Question{
		Id:             q.ID,
		SuiteId:        q.SuiteID,
		Revision:       q.Revision,
		Prompt:         q.Prompt,
		Messages:       optionalMessages(q.Messages),
		FewShot:        optionalMessages(q.FewShot),
		Category:       q.Category,
		ExpectedAnswer: q.ExpectedAnswer,
		Scoring:        toScoring(q.Scoring),
		Key:            nonEmpty(q.Key),
		Metadata:       nonNilMap(q.Metadata),
		ArchivedAt:     utcPtr(q.ArchivedAt),
		CreatedAt:      q.CreatedAt.UTC(),
		UpdatedAt:      q.UpdatedAt.UTC(),
	}
	if len(q.Choices) > 0 {
		out.Choices = &q.Choices
	}
	return out
}

func fromCreateQuestion(b oapi.CreateQuestionRequest) catalog.QuestionInput {
	in := catalog.QuestionInput{Prompt: b.Prompt, ExpectedAnswer: b.ExpectedAnswer, Scoring: fromScoring(b.Scoring)}
	if b.Category != nil {
		in.Category = *b.Category
	}
	if b.Messages != nil {
		in.Messages = fromMessages(*b.Messages)
	}
	if b.Choices != nil {
		in.Choices = *b.Choices
	}
	if b.Key != nil {
		in.Key = *b.Key
	}
	if b.Metadata != nil && len(*b.Metadata) > 0 {
		in.Metadata = *b.Metadata
	}
	return in
}

// nonNilMap is m, or an empty map for nil: the document's required
// objects are {} when empty, never null.
func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func toBenchmarkConfig(c catalog.BenchmarkConfig) oapi.BenchmarkConfig {
	out := oapi.BenchmarkConfig{Temperature: c.Temperature, MaxTokens: c.MaxTokens, Samples: c.Samples, MaxCostUsd: c.MaxCostUSD}
	if c.SystemPrompt != "" {
		out.SystemPrompt = &c.SystemPrompt
	}
	if c.TimeoutSeconds != 0 {
		out.TimeoutSeconds = &c.TimeoutSeconds
	}
	if c.Scoring != nil {
		sc := toScoring(*c.Scoring)
		out.Scoring = &sc
	}
	if len(c.JudgeModelIDs) > 0 {
		out.JudgeModelIds = &c.JudgeModelIDs
	}
	return out
}

// fromBenchmarkConfig applies the defaults of the fields a request left
// out (all of them when it has no config).
func fromBenchmarkConfig(c *oapi.BenchmarkConfigInput) catalog.BenchmarkConfig {
	if c == nil {
		c = &oapi.BenchmarkConfigInput{}
	}
	out := catalog.BenchmarkConfig{
		Temperature:    derefDefault(c.Temperature, catalog.DefaultTemperature),
		MaxTokens:      derefDefault(c.MaxTokens, catalog.DefaultMaxTokens),
		Samples:        derefDefault(c.Samples, catalog.DefaultSamples),
		SystemPrompt:   derefOr(c.SystemPrompt),
		MaxCostUSD:     c.MaxCostUsd,
		TimeoutSeconds: derefOr(c.TimeoutSeconds),
		JudgeModelIDs:  derefOr(c.JudgeModelIds),
	}
	if c.Scoring != nil {
		r := fromScoring(*c.Scoring)
		out.Scoring = &r
	}
	return out
}

// derefDefault is *p, or def when p is nil. An explicit value, even one
// out of bounds such as 0, is kept for validation to refuse.
func derefDefault[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func toBenchmark(b *catalog.Benchmark) oapi.Benchmark {
	return oapi.Benchmark{
		Id:         b.ID,
		Name:       b.Name,
		SuiteIds:   nonNil(b.SuiteIDs),
		ModelIds:   nonNil(b.ModelIDs),
		Config:     toBenchmarkConfig(b.Config),
		UnitCount:  int64(b.UnitCount),
		Schedule:   toSchedule(b.Schedule),
		NextRunAt:  utcPtr(b.NextRunAt),
		Budget:     oapi.BenchmarkBudget{MaxCostUsdPerMonth: b.BudgetMaxCostUSDMonth},
		Alerts:     toBenchmarkAlerts(b.Alerts),
		ArchivedAt: utcPtr(b.ArchivedAt),
		CreatedAt:  b.CreatedAt.UTC(),
		UpdatedAt:  b.UpdatedAt.UTC(),
	}
}

func toSchedule(s *catalog.Schedule) *oapi.Schedule {
	if s == nil {
		return nil
	}
	return &oapi.Schedule{
		Cron: s.Cron, Timezone: s.Timezone, Enabled: s.Enabled, Overlap: oapi.ScheduleOverlap(s.Overlap),
		Status: oapi.ScheduleStatus(s.Status), BlockedReason: nonEmpty(s.BlockedReason),
		LastSkippedAt: utcPtr(s.LastSkippedAt), LastSkipReason: nonEmpty(s.LastSkipReason), SetByTokenId: s.SetByTokenID,
	}
}

// toScheduleLastRun is the latest run a schedule made, as the schedule
// shows it.
func toScheduleLastRun(r *run.Run) *oapi.ScheduleLastRun {
	return &oapi.ScheduleLastRun{
		Id: r.ID, Status: oapi.RunStatus(r.Status), ScheduledFor: derefDefault(r.ScheduledFor, r.CreatedAt).UTC(),
		CreatedAt: r.CreatedAt.UTC(), FinishedAt: utcPtr(r.FinishedAt),
	}
}

// nonEmpty is nil for "", so the document's null stands for "none".
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func fromScheduleInput(in *oapi.ScheduleInput) *catalog.Schedule {
	if in == nil {
		return nil
	}
	s := catalog.Schedule{Cron: in.Cron, Timezone: derefOr(in.Timezone), Enabled: true}
	if in.Enabled != nil {
		s.Enabled = *in.Enabled
	}
	if in.Overlap != nil {
		s.Overlap = schedule.Overlap(*in.Overlap)
	}
	s = s.Normalized()
	return &s
}

func fromSchedulePatch(in *oapi.SchedulePatch) *catalog.SchedulePatch {
	if in == nil {
		return nil
	}
	p := &catalog.SchedulePatch{Cron: in.Cron, Timezone: in.Timezone, Enabled: in.Enabled}
	if in.Overlap != nil {
		o := schedule.Overlap(*in.Overlap)
		p.Overlap = &o
	}
	return p
}

// nonNil makes a nil list an empty one, which encodes as [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func toRunConfig(r *run.Run) oapi.RunConfig {
	out := oapi.RunConfig{
		Temperature: r.Config.Temperature,
		MaxTokens:   r.Config.MaxTokens,
		Samples:     r.Config.Samples,
		SuiteIds:    nonNil(r.SuiteIDs),
		ModelIds:    nonNil(r.ModelIDs),
		MaxCostUsd:  r.Config.MaxCostUSD,
	}
	if r.Config.SystemPrompt != "" {
		out.SystemPrompt = &r.Config.SystemPrompt
	}
	if r.Config.TimeoutSeconds != 0 {
		out.TimeoutSeconds = &r.Config.TimeoutSeconds
	}
	return out
}

func toProgress(p run.Progress) oapi.RunProgress {
	return oapi.RunProgress{
		Total:     int64(p.Total),
		Succeeded: int64(p.Succeeded),
		Failed:    int64(p.Failed),
		Cancelled: int64(p.Cancelled),
		Skipped:   int64(p.Skipped),
		// Answered is every recorded unit, which the document defines
		// whatever the live counters hold.
		Answered:         int64(p.Done()),
		Judged:           int64(p.Judged),
		AwaitingJudgment: int64(p.AwaitingJudgment),
		Unscored:         int64(p.Unscored),
		SpentUsd:         p.SpentUSD,
	}
}

// toRun renders a run with its configuration and the progress the caller
// determined (live counters or the stored ones).
func toRun(r *run.Run, p run.Progress, benchmarkName string) oapi.Run {
	out := oapi.Run{
		Id:                r.ID,
		BenchmarkId:       r.BenchmarkID,
		BenchmarkName:     benchmarkName,
		Status:            oapi.RunStatus(r.Status),
		Trigger:           oapi.RunTrigger(r.Trigger),
		ScheduledFor:      utcPtr(r.ScheduledFor),
		Progress:          toProgress(p),
		Config:            toRunConfig(r),
		CostUsd:           figure(r.CostUSD),
		MaxCostUsd:        r.MaxCostUSD,
		DeadlineAt:        utcPtr(r.DeadlineAt),
		InputTokens:       r.InputTokens,
		OutputTokens:      r.OutputTokens,
		JudgeCostUsd:      figure(r.JudgeCostUSD),
		JudgeInputTokens:  r.JudgeInputTokens,
		JudgeOutputTokens: r.JudgeOutputTokens,
		ScoringVersion:    max(r.ScoringVersion, 1),
		RetryRound:        r.RetryRound,
		LatencyP50Ms:      figurePtr(r.LatencyP50Ms),
		LatencyP95Ms:      figurePtr(r.LatencyP95Ms),
		CreatedAt:         r.CreatedAt.UTC(),
		StartedAt:         utcPtr(r.StartedAt),
		FinishedAt:        utcPtr(r.FinishedAt),
		CancelRequestedAt: utcPtr(r.CancelRequestedAt),
	}
	if r.Error != "" {
		out.Error = &r.Error
	}
	return out
}

// toResult renders one unit of a run whose current scoring version is
// scoringVersion.
func toResult(res *run.Result, scoringVersion int) oapi.Execution {
	e := &res.Execution
	out := oapi.Execution{
		Id:               e.ID().String(),
		ModelId:          e.ModelID,
		ModelName:        res.ModelName,
		QuestionId:       e.QuestionID,
		QuestionKey:      res.QuestionKey,
		Category:         e.Category,
		PromptExcerpt:    res.PromptExcerpt,
		QuestionRevision: e.QuestionRevision,
		Sample:           e.Sample,
		Status:           oapi.ExecutionStatus(e.Status),
		Response:         e.Response,
		TtftMs:           figurePtr(e.TTFTMs),
		OutputTokensPerS: figurePtr(e.OutputTokensPerS),
		InputTokens:      int64(e.InputTokens),
		OutputTokens:     int64(e.OutputTokens),
		CostUsd:          figure(e.CostUSD),
		FinishedAt:       e.FinishedAt.UTC(),
		Evaluations:      make([]oapi.Evaluation, 0, len(e.Evaluations)),
	}
	if e.LatencyMs != nil {
		out.LatencyMs = figure(*e.LatencyMs)
	}
	// A unit cancelled before its call never started; it began and ended
	// at the moment it was recorded.
	out.StartedAt = out.FinishedAt
	if e.StartedAt != nil {
		out.StartedAt = e.StartedAt.UTC()
	}
	if e.Error != "" {
		out.Error = &e.Error
	}
	for i := range e.Evaluations {
		out.Evaluations = append(out.Evaluations, toEvaluation(&e.Evaluations[i]))
	}
	out.Verdict = toVerdict(e, scoringVersion)
	return out
}

func toEstimate(e *catalog.Estimate) oapi.Estimate {
	out := oapi.Estimate{
		Units: e.Units, InputTokens: e.InputTokens, OutputTokens: e.OutputTokens, CostUsd: figure(e.CostUSD),
		Basis: oapi.EstimateBasis(e.Basis), ByModel: make([]oapi.ModelEstimate, 0, len(e.ByModel)),
	}
	for _, m := range e.ByModel {
		out.ByModel = append(out.ByModel, oapi.ModelEstimate{
			ModelId: m.ModelID, ModelName: m.ModelName, Units: m.Units, InputTokens: m.InputTokens,
			OutputTokens: m.OutputTokens, CostUsd: figure(m.CostUSD), Basis: oapi.EstimateBasis(m.Basis),
		})
	}
	return out
}

func toRankings(runID uuid.UUID, rk *analytics.RunRanking) oapi.Rankings {
	out := oapi.Rankings{
		RunId:      runID,
		Overall:    toRankingEntries(rk.Overall),
		ByCategory: make(map[string][]oapi.RankingEntry, len(rk.ByCategory)),
	}
	for cat, entries := range rk.ByCategory {
		out.ByCategory[cat] = toRankingEntries(entries)
	}
	return out
}

func toRankingEntries(in []analytics.Entry) []oapi.RankingEntry {
	out := make([]oapi.RankingEntry, 0, len(in))
	for _, e := range in {
		out = append(out, oapi.RankingEntry{
			// rank is the leaderboard's name for the figure; position
			// stays, deprecated, for the clients that read it.
			Rank:          e.Rank,
			Position:      e.Rank,
			RankLow:       e.RankLow,
			RankHigh:      e.RankHigh,
			CiLow:         figure(e.CI.Low),
			CiHigh:        figure(e.CI.High),
			StdError:      figure(e.StdError),
			Questions:     e.Questions,
			PassAtK:       toPassAtK(e.PassAtK),
			ModelId:       e.ModelID,
			ModelName:     e.ModelName,
			Score:         figure(e.Score),
			N:             e.N,
			Correct:       e.Correct,
			Failed:        e.Failed,
			Unscored:      e.Unscored,
			ErrorRate:     figure(e.ErrorRate),
			MeanLatencyMs: figure(derefOr(e.MeanLatencyMs)),
			TtftP50Ms:     figurePtr(e.TTFTP50Ms),
			CostUsd:       figure(e.CostUSD),
		})
	}
	return out
}

func toPassAtK(in []analytics.PassAtK) []oapi.PassAtK {
	out := make([]oapi.PassAtK, len(in))
	for i, p := range in {
		out[i] = oapi.PassAtK{K: p.K, Value: figure(p.Value)}
	}
	return out
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
