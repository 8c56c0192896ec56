package stats

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// DefaultResamples is the number of bootstrap resamples when
// Bootstrap.Resamples is zero. At 1000 the Monte Carlo error of a 95%
// percentile bound is a small fraction of the interval's width.
const DefaultResamples = 1000

// DefaultSeed is the bootstrap seed when Bootstrap.Seed is zero.
const DefaultSeed uint64 = 1

// The percentile interval's bounds: a two-sided 95% interval.
const (
	lowP  = 0.025
	highP = 0.975
)

// Bootstrap computes percentile bootstrap confidence intervals with a fixed
// seed, so that the same request always gets the same interval. The zero
// value uses DefaultResamples and DefaultSeed; in particular a Seed of 0
// means DefaultSeed, not a seed of its own.
type Bootstrap struct {
	// Resamples is the number of resamples; the work is Resamples times the
	// number of values, so callers bound it.
	Resamples int
	// Seed selects the random sequence; the stream argument of each method
	// (see StreamFor) splits it into independent sequences.
	Seed uint64
}

// Mean returns the 95% percentile bootstrap interval of the mean of xs:
// the 2.5% and 97.5% quantiles (type 7) of the means of Resamples
// resamples of xs drawn with replacement. stream selects the random
// sequence within the seed (see StreamFor).
//
// An empty xs gives Interval{0, 0}; callers leave empty sets out rather than
// report them. A single value, or all values equal, gives the degenerate
// interval [x, x] exactly. xs must hold finite values, fewer than 2^32 of
// them.
func (b Bootstrap) Mean(xs []float64, stream uint64) Interval {
	n := len(xs)
	if n == 0 {
		return Interval{}
	}
	// Summing offsets from the first value makes a constant sample sum to
	// exactly 0, so its interval is exactly [x, x] rather than off by a
	// rounding error.
	shift := xs[0]
	dev := make([]float64, n)
	for i, x := range xs {
		dev[i] = x - shift
	}
	p := newPicker(b.source(stream), n)
	idx := make([]uint32, n)
	means := make([]float64, b.resamples())
	for r := range means {
		p.fill(idx)
		means[r] = shift + sumPicked(dev, idx)/float64(n)
	}
	return percentile(means)
}

// PairedDiff returns, for each metric j, the 95% percentile bootstrap
// interval of the mean over questions i of cur[j][i] - prev[j][i]: the
// change of metric j between two periods measured on the same questions.
//
// Every resample draws the question indices once and uses them for all
// metrics, so the intervals describe the same resampled question sets and a
// call with several metrics costs one random draw per pick, not one per
// metric. With a single metric and prev all zeros, it gives exactly
// Mean(cur[0], stream).
//
// A pair whose difference is not finite (a NaN or infinity on either side,
// e.g. a question with no latency in one period) is missing for that
// metric: each resample averages the metric over the picked questions that
// have it, and resamples that picked none are left out. A metric with no
// pair at all, or a call with no questions, gives Interval{0, 0}.
//
// cur and prev hold one slice per metric, all of the same length (the
// number of questions, fewer than 2^32); PairedDiff panics otherwise, as
// that is a programming error.
func (b Bootstrap) PairedDiff(cur, prev [][]float64, stream uint64) []Interval {
	m := len(cur)
	if len(prev) != m {
		panic(fmt.Sprintf("stats: PairedDiff got %d current and %d previous metrics", m, len(prev)))
	}
	out := make([]Interval, m)
	if m == 0 {
		return out
	}
	n := len(cur[0])
	for j := range m {
		if len(cur[j]) != n || len(prev[j]) != n {
			panic(fmt.Sprintf("stats: PairedDiff metric %d has %d current and %d previous values, want %d",
				j, len(cur[j]), len(prev[j]), n))
		}
	}
	if n == 0 {
		return out
	}

	// Per metric: differences as offsets from the metric's first present
	// difference (as in Mean), and weights 1 (present) or 0 (missing) only
	// for metrics that miss some pairs, so that the common case sums one
	// column per metric.
	type column struct {
		shift  float64
		dev    []float64
		weight []float64 // nil when every pair is present
		means  []float64
	}
	cols := make([]column, m)
	resamples := b.resamples()
	for j := range cols {
		c := &cols[j]
		dev, weight := make([]float64, n), make([]float64, n)
		present := 0
		for i := range n {
			d := cur[j][i] - prev[j][i]
			if math.IsNaN(d) || math.IsInf(d, 0) {
				continue
			}
			if present == 0 {
				c.shift = d
			}
			present++
			dev[i], weight[i] = d-c.shift, 1
		}
		switch present {
		case 0:
			continue // nothing to resample: dev stays nil
		case n:
			c.dev = dev
		default:
			c.dev, c.weight = dev, weight
		}
		c.means = make([]float64, 0, resamples)
	}

	p := newPicker(b.source(stream), n)
	idx := make([]uint32, n)
	for range resamples {
		p.fill(idx)
		for j := range cols {
			c := &cols[j]
			switch {
			case c.dev == nil:
			case c.weight == nil:
				c.means = append(c.means, c.shift+sumPicked(c.dev, idx)/float64(n))
			default:
				if w := sumPicked(c.weight, idx); w > 0 {
					c.means = append(c.means, c.shift+sumPicked(c.dev, idx)/w)
				}
			}
		}
	}
	for j, c := range cols {
		if len(c.means) > 0 {
			out[j] = percentile(c.means)
		}
	}
	return out
}

