package ranking_test

import (
	"encoding/json"
	"maps"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/sabe-dev/sabe/pkg/ranking"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

// checkEntry compares every field, floats to within 1e-12.
func checkEntry(t *testing.T, where string, got, want ranking.Entry) {
	t.Helper()
	if got.Position != want.Position || got.ModelID != want.ModelID || got.ModelName != want.ModelName ||
		got.N != want.N || got.Correct != want.Correct || got.Failed != want.Failed {
		t.Errorf("%s: got %+v, want %+v", where, got, want)
		return
	}
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		{"Score", got.Score, want.Score},
		{"ErrorRate", got.ErrorRate, want.ErrorRate},
		{"MeanLatencyMs", got.MeanLatencyMs, want.MeanLatencyMs},
		{"CostUSD", got.CostUSD, want.CostUSD},
		{"CILow", got.CILow, want.CILow},
		{"CIHigh", got.CIHigh, want.CIHigh},
	} {
		if !near(f.got, f.want) {
			t.Errorf("%s: %s = %.17g, want %.17g", where, f.name, f.got, f.want)
		}
	}
}

func checkEntries(t *testing.T, where string, got, want []ranking.Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d entries, want %d: %+v", where, len(got), len(want), got)
	}
	for i := range want {
		checkEntry(t, where, got[i], want[i])
	}
}

