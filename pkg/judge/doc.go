// Package judge holds SABE's LLM-as-judge logic that needs no database or
// network: the judge configuration of an llm_judge scoring rule and its
// validation, the shipped prompt templates, the verdict JSON Schema, the
// parsing of a judge's reply into a verdict, the aggregation of a panel's
// verdicts, and the agreement statistics reported for panels and reviews.
//
// # Verdicts
//
// A judge answers with a JSON object {"reasoning": string, "verdict": …}:
// both keys required, no other key allowed. The verdict is "pass" or "fail"
// (kind pass_fail), an integer from min to max inclusive (kind score, min
// and max default to 1 and 5), or the name of one of the configured
// choices (kind choice). A verdict's Score is always in 0..1: 1 or 0 for
// pass_fail, (v − min)/(max − min) for score, the choice's score for choice.
//
// Parse is lenient about where the object is and strict about what it
// says. It accepts the object alone, inside a Markdown code fence, or with
// prose around it; when the text holds several top-level objects it takes
// the last one that decodes and has a "verdict" key (else the last one
// that decodes); it drops trailing commas before } and ]. It then checks
// the object against the schema exactly: a missing or extra key, a
// reasoning that is not a string, a score that is not an integer or is out
// of range, a label that is not one of the enum values (labels are
// case-sensitive), a truncated or absent object — each is a *ParseError.
// A reply that cannot be parsed never becomes a pass, a fail or a zero: the
// evaluation is unscored (ReasonParseFailure).
//
// # Templates
//
//   - rubric (the default): the answer is graded against Rubric, the
//     criteria text, which is required; the reference is shown when there
//     is one. Default verdict kind pass_fail.
//   - closed_qa: the answer is checked against the reference (the
//     question's expected answer or the rule's value), which is required;
//     Rubric, when given, adds criteria. Default kind pass_fail.
//   - factuality: the answer's factual content is compared with the
//     reference (required) in the five categories of openai/evals' fact
//     template: A subset, B superset, C same details, D disagreement, E
//     differences that do not matter for factuality. The kind is choice;
//     the default scores are A=1 B=1 C=1 D=0 E=1, and verdict.choices may
//     set other scores (it must then name exactly A to E).
//   - custom: Prompt is the user turn, with the placeholders {question},
//     {answer}, {reference} and {rubric}; any other {name} is refused, and
//     {answer} is required. Each placeholder is replaced by the part
//     wrapped in its tag (<answer>…</answer>), as in the shipped templates.
//
// Every prompt wraps each part in a tag (<question>, <answer>, <reference>,
// <rubric>); a closing tag inside a part is broken up ("</answer>" becomes
// "<\/answer>") so an answer cannot end its own section. In text mode
// (structured false, for models without structured output) the schema is
// appended inside <schema>…</schema> with the instruction to reply with
// only a JSON object that matches it; RepairPrompt is the single follow-up
// turn sent when that reply cannot be parsed.
//
// # Panels
//
// Aggregate combines the results of the configured judges. With one judge
// the outcome is its verdict, or unscored with its failure reason. A panel
// needs at least MinJudges valid verdicts (default: all but one with three
// or more judges, else all), otherwise it is unscored with
// ReasonTooFewJudges; the failed judges' results (with their reasons) stay
// in Outcome.Judges. Then:
//
//   - majority (the default): the votes are the labels for kind choice and
//     pass/fail (score ≥ threshold) for the other kinds. A vote wins with
//     strictly more than half of the valid verdicts; otherwise (a tie, or
//     no label with a majority) the outcome is unscored with
//     ReasonPanelTie. The outcome's score is the mean score of the
//     winning judges, its reasoning the first winning judge's.
//   - mean: the mean of the valid scores; passed when it reaches the
//     threshold.
//   - min: the lowest valid score (the first judge with it gives the label
//     and reasoning); passed when it reaches the threshold.
//
// A judge's own Passed is its verdict for pass_fail and score ≥ threshold
// for the other kinds; Aggregate sets it from the threshold it is given.
//
// # Agreement
//
// PercentAgreement and KrippendorffAlpha take a units × raters table of
// labels with "" for a missing rating. Percent agreement is the mean, over
// units with at least two ratings, of the share of rater pairs that agree.
// Krippendorff's alpha is computed from the coincidence matrix
// (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"), with
// the nominal or the interval (squared difference) metric (Config.Metric
// picks it by verdict kind). PanelLabels builds the table from stored
// judge results. CohenKappa is Cohen's kappa of two raters (judge and
// human) over the units both rated.
package judge
