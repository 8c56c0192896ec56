import { useMemo } from "react";
import { Link, useParams } from "react-router";
import { useQuery } from "@tanstack/react-query";
import type { Schemas } from "../api/client";
import { maxQuestionPages, questionQuery, questionResultsQuery, runQuery } from "../api/queries";
import { ErrorBox, isNotFound } from "../components/ErrorBox";
import { Page } from "../components/Page";
import { int, ms, num, usd } from "../format";
import { NotFound } from "./NotFound";

type Execution = Schemas["Execution"];

/** One question of a run, drilled into: the prompt, the expected answer
 * and every model's answers side by side with their scores, evaluations
 * and the judges' verdicts (GET /v1/runs/{id}/results?question_id=). */
export default function Question() {
  const { id = "", questionId = "" } = useParams();

  const run = useQuery(runQuery(id));
  // Asked at once, with the run (the route's loader has usually asked
  // already): an unknown run's results are a 404 like the run.
  const results = useQuery(questionResultsQuery(id, questionId));
  const question = useQuery(questionQuery(questionId));

  const byModel = useMemo(() => {
    const m = new Map<string, { name: string; items: Execution[] }>();
    for (const e of results.data?.items ?? []) {
      const g = m.get(e.model_id) ?? { name: e.model_name, items: [] };
      g.items.push(e);
      m.set(e.model_id, g);
    }
    for (const g of m.values()) g.items.sort((a, b) => a.sample - b.sample);
    return [...m].sort((a, b) => a[1].name.localeCompare(b[1].name));
  }, [results.data]);

  if (isNotFound(run.error)) return <NotFound detail={`There is no run ${id}.`} />;
  if (results.isError && isNotFound(results.error)) return <NotFound detail={`There is no run ${id}.`} />;
  if (results.data && results.data.items.length === 0 && !results.data.truncated)
    return <NotFound detail={`Run ${id} did not ask question ${questionId}.`} />;

  const first = results.data?.items[0];
  const q = question.data;
  // The question as the run asked it: GET /v1/questions/{id} gives its
  // current revision, which may be newer than the run's.
  const sameRevision = !!q && !!first && q.revision === first.question_revision;
  const sys = run.data?.config.system_prompt;

  return (
    <Page
      name="question"
      title={first ? `Question: ${clip(first.prompt_excerpt, 60)}` : "Question"}
      busy={run.isPending || (run.isSuccess && results.isPending)}
    >
      {run.isError ? <ErrorBox error={run.error} what="load the run" /> : null}
      {results.isError ? <ErrorBox error={results.error} what="load the answers" /> : null}
      {run.data ? (
        <p className="muted">
          Run <Link to={`/runs/${id}`}>{run.data.benchmark_name} · {id}</Link>
          {first ? (
            <>
              {" "}
              · category {first.category} · revision {first.question_revision}
            </>
          ) : null}
        </p>
      ) : null}
      {first ? (
        <section className="card q-prompt">
          <h2>Prompt</h2>
          {sys ? (
            <>
              <h3>System prompt (the run's)</h3>
              <pre>{sys}</pre>
            </>
          ) : null}
          {q && sameRevision && q.few_shot?.length ? (
            <>
              <h3>Examples</h3>
              <Messages messages={q.few_shot} />
            </>
          ) : null}
          {q && sameRevision && q.messages?.length ? (
            <>
              <h3>Messages</h3>
              <Messages messages={q.messages} />
            </>
          ) : null}
          <pre data-testid="question-prompt">{q && sameRevision ? q.prompt : first.prompt_excerpt}</pre>
          {q && sameRevision && q.choices?.length ? (
            <>
              <h3>Choices</h3>
              <ol className="q-choices" type="A">
                {q.choices.map((c, i) => (
                  <li key={i}>{c}</li>
                ))}
              </ol>
            </>
          ) : null}
          {q && sameRevision ? (
            <>
              <h3>Expected answer</h3>
              <pre data-testid="question-expected">{q.expected_answer || "—"}</pre>
              <p className="muted">Scored by {q.scoring.method}.</p>
            </>
          ) : q ? (
            <p className="warn">
              The question was edited after this run (now revision {q.revision}); the run asked revision{" "}
              {first.question_revision}, shown above as the run recorded it (an excerpt). Its expected answer is not
              available for that revision.
            </p>
          ) : question.isError ? (
            <ErrorBox error={question.error} what="load the question's full text (the excerpt above is the run's)" />
          ) : null}
        </section>
      ) : null}
      {results.data?.truncated ? (
        <p className="warn">Only the first {maxQuestionPages} pages of results were read; some answers may be missing.</p>
      ) : null}
      {byModel.length ? (
        <>
          <h2>Answers</h2>
          <div className="q-answers">
            {byModel.map(([modelId, g]) => (
              <section key={modelId} className="q-model" aria-label={g.name}>
                <h3>{g.name}</h3>
                {g.items.map((e) => (
                  <Answer key={e.id} e={e} samples={g.items.length} />
                ))}
              </section>
            ))}
          </div>
        </>
      ) : null}
    </Page>
  );
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

function Messages({ messages }: { messages: Schemas["Message"][] }) {
  return (
    <dl className="q-messages">
      {messages.map((m, i) => (
        <div key={i}>
          <dt>{m.role}</dt>
          <dd>
            <pre>{m.content}</pre>
          </dd>
        </div>
      ))}
    </dl>
  );
}

function verdictText(v: Schemas["ExecutionVerdict"]): string {
  if (v.status === "awaiting_judgment") return "awaiting judgment";
  if (v.status === "unscored") return "unscored" + (v.reason ? ` (${v.reason})` : "");
  if (v.status === "none") return "not scored";
  return v.passed ? "pass" : "fail";
}

/** Answer is one sample of one model: the answer text, its score and how
 * it was judged, and what it took. */
function Answer({ e, samples }: { e: Execution; samples: number }) {
  const v = e.verdict;
  return (
    <article className="card q-answer" data-testid="answer" data-model-id={e.model_id} data-sample={String(e.sample)}>
      <div className="q-answer-head">
        {samples > 1 ? <span className="muted">Sample {e.sample + 1}</span> : null}
        <span className={"badge " + (e.status === "succeeded" ? "" : "bad")}>{e.status}</span>
        <span data-col="score" data-value={v.score == null ? "" : String(v.score)}>
          Score <strong>{v.score == null ? "—" : num(v.score, 3)}</strong>
        </span>
        <span data-col="passed" data-value={v.passed == null ? "" : String(v.passed)} className={v.passed ? "good" : v.passed === false ? "bad" : "muted"}>
          {verdictText(v)}
        </span>
      </div>
      {e.error ? <p className="error">{e.error}</p> : null}
      <pre className="q-response" data-testid="answer-text">
        {e.response || <span className="muted">(no answer)</span>}
      </pre>
      <dl className="q-facts">
        <div>
          <dt>Latency</dt>
          <dd data-value={String(e.latency_ms)}>{ms(e.latency_ms)}</dd>
        </div>
        <div>
          <dt>TTFT</dt>
          <dd data-value={e.ttft_ms == null ? "" : String(e.ttft_ms)}>{ms(e.ttft_ms)}</dd>
        </div>
        <div>
          <dt>Tokens in / out</dt>
          <dd>
            {int(e.input_tokens)} / {int(e.output_tokens)}
          </dd>
        </div>
        <div>
          <dt>Tokens/s</dt>
          <dd>{num(e.output_tokens_per_s, 1)}</dd>
        </div>
        <div>
          <dt>Cost</dt>
          <dd data-value={String(e.cost_usd)}>{usd(e.cost_usd)}</dd>
        </div>
      </dl>
      {e.evaluations.map((ev, i) => (
        <Evaluation key={i} ev={ev} of={`${e.model_name}, sample ${e.sample + 1}`} />
      ))}
    </article>
  );
}

function Evaluation({ ev, of }: { ev: Schemas["Evaluation"]; of: string }) {
  return (
    <details className="q-eval" open={!!ev.judges?.length || !!ev.reasoning}>
      <summary>
        {ev.scorer} v{ev.version}: {ev.status === "unscored" ? `unscored${ev.reason ? ` (${ev.reason})` : ""}` : ev.passed ? "pass" : "fail"}
        {ev.score != null ? `, score ${num(ev.score, 3)}` : ""}
      </summary>
      {ev.detail ? <p>{ev.detail}</p> : null}
      {ev.reasoning ? (
        <p data-testid="judge-reasoning">
          <strong>Reasoning:</strong> {ev.reasoning}
        </p>
      ) : null}
      {ev.reviewer ? (
        <p>
          Reviewed by {ev.reviewer}
          {ev.note ? `: ${ev.note}` : ""}
        </p>
      ) : null}
      {ev.judges?.length ? (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={`The judges' verdicts (${ev.scorer} v${ev.version}) on ${of}`}>
          <table className="q-judges">
            <caption className="sr-only">The judges' verdicts on {of}</caption>
            <thead>
              <tr>
                <th scope="col">Judge</th>
                <th scope="col">Verdict</th>
                <th scope="col">Reasoning</th>
              </tr>
            </thead>
            <tbody>
              {ev.judges.map((j) => (
                <tr key={j.model_id} data-row-id={j.model_id}>
                  <td>
                    {j.model_name}
                    <div className="muted small">
                      {usd(j.cost_usd)} · {ms(j.latency_ms)}
                    </div>
                  </td>
                  <td data-col="verdict" data-value={j.verdict ? String(j.verdict.passed) : ""}>
                    {j.verdict ? (
                      <span className={j.verdict.passed ? "good" : "bad"}>
                        {j.verdict.label} ({num(j.verdict.score, 3)})
                      </span>
                    ) : (
                      <span className="muted">{j.reason ?? "no verdict"}</span>
                    )}
                  </td>
                  <td data-testid="judge-reasoning">{j.verdict?.reasoning ?? j.error ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {ev.assertions?.length ? (
        <ul className="q-assertions">
          {ev.assertions.map((a, i) => (
            <li key={i} className={a.unscored ? "muted" : a.passed ? "good" : "bad"}>
              {a.method} (weight {num(a.weight)}): {a.unscored ? `unscored${a.reason ? ` (${a.reason})` : ""}` : a.passed ? "pass" : "fail"},
              score {num(a.score, 3)}
              {a.detail ? ` · ${a.detail}` : ""}
            </li>
          ))}
        </ul>
      ) : null}
      {ev.judge_cost_usd > 0 ? (
        <p className="muted">
          Judging: {int(ev.judge_input_tokens)} / {int(ev.judge_output_tokens)} tokens, {usd(ev.judge_cost_usd)}
          {ev.judge_latency_ms != null ? `, ${ms(ev.judge_latency_ms)}` : ""}
        </p>
      ) : null}
    </details>
  );
}
