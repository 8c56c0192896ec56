package cli

import (
	"cmp"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/run"
)

// The synthetic world seed-history writes: its models and questions,
// drawn from --seed, and each unit's outcome.

// seedModel is a synthetic model's traits.
type seedModel struct {
	name string
	// accuracy is the chance of a right answer to a question of average
	// easiness; trend is how much it moves from the first run to the
	// last.
	accuracy, trend float64
	// Latency is lognormal: median latencyMs, log-scale sd latencySigma.
	latencyMs, latencySigma float64
	inPerMTok, outPerMTok   float64
}

// seedQuestion is a synthetic question's traits.
type seedQuestion struct {
	category string
	// easiness is added to a model's accuracy (clamped to [0.02, 0.98]).
	easiness    float64
	answer      int
	inputTokens int
}

// history is the plan of a synthetic history: everything but the ids.
type history struct {
	o         seedOptions
	models    []seedModel
	questions []seedQuestion
	runTimes  []time.Time
	// outage[k] is the model with an outage in run k, -1 for none.
	outage []int
	// regressFrom is the start of the week of the newest run: from it on,
	// the last model answers seedRegression worse.
	regressFrom time.Time
}

// Streams of the seed's random numbers, one per kind of draw, so that
// changing one kind does not move the others.
const (
	streamModels uint64 = iota + 1
	streamQuestions
	streamRuns
	streamUnits
)

// planHistory lays out the history o asks for: runs evenly spaced over the
// weeks before o.end, the newest at o.end, and each model's and question's
// traits drawn from o.seed.
func planHistory(o seedOptions) (history, error) {
	if err := o.validate(); err != nil {
		return history{}, err
	}
	h := history{o: o}
	rng := rand.New(rand.NewPCG(o.seed, streamModels))
	for m := range o.models {
		sm := seedModel{
			name:         slug(o.benchmark) + "-" + seedModelNames[m],
			accuracy:     0.5 + 0.35*rng.Float64(),
			latencyMs:    300 + 1500*rng.Float64(),
			latencySigma: 0.45,
			trend:        0.04 * (rng.Float64() - 0.5),
		}
		jitter := 0.02 * (rng.Float64() - 0.5)
		if m < len(seedAccuracy) {
			sm.accuracy, sm.latencyMs = seedAccuracy[m]+jitter, seedLatency[m]
		}
		p := seedPrices[m%len(seedPrices)]
		sm.inPerMTok, sm.outPerMTok = p[0], p[1]
		h.models = append(h.models, sm)
	}
	rng = rand.New(rand.NewPCG(o.seed, streamQuestions))
	h.questions = make([]seedQuestion, o.questions)
	for q := range h.questions {
		h.questions[q] = seedQuestion{
			category:    seedCategories[q%len(seedCategories)],
			easiness:    0.5 * (rng.Float64() - 0.5),
			answer:      rng.IntN(1_000_000),
			inputTokens: 40 + rng.IntN(400),
		}
	}
	runs := o.executions / o.unitsPerRun()
	end := o.end.UTC().Truncate(time.Second)
	every := time.Duration(o.weeks) * 7 * 24 * time.Hour / time.Duration(runs)
	rng = rand.New(rand.NewPCG(o.seed, streamRuns))
	for k := range runs {
		h.runTimes = append(h.runTimes, end.Add(-time.Duration(runs-1-k)*every).Truncate(time.Second))
		out := -1
		if rng.IntN(seedOutageEvery) == 0 {
			out = rng.IntN(o.models)
		}
		h.outage = append(h.outage, out)
	}
	h.regressFrom = analytics.Week.Start(end)
	return h, nil
}

// slug makes a benchmark name fit into model names: lower case, runs of
// anything but letters and digits as one dash.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return cmp.Or(strings.TrimSuffix(b.String(), "-"), "seed")
}

// accuracy is model m's chance of answering question q right in run k.
func (h *history) accuracy(k, m, q int) float64 {
	sm := h.models[m]
	p := sm.accuracy + h.questions[q].easiness
	if n := len(h.runTimes); n > 1 {
		p += sm.trend * (float64(k)/float64(n-1) - 0.5)
	}
	if m == len(h.models)-1 && !h.runTimes[k].Before(h.regressFrom) {
		p -= seedRegression
	}
	return min(max(p, 0.02), 0.98)
}

// unitOutcome is what one unit did.
type unitOutcome struct {
	failed, passed                bool
	attempts                      int
	latencyMs, ttftMs, tokensPerS float64
	inputTokens, outputTokens     int
	costUSD                       float64
}

// sampler draws a unit's numbers; each goroutine has its own, and
// re-seeding it per unit makes a unit's numbers depend only on the seed
// and the unit, not on the order units are drawn in.
type sampler struct {
	src *rand.PCG
	rng *rand.Rand
}

func newSampler() *sampler {
	src := rand.NewPCG(0, 0)
	return &sampler{src: src, rng: rand.New(src)}
}

// unit draws the outcome of sample s of model m on question q in run k.
func (h *history) unit(sm *sampler, k, m, q, s int) unitOutcome {
	key := ((uint64(k)*uint64(h.o.models)+uint64(m))*uint64(h.o.questions)+uint64(q))*uint64(h.o.samples) + uint64(s)
	sm.src.Seed(h.o.seed^streamUnits<<56, splitmix64(key))
	r := sm.rng
	u := unitOutcome{attempts: 1}
	switch x := r.Float64(); {
	case x < 0.005:
		u.attempts = 3
	case x < 0.03:
		u.attempts = 2
	}
	if h.outage[k] == m && r.Float64() < 0.04 {
		u.failed, u.attempts = true, 3
		return u
	}
	model := h.models[m]
	u.passed = r.Float64() < h.accuracy(k, m, q)
	u.latencyMs = model.latencyMs * math.Exp(model.latencySigma*r.NormFloat64())
	u.ttftMs = u.latencyMs * (0.1 + 0.25*r.Float64())
	u.inputTokens = h.questions[q].inputTokens
	u.outputTokens = 8 + r.IntN(240)
	u.tokensPerS = float64(u.outputTokens) / ((u.latencyMs - u.ttftMs) / 1000)
	u.costUSD = run.Cost(u.inputTokens, u.outputTokens, model.inPerMTok, model.outPerMTok)
	return u
}

// splitmix64 scrambles a counter into a well-mixed seed.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
