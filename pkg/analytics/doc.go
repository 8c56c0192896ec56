// Package analytics answers the questions SABE's users come with: how a
// model's quality, latency and cost move over time, whether it got worse
// this week, and which model is best, with uncertainty stated rather than
// hidden.
//
// analytics.go is the contract with the store: the rollup rows time series
// are drawn from and the per-question tallies (QuestionStat) the statistics
// are computed from. Service (service.go) turns them into answers, one
// query per file: timeseries.go, compare.go, leaderboard.go and drift.go,
// over the per-question figures of question.go. It is pure computation
// apart from its Store calls and a cache of answers (cache.go), so its
// statistics can be checked against answers worked out by hand.
//
// # Which units count
//
// Every analysis counts the same units, so that one week's n agrees across
// the time series, comparisons, leaderboards and drift: the units of runs
// that finished completed or partial, answered or failed for good. The
// store's rollups and question tallies both hold to it.
//
// # The unit of analysis is the question
//
// Runs and samples are averaged per question first: for one model over a
// period (a run, a week, a month) a question's score is Correct/N pooled
// over the period's runs and samples, its latency the mean over its
// succeeded units, its cost what one run's samples of it cost. A model's
// score is then the mean over its questions. Resampling questions rather
// than units is what makes the intervals honest: samples of one question
// are not independent evidence about the model, the questions are.
//
// # Leaderboards
//
// Each model's 95% interval is a percentile bootstrap over its questions
// (stats.Bootstrap.Mean), with a fixed seed so the same data always give
// the same interval; each model's random stream is derived from the seed
// and its id, so adding a model does not move another's interval. Rather
// than pretend to an order the data do not support, each entry carries a
// rank band [1 + models whose interval lies wholly above its own, models
// whose interval does not lie wholly below its own]. pass@k (Chen et al.
// 2021) is reported when every question was sampled more than once.
//
// A finished run's rankings are leaderboards too, of one Entry type: when
// a run finishes, the store calls RankRun (rank.go), which the run's
// finalizer passes in, and stores the RunRanking it returns, overall and
// per category.
//
// # Comparisons
//
// Week over week, month over month, or one run against another: only the
// question revisions both sides share are compared (an edited question is
// a different question), and the interval of the difference is a paired
// bootstrap: the same questions are drawn for both sides, so the
// question-to-question spread, which dwarfs most real changes, cancels
// out. A change is significant when its interval excludes 0.
//
// # Drift
//
// Between a model's last two runs of a benchmark, the questions whose
// majority verdict (pass rate at least 1/2) flipped.
package analytics
