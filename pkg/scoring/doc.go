// Package scoring holds SABE's scorers. A question carries a Rule, an
// expected answer and optionally choices; Compile checks them once and
// returns a Scorer that grades any number of model responses without
// allocating much or failing. Every method is deterministic except
// llm_judge, whose verdicts come from package judge through ScoreJudged.
//
// Scores are in 0..1. The pass/fail methods score 1 or 0; similarity,
// llm_judge and assertions give graded scores and pass at a threshold.
//
// The methods, exactly ("the expected answer" is the rule's value when it
// has one, else the question's expected_answer):
//
//   - exact_match: the response and the expected answer are compared after
//     strings.TrimSpace on both, ignoring case (strings.EqualFold, Unicode
//     simple case folding) unless CaseSensitive is true.
//   - contains: the expected answer, trimmed of surrounding whitespace, must
//     occur in the response as a substring. The case rule is the one of
//     exact_match: without CaseSensitive every rune is compared by its
//     simple-fold class, so contains and exact_match never disagree on
//     which letters are "the same".
//   - regex: Pattern is a Go RE2 expression, unanchored, matched against the
//     raw response, case-sensitively as RE2 does: "THE ANSWER IS" does not
//     match "The answer is". CaseSensitive false compiles it with a leading
//     (?i), as does writing (?i) in the pattern. A syntax error quotes the
//     pattern as written. The expected answer is not used and may be empty.
//   - numeric: the last number in the response passes when
//     |x − expected| ≤ Tolerance (absolute; 0 when absent). CaseSensitive
//     means nothing here and is ignored rather than rejected, so a client that
//     always sends it is not punished (so for every method below where it
//     means nothing).
//   - starts_with: the response, without leading whitespace, starts with the
//     trimmed expected answer; case as in exact_match.
//   - contains_any / contains_all: Values (1 to MaxValues strings, each
//     trimmed, non-empty, at most MaxValueLength bytes) occur in the
//     response as substrings: at least one of them / every one; case as in
//     contains. The expected answer is not used.
//   - json_valid: the response, trimmed and without one Markdown code fence
//     around it (```json … ```), is one JSON value.
//   - json_schema: the same text is JSON that satisfies Schema, a JSON
//     Schema (draft 2020-12 unless its $schema names another draft;
//     "format" is annotation only, as the draft says), compiled once per
//     question by github.com/santhosh-tekuri/jsonschema. The schema is at
//     most MaxSchemaBytes and may only $ref into itself: nothing is loaded
//     from files or the network. Its "pattern" and "patternProperties"
//     regexes are RE2 with the limits of regex patterns, and at most
//     2·MaxPatternClasses character classes in all. The detail names the
//     first failing location.
//   - similarity: 1 − d/max(len(a), len(b)), where d is the Levenshtein
//     distance in runes between the trimmed response and the trimmed
//     expected answer (case-folded unless CaseSensitive), rounded to six
//     decimals; 1 when both are empty. It passes at Threshold (default
//     0.8), or, when MaxDistance is given instead (0 to
//     MaxSimilarityExpected; not both), when d is at most MaxDistance, as
//     promptfoo's levenshtein assertion does; the score is the same. The expected answer may have at most MaxSimilarityExpected
//     runes; a response of more than MaxSimilarityResponse runes is not
//     compared and scores 0, which bounds the work to 4 million cells.
//   - multiple_choice: the question lists 2 to 26 choices, shown to the
//     model as "A. …" lines (ChoicesPrompt); the expected answer is a
//     letter ("C", "c", "(C)", "C.") or the text of a choice. The response's
//     letter is, in order: the whole response when it is a letter in those
//     forms or "**C**"; else the last "answer … C" phrase ("Answer: C",
//     "The answer is (C)", "**Answer:** C", "Final answer - C"; the letter
//     must be a capital there); else the letter of "(C)", "**C**", "[C]" or
//     a line starting "C." or "C)" when all such forms name the same
//     letter (several different ones fail as ambiguous); else the choice
//     whose text equals the response, ignoring case. Letters beyond the
//     choices are ignored. It passes when the letters are equal.
//   - llm_judge: judges (judge_model_ids, or the benchmark's) grade the
//     response by a template (see package judge); the reference is the
//     expected answer, required by closed_qa, factuality and a custom
//     prompt with {reference}. Score and choice verdicts pass at Threshold
//     (default 0.5). A judge that cannot give a verdict makes the result
//     unscored with the judge's reason, never a fail or a zero. Score on
//     such a scorer returns an unscored Result (ReasonNeedsJudge); the
//     judging pipeline calls JudgeInput, judge.Aggregate and ScoreJudged.
//
// # Options of every method
//
//   - extract: an RE2 pattern (the limits of regex patterns apply, and it
//     reads the same bounded prefix of the response), matched
//     case-sensitively unless it says (?i). Its first capturing group, or
//     its whole match when it has no group, is what the method grades. When
//     it finds nothing (or its first group takes no part in the match) the
//     response fails, whatever negate says: the part to grade is missing.
//   - negate: pass becomes fail and fail pass, a score s becomes 1 − s; the
//     detail starts "negated: ". An unscored result stays unscored.
//
// # Assertions
//
// Instead of a method, a rule may list 1 to MaxAssertions assertions, each
// a rule (any method, with its own options) and a weight (> 0, default 1);
// only threshold may stand beside them, and assertions do not nest. The
// set's score is the weighted share of the assertions that passed (a
// graded assertion counts as passed or not, by its own threshold), and
// the set passes when the score reaches threshold (default 1: every
// assertion must pass). Each assertion's result is kept in
// Result.Assertions. If a judged assertion is unscored, the whole set is
// unscored with its reason. Field errors name the assertion:
// "scoring.assertions[2].pattern".
//
// # Numbers
//
// A number is an optional sign, an integer part, an optional decimal part
// and an optional exponent, in ASCII:
//
//	[+|-|−] digits [, ddd]... [. digits] [(e|E) [+|-] digits]
//	[+|-|−] . digits [(e|E) [+|-] digits]
//
// Rules that decide the hard cases:
//
//   - A comma is a thousands separator only between groups: a leading group of
//     one to three digits, then groups of exactly three digits. "1,234,567" is
//     one number; "3,14" is the two numbers 3 and 14 (decimal commas are not
//     supported); "1,0000" is 1 and 0.
//   - A decimal point needs a digit after it, so the full stop in
//     "The answer is 42." is not part of the number.
//   - An exponent needs a digit after e/E (and its sign), so "2 eggs" and
//     "3em" end before the letter.
//   - A sign belongs to a number only when it directly precedes the digits
//     and is not itself preceded by a letter or digit. So "x = -7" is -7,
//     while "5-3" is the numbers 5 and 3, "GPT-4" is 4 and "10 - 3" is 3.
//     The Unicode minus sign U+2212 counts as "-", since models emit it.
//   - A number that starts with "." ("-.5") must not follow a letter or
//     digit, so "version 3.2.1" ends with the number 1, not 0.1.
//   - Only ASCII digits count; values beyond float64 range become ±Inf in a
//     response (and fail) and are rejected as an expected answer.
//
// Floating point: a decimal such as 0.1 has no exact binary value, so
// |0.4 − 0.3| computes to slightly more than 0.1. When Tolerance is positive
// the comparison allows a few units in the last place of the operands for
// that rounding, so a response exactly on the boundary passes as it would
// in decimal arithmetic. With Tolerance 0 the parsed values must be equal
// (42, 42.0 and 4.2e1 are).
package scoring
