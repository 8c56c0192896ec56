// Package stats holds the statistics behind SABE's leaderboards and trend
// comparisons: means and standard errors, percentile bootstrap confidence
// intervals, paired differences between two periods, the unbiased pass@k
// estimator and rank bands. It is pure arithmetic with no I/O, so every
// process computes the same figures from the same numbers.
//
// # The question is the unit
//
// A benchmark's questions are a sample from the questions one could have
// asked, and that sample is the main source of uncertainty in a score. The
// samples and runs of one question are correlated (the same question is
// easy or hard every time), so callers first average them per question and
// pass one value per question here. Resampling executions instead would
// treat correlated samples as independent and report intervals that are too
// narrow.
//
// # Percentile bootstrap, fixed seed
//
// Intervals come from the percentile bootstrap over questions: resample the
// per-question values with replacement, take the mean, repeat, and report
// the 2.5% and 97.5% quantiles of those means. It assumes no normality,
// stays inside the values' range (a score interval never leaves [0, 1]) and
// copes with skewed metrics such as latency and cost, where mean ± 1.96·SE
// does not. With a fixed seed the answer is reproducible: the same request
// gets the same interval, and a reader can recompute it. Each model's
// random stream comes from (seed, model id) through StreamFor, so adding a
// model to a leaderboard does not move another model's interval. The index
// draws use this package's own Lemire multiply-shift on PCG output rather
// than rand.IntN, so the intervals depend only on this code and the PCG
// algorithm, both fixed.
//
// # Paired differences
//
// "Did it get worse this week?" compares two periods on the questions both
// share. Questions differ in difficulty far more than a model changes from
// week to week; pairing each question with itself cancels that variation
// (the variance of a difference is var(a) + var(b) - 2·cov(a, b), and the
// covariance is large), so a real regression shows up with a fraction of
// the questions an unpaired comparison would need, and unrelated
// differences between the two question sets cannot pose as a change.
// PairedDiff resamples question indices once per resample for all metrics
// (score, latency, cost), so their intervals describe the same resampled
// question sets and cost one random draw per pick. A change is significant
// when its interval excludes zero.
//
// # pass@k
//
// When a benchmark samples each question n times, pass@k is the chance
// that at least one of k samples passes. Plugging the observed pass rate
// into 1 - (1 - c/n)^k is biased low (the function is concave in the rate),
// so PassAtK uses the unbiased estimator of Chen et al. 2021, 1 - C(n-c, k)
// / C(n, k), computed as a product of n-c+1..n terms in log space so it
// neither overflows nor loses precision.
//
// # Rank bands
//
// When intervals overlap, the data do not order the models, and a single
// rank pretends they do. RankBands gives each model the range of ranks its
// interval allows: above it only the models whose interval lies wholly
// above its own, below it only those whose interval lies wholly below. A
// model whose interval overlaps everyone's gets the whole range.
package stats
