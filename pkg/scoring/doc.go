// Package scoring holds SABE's four deterministic scorers. A question carries
// a Rule and an expected answer; Compile checks them once and returns a
// Scorer that grades any number of model responses without allocating much
// or failing.
//
// The methods, exactly:
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
//     always sends it is not punished.
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
