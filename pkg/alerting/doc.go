// Package alerting raises regression alerts: when a run of a benchmark
// with alert settings finishes, each of its models is compared with the
// benchmark's baseline run on each configured metric, and an alert (and a
// regression.detected event) is written for a worsening that is both
// significant after correction for the number of comparisons and at least
// the benchmark's minimum effect.
//
// # The comparison
//
// The data are the comparison's (analytics.Service.PairRuns): per model,
// the question revisions both runs asked, each with its pass rate, mean
// latency and cost per side. For each (model, metric) pair the detector
// computes the difference run − baseline of
//
//   - score: the mean of the questions' pass rates (a drop is worse);
//   - latency_p95: the 95th percentile of the questions' mean latency, over
//     the questions with a latency on both sides (a rise is worse);
//   - cost: the mean of the questions' cost (a rise is worse);
//
// with a paired bootstrap over questions (the same questions drawn for
// both sides, by stats.Bootstrap.Resample, the draws every SABE interval
// uses): its 95% percentile interval and a two-sided p-value by the shift
// method, p = (1 + #{|d* − d| ≥ |d|}) / (B + 1), where d is the observed
// difference and d* the resampled ones: under no change the resampled
// differences, centred on d, are as far from d as d is from 0 only by
// chance. The +1 keeps p away from an impossible 0. Each test is seeded by
// the run id, the model and the metric, so a check run twice computes the
// same figures.
//
// # Why Holm–Bonferroni, not Benjamini–Hochberg
//
// A run with 4 models and 3 metrics makes 12 tests; at α = 0.05 each,
// a run with no real change would raise an alert about 46% of the time.
// The promise an alert makes is about the run: "a run in which nothing
// really changed raises no alert, except with probability α". That is the
// family-wise error rate over the run's tests, and Holm's step-down
// procedure controls it under any dependence between the tests (a model's
// metrics share questions and are correlated), while being uniformly more
// powerful than plain Bonferroni. Benjamini–Hochberg controls the false
// discovery rate instead, the expected share of false alerts among the
// alerts raised: when nothing changed every alert is false, so BH bounds
// the chance of any alert only in that all-null case, and as soon as one
// real regression is present it lets additional false alerts through in
// proportion. For a pager, where each alert costs a person's attention,
// the family-wise guarantee is the one that keeps alerts trustworthy.
//
// An alert needs, besides a Holm-adjusted p below α, a worsening of at
// least min_effect (score: absolute, in score units; latency and cost:
// relative to the baseline): significance says the change is real, the
// minimum effect that it is worth someone's time. The false-alarm rate and
// the detection power of this rule are measured in the package's tests
// (false_alarm_test.go), on simulated runs with and without planted drops.
//
// # The check
//
// check.go holds the alerts:check task, enqueued when a run finishes for
// the first time (pkg/run) and by the sweep (sweep.go), which the
// maintenance pass calls so that a run whose check was never enqueued (a
// crash between its finalization and the enqueue) is checked anyway. The
// check writes its alert_checks row, its alerts and their events in one
// transaction, once per run.
package alerting
