package analytics_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/analytics"
)

func TestService_Timeseries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	alpha, beta := modelID(1), modelID(2)
	mathCat := "math"
	rows := []analytics.Rollup{
		{Bucket: day(10), ModelID: beta, N: 4, MeanScore: ptr(0.25), LatencyP50Ms: ptr(120.0), LatencyP95Ms: ptr(190.0), TTFTP50Ms: ptr(30.0), TokensPerS: ptr(50.0), CostUSD: 0.5},
		{Bucket: day(12), ModelID: beta, N: 2, MeanScore: ptr(0.5), CostUSD: 0.25},
		{Bucket: day(11), ModelID: alpha, N: 6, MeanScore: ptr(1.0), LatencyP50Ms: ptr(80.0), LatencyP95Ms: ptr(95.0), CostUSD: 1},
		{Bucket: day(11), ModelID: alpha, Category: &mathCat, N: 3, MeanScore: ptr(1.0), CostUSD: 0.5},
	}

	// recorder serves rows and keeps the query it was asked.
	recorder := func() (*analytics.Service, *analytics.RollupQuery) {
		var got analytics.RollupQuery
		st := &fakeStore{
			rollups: func(q analytics.RollupQuery) ([]analytics.Rollup, error) { got = q; return rows, nil },
			names:   map[uuid.UUID]string{alpha: "alpha", beta: "beta"},
		}
		svc := analytics.NewService(st)
		svc.SetNow(func() time.Time { return now })
		return svc, &got
	}

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			metric analytics.Metric
			want   [3]*float64 // beta day 10, beta day 12, alpha day 11
		}{
			{analytics.MetricScore, [3]*float64{ptr(0.25), ptr(0.5), ptr(1.0)}},
			{analytics.MetricLatency, [3]*float64{ptr(120.0), nil, ptr(80.0)}},
			{analytics.MetricLatencyP95, [3]*float64{ptr(190.0), nil, ptr(95.0)}},
			{analytics.MetricTTFT, [3]*float64{ptr(30.0), nil, nil}},
			{analytics.MetricTokensPerS, [3]*float64{ptr(50.0), nil, nil}},
			{analytics.MetricCost, [3]*float64{ptr(0.5), ptr(0.25), ptr(1.0)}},
		} {
			svc, _ := recorder()
			ts, err := svc.Timeseries(ctx, analytics.TimeseriesQuery{BenchmarkID: benchmarkID, Metric: tc.metric})
			if err != nil {
				t.Fatal(err)
			}
			if ts.Metric != tc.metric || ts.Bucket != analytics.Day || len(ts.Series) != 2 {
				t.Fatalf("%s: %+v; want day buckets and two series", tc.metric, ts)
			}
			a, b := ts.Series[0], ts.Series[1]
			if a.ModelName != "alpha" || b.ModelName != "beta" || len(a.Points) != 1 || len(b.Points) != 2 {
				t.Fatalf("%s: series %+v; want alpha with 1 point (the all-category row), beta with 2", tc.metric, ts.Series)
			}
			got := [3]analytics.Point{b.Points[0], b.Points[1], a.Points[0]}
			wantBuckets := [3]time.Time{day(10), day(12), day(11)}
			wantN := [3]int64{4, 2, 6}
			for i, p := range got {
				if !p.Bucket.Equal(wantBuckets[i]) || p.N != wantN[i] || !sameValue(p.Value, tc.want[i]) {
					t.Errorf("%s: point %d = %s n %d value %v; want %s n %d value %v", tc.metric, i, p.Bucket, p.N, deref(p.Value), wantBuckets[i], wantN[i], deref(tc.want[i]))
				}
			}
		}
	})

	t.Run("OKCategory", func(t *testing.T) {
		t.Parallel()
		svc, got := recorder()
		ts, err := svc.Timeseries(ctx, analytics.TimeseriesQuery{BenchmarkID: benchmarkID, Metric: analytics.MetricScore, Category: &mathCat, ModelID: &alpha})
		if err != nil {
			t.Fatal(err)
		}
		if got.Category == nil || *got.Category != "math" || got.ModelID == nil || *got.ModelID != alpha {
			t.Errorf("store asked for %+v; want alpha's math rows", got)
		}
		if len(ts.Series) != 1 || len(ts.Series[0].Points) != 1 || ts.Series[0].Points[0].N != 3 {
			t.Errorf("series = %+v; want alpha's math row only", ts.Series)
		}
	})

	t.Run("OKRanges", func(t *testing.T) {
		t.Parallel()
		date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
		for _, tc := range []struct {
			name     string
			bucket   analytics.Bucket
			from, to *time.Time
			want     [2]time.Time
		}{
			// now is Wednesday 2026-03-18 10:00: 90 days back is 12-18 10:00.
			{"DefaultDay", "", nil, nil, [2]time.Time{date(2025, 12, 18), date(2026, 3, 19)}},
			// 26 weeks back is Wednesday 2025-09-17; weeks start on Monday.
			{"DefaultWeek", analytics.Week, nil, nil, [2]time.Time{date(2025, 9, 15), date(2026, 3, 23)}},
			{"DefaultMonth", analytics.Month, nil, nil, [2]time.Time{date(2024, 3, 1), date(2026, 4, 1)}},
			{"Aligned", analytics.Day, ptr(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)), ptr(date(2026, 1, 3)), [2]time.Time{date(2026, 1, 1), date(2026, 1, 3)}},
			{"FromOnly", analytics.Month, ptr(date(2026, 1, 31)), nil, [2]time.Time{date(2026, 1, 1), date(2026, 4, 1)}},
			{"MaxBuckets", analytics.Day, ptr(date(2020, 1, 1)), ptr(date(2020, 1, 1).AddDate(0, 0, analytics.MaxBuckets)), [2]time.Time{date(2020, 1, 1), date(2020, 1, 1).AddDate(0, 0, analytics.MaxBuckets)}},
		} {
			svc, got := recorder()
			ts, err := svc.Timeseries(ctx, analytics.TimeseriesQuery{BenchmarkID: benchmarkID, Metric: analytics.MetricScore, Bucket: tc.bucket, From: tc.from, To: tc.to})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !got.From.Equal(tc.want[0]) || !got.To.Equal(tc.want[1]) || !ts.From.Equal(tc.want[0]) || !ts.To.Equal(tc.want[1]) {
				t.Errorf("%s: store asked for [%s, %s), answer [%s, %s); want [%s, %s)", tc.name, got.From, got.To, ts.From, ts.To, tc.want[0], tc.want[1])
			}
		}
	})

	t.Run("ErrBadQuery", func(t *testing.T) {
		t.Parallel()
		svc, _ := recorder()
		start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, tc := range []struct {
			name  string
			q     analytics.TimeseriesQuery
			field string
		}{
			{"TooManyBuckets", analytics.TimeseriesQuery{Metric: analytics.MetricScore, From: &start, To: ptr(start.AddDate(0, 0, analytics.MaxBuckets+1))}, "from"},
			{"TooManyBucketsUnaligned", analytics.TimeseriesQuery{Metric: analytics.MetricScore, From: ptr(start.Add(time.Hour)), To: ptr(start.AddDate(0, 0, analytics.MaxBuckets).Add(time.Hour))}, "from"},
			{"FromAfterTo", analytics.TimeseriesQuery{Metric: analytics.MetricScore, From: ptr(start.Add(time.Hour)), To: &start}, "from"},
			{"FromEqualsTo", analytics.TimeseriesQuery{Metric: analytics.MetricScore, From: &start, To: &start}, "from"},
			{"Metric", analytics.TimeseriesQuery{Metric: "accuracy"}, "metric"},
			{"Bucket", analytics.TimeseriesQuery{Metric: analytics.MetricScore, Bucket: "year"}, "bucket"},
		} {
			_, err := svc.Timeseries(ctx, tc.q)
			if fe := fault.As(err); fe == nil || fe.Kind != fault.KindInvalid || fe.Field != tc.field {
				t.Errorf("%s: error %v; want invalid %s", tc.name, err, tc.field)
			}
		}
	})
}

func sameValue(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return near(*a, *b)
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
