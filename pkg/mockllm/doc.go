// Package mockllm is a deterministic fake LLM provider that speaks three
// wire formats: OpenAI chat completions, Anthropic Messages and Gemini
// generateContent. The demo, the tests and the benchmarks use it so that
// they need no network and no keys, and so that a benchmark's expected
// scores are known in advance.
//
// Every mock model has a known accuracy (see [Accuracy]). Whether a model
// answers a prompt correctly for a given sample is a pure function,
// [Correct], of (model, prompt, sample): a hash of the three is mapped to a
// uniform number in [0, 1) and compared with the accuracy. A test can
// therefore compute, before running anything, exactly which units a run will
// score as correct. [Answer] turns that decision into text for the arithmetic
// questions that [Question] generates and [Solve] understands. The prompt is
// the last user message; the system prompt and earlier messages only count
// towards the input tokens (characters / 4).
//
// The sample index comes from the request: OpenAI's seed field and
// Gemini's generationConfig.seed, as SABE sends them (absent means sample
// 0). The Anthropic Messages API has no seed, so Anthropic requests are
// always answered as sample 0.
//
// # Judging
//
// The judge models mock-judge, mock-judge-2 and mock-judge-3 ([JudgeModels])
// answer judge prompts instead, deterministically ([Judge]), so a test can
// predict every verdict. A judge reads the prompt's tagged parts
// (<question>, <answer>, <reference>, <rubric>, from the system and user
// turns) and the verdict schema: the request's structured-output field
// (OpenAI response_format json_schema, the input_schema of the Anthropic
// tool that tool_choice forces, Gemini responseSchema or
// responseJsonSchema), else the prompt's <schema> block; without either it
// gives a pass/fail verdict. The key is the <reference> text, else the
// first double-quoted string in the <rubric>:
//
//   - mock-judge passes an answer that contains the key, ignoring case;
//   - mock-judge-2 passes it only when the key is a whole word in it (so
//     "The answer is 14." fails against the key "4");
//   - mock-judge-3 looks at the answer's first line only;
//   - with no key, an answer passes when it is not empty.
//
// The verdict follows the schema's verdict property: an enum of pass and
// fail gives "pass"/"fail"; an integer scale its maximum or minimum; any
// other enum (choices) "C" for a pass and "D" for a fail when offered
// (factuality's categories), else its first or last value. The answer is
// the JSON object {"reasoning": ..., "verdict": ...}, the reasoning saying
// what was compared: the message content for OpenAI and Gemini, and for
// Anthropic a tool_use block (stop_reason tool_use, streamed as
// input_json_delta pieces) when a tool is forced, text otherwise.
//
// Judge faults apply to the judge models only, drawn per request like the
// other faults, after them (see [Config]): a 500 (JudgeErrorRate), a
// refusal (JudgeRefusalRate: OpenAI content null with a refusal, Anthropic
// stop_reason refusal, prose for Gemini, which has no refusal signal) and a
// malformed verdict in a well-formed response (JudgeMalformedRate:
// broken_json, truncated, missing_key or out_of_range, cycling unless
// JudgeMalformedKind picks one). NoStructuredOutput plays a provider
// without structured output, for every model: a request asking for it gets
// 400 naming the field (response_format, tools,
// generation_config.response_schema). The fault spec keys are
// judge_error_rate, judge_refusal_rate, judge_malformed_rate,
// judge_malformed_kind and no_structured_output.
//
// The HTTP side ([New], [Server]) adds what a real provider does to a
// client: latency with a separate time to first token, streaming, usage
// counts, 401 answers that echo a fragment of a bad key, body limits, and
// injected faults (see [Config]) in each format's own shape:
//
//   - 500 (OpenAI server_error, Anthropic api_error, Gemini INTERNAL) and
//     429 with Retry-After (OpenAI rate_limit_exceeded, Anthropic
//     rate_limit_error, Gemini RESOURCE_EXHAUSTED without details) at
//     configurable rates;
//   - a 200 whose body, or first stream event, is not valid JSON;
//   - a 200 padded to at least a given size;
//   - a response that stalls after its first content chunk until the client
//     leaves or the server closes;
//   - an exhausted quota, answered 429 on every call: OpenAI
//     {"error":{"type":"insufficient_quota","code":"insufficient_quota",...}}
//     with x-ratelimit-reset-requests (a Go duration such as "30s");
//     Anthropic rate_limit_error "daily quota exhausted" with
//     anthropic-ratelimit-requests-reset (an RFC 3339 time); Gemini
//     RESOURCE_EXHAUSTED whose details hold a google.rpc.RetryInfo
//     (retryDelay "30s") and a google.rpc.QuotaFailure. Quota answers carry
//     no Retry-After, and rate-limit answers carry none of these, so a client
//     can tell a daily quota from a passing rate limit.
//
// A path prefix (/faults/<spec>/v1/...) overrides the fault settings per
// request, so one process can play several providers of different quality;
// [Server.SetConfig] changes them for every later request, so a test can
// make a provider fail for a while and then recover. [Server.Log] (and GET
// /_mock/log) tells which calls reached the provider, when they arrived
// and finished, and how they were answered.
package mockllm