func TestCompute(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		got := ranking.Compute([]ranking.Aggregate{
			{ModelID: "m-a", ModelName: "Alpha", Category: "math", N: 10, Correct: 8, Failed: 1, LatencySumMs: 9000, LatencyCount: 9, CostUSD: 0.5},
			{ModelID: "m-a", ModelName: "Alpha", Category: "", N: 10, Correct: 6, LatencySumMs: 5000, LatencyCount: 10, CostUSD: 0.25},
			{ModelID: "m-b", ModelName: "Beta", Category: "math", N: 10, Correct: 9, LatencySumMs: 4000, LatencyCount: 10, CostUSD: 1},
			{ModelID: "m-b", ModelName: "Beta", Category: "", N: 10, Correct: 3, Failed: 2, LatencySumMs: 1600, LatencyCount: 8},
		})

		// Wilson interval, z = 1.959963984540054, z² = 3.841458820694125.
		// For 8 of 10 (p = 0.8):
		//   denom  = 1 + z²/n                          = 1.3841458820694125
		//   center = (p + z²/2n) / denom = 0.9920729410347062 / 1.3841458820694125 = 0.7167401600411332
		//   half   = z·√(p(1−p)/n + z²/4n²) / denom
		//          = 1.959963984540054·√(0.016 + 0.0096036470517353) / 1.3841458820694125 = 0.2265776885044915
		//   [center − half, center + half] = [0.4901624715366417, 0.9433178485456247]
		// (the textbook 8/10 Wilson interval, 0.490 to 0.943).
		wantMath := []ranking.Entry{
			{Position: 1, ModelID: "m-b", ModelName: "Beta", Score: 0.9, N: 10, Correct: 9, ErrorRate: 0, MeanLatencyMs: 400, CostUSD: 1,
				CILow: 0.59584997320476152, CIHigh: 0.98212378690492708},
			{Position: 2, ModelID: "m-a", ModelName: "Alpha", Score: 0.8, N: 10, Correct: 8, Failed: 1, ErrorRate: 0.1, MeanLatencyMs: 1000, CostUSD: 0.5,
				CILow: 0.4901624715366417, CIHigh: 0.9433178485456247},
		}
		wantUncategorized := []ranking.Entry{
			{Position: 1, ModelID: "m-a", ModelName: "Alpha", Score: 0.6, N: 10, Correct: 6, MeanLatencyMs: 500, CostUSD: 0.25,
				CILow: 0.31267376973365824, CIHigh: 0.8318196702937638},
			{Position: 2, ModelID: "m-b", ModelName: "Beta", Score: 0.3, N: 10, Correct: 3, Failed: 2, ErrorRate: 0.2, MeanLatencyMs: 200,
				CILow: 0.10779126740630099, CIHigh: 0.60322185253885463},
		}
		// Overall sums both categories: Alpha 14/20 with 1 failure and
		// 14000 ms over 19 calls; Beta 12/20 with 2 failures and 5600 ms over 18.
		wantOverall := []ranking.Entry{
			{Position: 1, ModelID: "m-a", ModelName: "Alpha", Score: 0.7, N: 20, Correct: 14, Failed: 1, ErrorRate: 0.05, MeanLatencyMs: 14000.0 / 19, CostUSD: 0.75,
				CILow: 0.48102718164647651, CIHigh: 0.85452275513239562},
			{Position: 2, ModelID: "m-b", ModelName: "Beta", Score: 0.6, N: 20, Correct: 12, Failed: 2, ErrorRate: 0.1, MeanLatencyMs: 5600.0 / 18, CostUSD: 1,
				CILow: 0.38658150076225312, CIHigh: 0.781193467627183},
		}
		checkEntries(t, "overall", got.Overall, wantOverall)
		if keys := slices.Sorted(maps.Keys(got.ByCategory)); !slices.Equal(keys, []string{"math", ranking.Uncategorized}) {
			t.Fatalf("ByCategory keys = %v, want [math uncategorized]", keys)
		}
		checkEntries(t, "math", got.ByCategory["math"], wantMath)
		checkEntries(t, "uncategorized", got.ByCategory[ranking.Uncategorized], wantUncategorized)
	})

	t.Run("OKFailedCountsAsIncorrect", func(t *testing.T) {
		t.Parallel()
		// Flaky got 5 right and failed 5 for good; excluding the failures
		// would give it 5/5 and first place. Steady answered all 10, 6 right.
		got := ranking.Compute([]ranking.Aggregate{
			{ModelID: "m-1", ModelName: "Flaky", N: 10, Correct: 5, Failed: 5, LatencySumMs: 500, LatencyCount: 5},
			{ModelID: "m-2", ModelName: "Steady", N: 10, Correct: 6, LatencySumMs: 1000, LatencyCount: 10},
		})
		if len(got.Overall) != 2 {
			t.Fatalf("Overall = %+v, want 2 entries", got.Overall)
		}
		first, second := got.Overall[0], got.Overall[1]
		if first.ModelName != "Steady" || second.ModelName != "Flaky" {
			t.Errorf("order = %s, %s; want Steady, Flaky", first.ModelName, second.ModelName)
		}
		if second.Score != 0.5 || second.ErrorRate != 0.5 || second.N != 10 {
			t.Errorf("Flaky = %+v, want score 0.5, error rate 0.5, n 10", second)
		}
		// Latency is over the 5 succeeded calls only.
		if second.MeanLatencyMs != 100 {
			t.Errorf("Flaky MeanLatencyMs = %v, want 100", second.MeanLatencyMs)
		}
	})

	t.Run("OKTiesByNameThenID", func(t *testing.T) {
		t.Parallel()
		got := ranking.Compute([]ranking.Aggregate{
			{ModelID: "id-3", ModelName: "beta", N: 4, Correct: 2},
			{ModelID: "id-9", ModelName: "Alpha", N: 2, Correct: 1},
			{ModelID: "id-2", ModelName: "Alpha", N: 6, Correct: 3},
			{ModelID: "id-7", ModelName: "Gamma", N: 3, Correct: 1},
			{ModelID: "id-8", ModelName: "Zeta", N: 3, Correct: 2},
		})
		// 2/3 first; then the three 1/2 scores (equal fractions tie exactly)
		// by name, byte order putting "Alpha" before "beta", and the two
		// "Alpha" by id; then 1/3.
		var order []string
		for i, e := range got.Overall {
			order = append(order, e.ModelID)
			if e.Position != i+1 {
				t.Errorf("entry %d has Position %d", i, e.Position)
			}
		}
		if want := []string{"id-8", "id-2", "id-9", "id-3", "id-7"}; !slices.Equal(order, want) {
			t.Errorf("order = %v, want %v", order, want)
		}
	})

	t.Run("OKMultiCategorySums", func(t *testing.T) {
		t.Parallel()
		var aggs []ranking.Aggregate
		for i, c := range []string{"a", "b", "c", "d"} {
			aggs = append(aggs, ranking.Aggregate{
				ModelID: "m", ModelName: "Only", Category: c,
				N: 5, Correct: i + 1, Failed: 1, LatencySumMs: 100, LatencyCount: 4, CostUSD: 2,
			})
		}
		got := ranking.Compute(aggs)
		want := ranking.Entry{
			Position: 1, ModelID: "m", ModelName: "Only", Score: 10.0 / 20, N: 20, Correct: 10, Failed: 4,
			ErrorRate: 0.2, MeanLatencyMs: 25, CostUSD: 8, CILow: 0.29929800819821228, CIHigh: 0.70070199180178772,
		}
		checkEntries(t, "overall", got.Overall, []ranking.Entry{want})
		if len(got.ByCategory) != 4 {
			t.Errorf("ByCategory has %d categories, want 4", len(got.ByCategory))
		}
		if e := got.ByCategory["c"]; len(e) != 1 || e[0].Correct != 3 || e[0].N != 5 || e[0].Position != 1 {
			t.Errorf("ByCategory[c] = %+v, want one entry with 3 of 5", e)
		}
	})

	t.Run("OKUncategorizedMerges", func(t *testing.T) {
		t.Parallel()
		got := ranking.Compute([]ranking.Aggregate{
			{ModelID: "m", ModelName: "M", Category: "", N: 2, Correct: 1},
			{ModelID: "m", ModelName: "M", Category: ranking.Uncategorized, N: 2, Correct: 2},
		})
		e := got.ByCategory[ranking.Uncategorized]
		if len(got.ByCategory) != 1 || len(e) != 1 || e[0].N != 4 || e[0].Correct != 3 {
			t.Errorf("ByCategory = %+v, want one uncategorized entry with 3 of 4", got.ByCategory)
		}
		if _, ok := got.ByCategory[""]; ok {
			t.Error(`ByCategory has an "" key`)
		}
	})

	t.Run("OKNameFromFirstNonEmpty", func(t *testing.T) {
		t.Parallel()
		got := ranking.Compute([]ranking.Aggregate{
			{ModelID: "m", Category: "x", N: 1},
			{ModelID: "m", ModelName: "Named", Category: "y", N: 1},
		})
		if got.Overall[0].ModelName != "Named" {
			t.Errorf("ModelName = %q, want Named", got.Overall[0].ModelName)
		}
	})

	t.Run("OKExtremes", func(t *testing.T) {
		t.Parallel()
		got := ranking.Compute([]ranking.Aggregate{
			{ModelID: "all", ModelName: "All", N: 5, Correct: 5, LatencyCount: 0},
			{ModelID: "none", ModelName: "None", N: 5, Correct: 0, Failed: 5},
			{ModelID: "empty", ModelName: "Empty", N: 0},
		})
		checkEntries(t, "overall", got.Overall, []ranking.Entry{
			{Position: 1, ModelID: "all", ModelName: "All", Score: 1, N: 5, Correct: 5, CILow: 0.56551753521682513, CIHigh: 1},
			// N = 0 ranks with score 0, by name before "None".
			{Position: 2, ModelID: "empty", ModelName: "Empty", CILow: 0, CIHigh: 1},
			{Position: 3, ModelID: "none", ModelName: "None", N: 5, Failed: 5, ErrorRate: 1, CILow: 0, CIHigh: 0.43448246478317476},
		})
		if _, err := json.Marshal(got); err != nil {
			t.Errorf("json.Marshal: %v (a NaN or Inf slipped through)", err)
		}
	})

	t.Run("OKInputOrderIrrelevant", func(t *testing.T) {
		t.Parallel()
		aggs := []ranking.Aggregate{
			{ModelID: "a", ModelName: "A", Category: "x", N: 3, Correct: 1, CostUSD: 1},
			{ModelID: "b", ModelName: "B", Category: "x", N: 3, Correct: 2, CostUSD: 2},
			{ModelID: "a", ModelName: "A", Category: "y", N: 3, Correct: 3, CostUSD: 4},
			{ModelID: "c", ModelName: "C", Category: "y", N: 3, Correct: 3, CostUSD: 8},
		}
		want := ranking.Compute(aggs)
		reversed := slices.Clone(aggs)
		slices.Reverse(reversed)
		if got := ranking.Compute(reversed); !reflect.DeepEqual(got, want) {
			t.Errorf("reversed input: got %+v, want %+v", got, want)
		}
	})

	t.Run("OKEmpty", func(t *testing.T) {
		t.Parallel()
		for _, in := range [][]ranking.Aggregate{nil, {}} {
			got := ranking.Compute(in)
			if got.Overall == nil || got.ByCategory == nil {
				t.Fatalf("Compute(%v) = %+v, want non-nil slice and map", in, got)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			if string(b) != `{"overall":[],"by_category":{}}` {
				t.Errorf("JSON = %s", b)
			}
		}
	})
}

func TestEntry_JSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(ranking.Entry{Position: 1, ModelID: "m", ModelName: "M", Score: 0.5, N: 2, Correct: 1, Failed: 1,
		ErrorRate: 0.5, MeanLatencyMs: 12.5, CostUSD: 0.01, CILow: 0.1, CIHigh: 0.9})
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	want := `{"position":1,"model_id":"m","model_name":"M","score":0.5,"n":2,"correct":1,"failed":1,` +
		`"error_rate":0.5,"mean_latency_ms":12.5,"cost_usd":0.01,"ci_low":0.1,"ci_high":0.9}`
	if string(b) != want {
		t.Errorf("JSON = %s\nwant   %s", b, want)
	}
}

func TestCompute_IntervalContainsScore(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 60; n++ {
		for c := 0; c <= n; c++ {
			e := ranking.Compute([]ranking.Aggregate{{ModelID: "m", N: n, Correct: c}}).Overall[0]
			if !(0 <= e.CILow && e.CILow <= e.Score && e.Score <= e.CIHigh && e.CIHigh <= 1) {
				t.Fatalf("%d/%d: interval [%v, %v] does not hold score %v inside [0, 1]", c, n, e.CILow, e.CIHigh, e.Score)
			}
		}
	}
}
