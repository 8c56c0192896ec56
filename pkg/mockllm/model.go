package mockllm

import (
	"slices"
	"strconv"
	"strings"
)

// namedModels are the mock models with a name that says what they are for;
// they are the ones GET /v1/models lists. The "mock-NN" family is accepted
// too but not listed: 101 entries would only be noise.
var namedModels = []struct {
	name     string
	accuracy float64
}{
	{"mock-perfect", 1.0},
	{"mock-strong", 0.9},
	{"mock-medium", 0.6},
	{"mock-weak", 0.3},
	{"mock-zero", 0.0},
}

// judgeModels are the judge models (see Judge), listed after namedModels.
var judgeModels = []string{JudgeModel, JudgeModel2, JudgeModel3}

// modelTable holds every model the mock knows. It is built once at package
// initialization and only read afterwards, so the server can index its
// per-model counters by position without a lock.
type modelTable struct {
	index    map[string]int
	names    []string
	accuracy []float64
	judge    []bool
}

var models = newModelTable()

func newModelTable() modelTable {
	t := modelTable{index: make(map[string]int, len(namedModels)+len(judgeModels)+101)}
	add := func(name string, acc float64, judge bool) {
		t.index[name] = len(t.accuracy)
		t.names = append(t.names, name)
		t.accuracy = append(t.accuracy, acc)
		t.judge = append(t.judge, judge)
	}
	for _, m := range namedModels {
		add(m.name, m.accuracy, false)
	}
	for _, name := range judgeModels {
		add(name, 0, true)
	}
	for pct := 0; pct <= 100; pct++ {
		add("mock-"+strconv.Itoa(pct), float64(pct)/100, false)
	}
	return t
}

// Models returns the names of the named mock models, best first. The
// "mock-NN" family is valid as well but not listed.
func Models() []string {
	names := make([]string, len(namedModels))
	for i, m := range namedModels {
		names[i] = m.name
	}
	return names
}

// JudgeModels returns the names of the judge models: mock-judge,
// mock-judge-2 and mock-judge-3 (see Judge). The model lists show them
// after Models.
func JudgeModels() []string {
	return slices.Clone(judgeModels)
}

// listedModels is what GET /v1/models and its Anthropic and Gemini
// counterparts list.
func listedModels() []string {
	return append(Models(), judgeModels...)
}

// displayName is how the model lists show a mock model: "mock-strong"
// becomes "Mock Strong".
func displayName(name string) string {
	words := strings.Split(name, "-")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// Accuracy returns the fraction of questions the mock model answers
// correctly, and false when the model is unknown (the server answers 404
// model_not_found for those). Known models are "mock-perfect" (1.0),
// "mock-strong" (0.9), "mock-medium" (0.6), "mock-weak" (0.3), "mock-zero"
// (0.0) and "mock-NN" for NN in 0..100 written without leading zeros
// (NN percent). The judge models are not in this table: they judge rather
// than answer (see Judge).
func Accuracy(model string) (float64, bool) {
	i, ok := models.index[model]
	if !ok || models.judge[i] {
		return 0, false
	}
	return models.accuracy[i], true
}

// Correct reports whether model answers prompt correctly in the given
// sample. It is a pure function: FNV-1a 64 over the model, the prompt and the
// sample, finished with the splitmix64 mixer, gives a uniform u in [0, 1),
// and the answer is correct iff u < Accuracy(model). Unknown models are never
// correct. Tests call it to compute a run's expected scores exactly.
func Correct(model, prompt string, sample int) bool {
	acc, ok := Accuracy(model)
	if !ok {
		return false
	}
	return uniform(unitHash(saltCorrect, model, prompt, sample)) < acc
}

// Salts keep the hashes that decide different things about one unit
// independent of each other: whether it is correct must not predict by how
// much a wrong answer is off.
const (
	saltCorrect byte = iota + 1
	saltWrong
	saltUnknown
)

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func fnvByte(h uint64, b byte) uint64 {
	return (h ^ uint64(b)) * fnvPrime64
}

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = fnvByte(h, s[i])
	}
	return h
}

// unitHash hashes one (model, prompt, sample) unit. The NUL separators and
// the fixed-width sample keep distinct units from running together; model
// names never contain NUL.
func unitHash(salt byte, model, prompt string, sample int) uint64 {
	h := fnvByte(fnvOffset64, salt)
	h = fnvByte(fnvString(h, model), 0)
	h = fnvByte(fnvString(h, prompt), 0)
	s := uint64(sample)
	for range 8 {
		h = fnvByte(h, byte(s))
		s >>= 8
	}
	return mix64(h)
}

// mix64 is the splitmix64 finalizer. FNV-1a alone leaves its top bits weakly
// dependent on the last bytes hashed (the sample), and uniform reads the top
// bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// uniform maps a hash to [0, 1) using its top 53 bits, all a float64 holds.
func uniform(h uint64) float64 {
	return float64(h>>11) / (1 << 53)
}