// StreamFor derives the bootstrap stream for one model (id is its UUID)
// under seed, so that each model's interval depends only on the seed and
// its own data: adding or removing a model, or changing the order models
// are computed in, leaves the other models' intervals unchanged. It is
// FNV-1a over the seed (8 bytes, little-endian) and the id, finished with
// the SplitMix64 mixer because FNV's last bytes barely reach its high bits.
func StreamFor(seed uint64, id [16]byte) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	var buf [24]byte
	binary.LittleEndian.PutUint64(buf[:8], seed)
	copy(buf[8:], id[:])
	h := uint64(offset64)
	for _, c := range buf {
		h ^= uint64(c)
		h *= prime64
	}
	return mix64(h)
}

func (b Bootstrap) resamples() int {
	if b.Resamples <= 0 {
		return DefaultResamples
	}
	return b.Resamples
}

// source returns the random sequence for (seed, stream). Go's PCG takes its
// arguments as the raw 128-bit state and has a single increment, so seeds
// 1, 2, 3 would start from neighbouring states; mixing each half first puts
// every (seed, stream) at an unrelated point of the sequence.
func (b Bootstrap) source(stream uint64) *rand.PCG {
	seed := cmp.Or(b.Seed, DefaultSeed)
	return rand.NewPCG(mix64(seed), mix64(stream^0x5851f42d4c957f2d))
}

// mix64 is the SplitMix64 finaliser (Steele, Lea and Flood 2014): a
// bijection on uint64 in which every input bit affects every output bit.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// percentile sorts means in place and returns its 95% percentile interval.
func percentile(means []float64) Interval {
	slices.Sort(means)
	return Interval{Low: Quantile(means, lowP), High: Quantile(means, highP)}
}

// sumPicked returns the sum of xs[i] over the picked indices. Four
// accumulators let the additions overlap instead of waiting on each other;
// Mean and PairedDiff both sum through here, so they round alike.
func sumPicked(xs []float64, idx []uint32) float64 {
	var s0, s1, s2, s3 float64
	k := 0
	for ; k+4 <= len(idx); k += 4 {
		s0 += xs[idx[k]]
		s1 += xs[idx[k+1]]
		s2 += xs[idx[k+2]]
		s3 += xs[idx[k+3]]
	}
	for ; k < len(idx); k++ {
		s0 += xs[idx[k]]
	}
	return (s0 + s1) + (s2 + s3)
}

// picker draws uniform indices in [0, n). It is Lemire's multiply-shift
// ("Fast Random Integer Generation in an Interval", 2019) on 32-bit halves
// of the PCG output: two unbiased indices per 64-bit draw, with no
// division. Doing it here rather than with rand.IntN also pins the
// sequence of indices, and so every published interval, to this code.
type picker struct {
	src *rand.PCG
	n   uint64
	// thr is 2^32 mod n: a 32-bit draw whose low product half falls below it
	// lands in an over-represented slot and is drawn again.
	thr uint32
}

func newPicker(src *rand.PCG, n int) picker {
	if n <= 0 || uint64(n) > math.MaxUint32 {
		panic(fmt.Sprintf("stats: cannot resample %d values", n))
	}
	return picker{src: src, n: uint64(n), thr: uint32(-uint32(n) % uint32(n))}
}

// fill overwrites idx with independent uniform indices. This loop is where
// a bootstrap spends most of its time, so the generator and bounds are
// copied into locals rather than reached through p on every draw.
func (p *picker) fill(idx []uint32) {
	src, n, thr := *p.src, p.n, p.thr
	k := 0
	for ; k+2 <= len(idx); k += 2 {
		r := src.Uint64()
		m0 := (r & math.MaxUint32) * n
		m1 := (r >> 32) * n
		for uint32(m0) < thr {
			m0 = (src.Uint64() & math.MaxUint32) * n
		}
		for uint32(m1) < thr {
			m1 = (src.Uint64() & math.MaxUint32) * n
		}
		idx[k] = uint32(m0 >> 32)
		idx[k+1] = uint32(m1 >> 32)
	}
	if k < len(idx) {
		m := (src.Uint64() & math.MaxUint32) * n
		for uint32(m) < thr {
			m = (src.Uint64() & math.MaxUint32) * n
		}
		idx[k] = uint32(m >> 32)
	}
	*p.src = src
}

// Resample calls f once per resample with the indices of n values drawn
// with replacement: the same draws, from the same (Seed, stream), that
// Mean and PairedDiff make, for statistics other than a mean (a
// percentile, a test's null distribution). idx is reused between calls: f
// must not keep it. n must be in [1, 2^32).
func (b Bootstrap) Resample(n int, stream uint64, f func(idx []uint32)) {
	p := newPicker(b.source(stream), n)
	idx := make([]uint32, n)
	for range b.resamples() {
		p.fill(idx)
		f(idx)
	}
}
