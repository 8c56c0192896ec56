import type { ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import { createColumnHelper } from "@tanstack/react-table";
import { Link, useParams } from "react-router";
import { ApiError, type Schemas } from "../api/client";
import { runAlertsQuery, runFailuresQuery, runQuery, runRankingsQuery } from "../api/queries";
import { alertColumns } from "../components/AlertColumns";
import { CancelRun } from "../components/CancelRun";
import { DataTable } from "../components/DataTable";
import { ErrorBox, isNotFound } from "../components/ErrorBox";
import { Page } from "../components/Page";
import { Pager, useCursor } from "../components/Pager";
import { Progress, unitsDone } from "../components/Progress";
import { isLive, RunStatus } from "../components/RunStatus";
import { StartRun } from "../components/StartRun";
import { Time } from "../components/Time";
import { int, ms, pct, usd } from "../format";
import { useRunEvents, type StreamState } from "../hooks/useRunEvents";
import { NotFound } from "./NotFound";

type Run = Schemas["Run"];
type Ranking = Schemas["RankingEntry"];
type Execution = Schemas["Execution"];
const runAlertColumns = alertColumns(true);

/** Run detail: where a run stands (live through its event stream), what it
 * cost, its model × category scores once finished, and its failed units. */
export default function RunDetail() {
  const { id = "" } = useParams();
  const run = useQuery(runQuery(id));
  const r = run.data;
  const live = isLive(r?.status);
  const stream = useRunEvents(id, !!r && live);
  const rankings = useQuery({ ...runRankingsQuery(id), enabled: !!r && !live });
  const cursor = useCursor();
  const hasFailures = (r?.progress.failed ?? 0) > 0;
  const failures = useQuery({ ...runFailuresQuery(id, cursor), enabled: hasFailures });
  const alerts = useQuery({ ...runAlertsQuery(id), enabled: !!r && !live });

  if (run.isError && isNotFound(run.error)) return <NotFound detail={`There is no run ${id}.`} />;
  const busy = run.isPending || (!!r && !live && rankings.isPending) || (hasFailures && failures.isPending);
  return (
    <Page
      name="run-detail"
      title={r ? `Run of ${r.benchmark_name}` : "Run"}
      busy={busy}
      actions={
        r ? (
          <>
            {live ? <CancelRun runId={r.id} /> : null}
            <StartRun benchmarkId={r.benchmark_id} label="Re-run" primary={false} />
          </>
        ) : null
      }
    >
      {run.isError ? <ErrorBox error={run.error} what="load the run" /> : null}
      {r ? (
        <>
          <RunFacts run={r} />
          <StreamNotice state={stream.state} reconnect={stream.reconnect} />
          <RunProblems run={r} />
          <RunProgress run={r} />
          <RunTotals run={r} models={rankings.data?.overall} />
          <section aria-labelledby="run-scores-h">
            <h2 id="run-scores-h">Scores by model and category</h2>
            {live ? (
              <p className="muted">Available when the run finishes.</p>
            ) : rankings.isError ? (
              rankings.error instanceof ApiError && rankings.error.status === 409 ? (
                <p className="muted">Available when the run finishes: {rankings.error.message}</p>
              ) : (
                <ErrorBox error={rankings.error} what="load the run's scores" />
              )
            ) : rankings.data ? (
              <Scores rankings={rankings.data} />
            ) : null}
          </section>
          {alerts.isError ? <ErrorBox error={alerts.error} what="load the run's regression alerts" /> : null}
          {alerts.data && alerts.data.items.length > 0 ? (
            <section aria-labelledby="run-alerts-h">
              <h2 id="run-alerts-h" className="bad">
                Regression alerts
              </h2>
              <DataTable
                caption="Models this run found significantly worse than the baseline run"
                testid="run-alerts"
                data={alerts.data.items}
                columns={runAlertColumns}
                rowId={(a) => a.id}
                rowAttrs={(a) => ({ "data-model-id": a.model_id })}
                sortable={false}
              />
            </section>
          ) : null}
          <section aria-labelledby="run-failures-h">
            <h2 id="run-failures-h">Failed units</h2>
            {!hasFailures ? (
              <p className="muted">No unit failed{live ? " so far" : ""}.</p>
            ) : failures.isError ? (
              <ErrorBox error={failures.error} what="load the failed units" />
            ) : failures.data ? (
              <>
                <DataTable
                  caption="Units whose provider call failed for good, with the provider's error"
                  testid="run-failures"
                  data={failures.data.items.filter((e) => e.status === "failed")}
                  columns={failureColumns(r.id)}
                  rowId={(e) => e.id}
                  rowAttrs={(e) => ({ "data-question-id": e.question_id, "data-model-id": e.model_id })}
                />
                <Pager next={failures.data.next_cursor} />
                {live ? (
                  <p className="muted">
                    The list is as it was loaded; it is read again when the run ends.{" "}
                    <button type="button" onClick={() => void failures.refetch()} disabled={failures.isFetching}>
                      Reload failed units
                    </button>
                  </p>
                ) : null}
              </>
            ) : null}
          </section>
        </>
      ) : null}
    </Page>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function RunFacts({ run: r }: { run: Run }) {
  return (
    <dl className="facts">
      <Fact label="Benchmark">
        <Link to={`/benchmarks/${r.benchmark_id}/leaderboard`}>{r.benchmark_name}</Link>{" "}
        <span className="muted">
          (<Link to={`/runs?benchmark_id=${r.benchmark_id}`}>its runs</Link>)
        </span>
      </Fact>
      <Fact label="Status">
        <RunStatus status={r.status} testid="run-status" />
      </Fact>
      <Fact label="Trigger">
        {r.trigger}
        {r.scheduled_for ? (
          <>
            {" "}
            for <Time at={r.scheduled_for} />
          </>
        ) : null}
      </Fact>
      <Fact label="Created">
        <Time at={r.created_at} />
      </Fact>
      <Fact label="Started">
        <Time at={r.started_at} />
      </Fact>
      <Fact label="Finished">
        <Time at={r.finished_at} />
      </Fact>
      {r.deadline_at ? (
        <Fact label="Deadline">
          <Time at={r.deadline_at} />
        </Fact>
      ) : null}
      {r.cancel_requested_at ? (
        <Fact label="Cancel asked">
          <Time at={r.cancel_requested_at} />
        </Fact>
      ) : null}
      <Fact label="Models × samples">
        {int(r.config.model_ids.length)} × {int(r.config.samples)}
      </Fact>
      {r.scoring_version > 1 || r.retry_round > 0 ? (
        <Fact label="Scoring version · retries">
          {r.scoring_version} · {r.retry_round}
        </Fact>
      ) : null}
    </dl>
  );
}

function StreamNotice({ state, reconnect }: { state: StreamState; reconnect: () => void }) {
  if (state === "live") {
    return (
      <p className="muted live-note">
        <span className="live-dot" aria-hidden="true" /> Live: progress updates as the run goes.
      </p>
    );
  }
  if (state !== "lost") return null;
  return (
    <div className="notice" role="status">
      Live updates stopped; the run is shown as the server last reported it.{" "}
      <button type="button" onClick={reconnect}>
        Reconnect
      </button>
    </div>
  );
}

const endedWhy: Partial<Record<Run["status"], string>> = {
  failed: "Why it failed",
  partial: "Why it is partial",
  cancelled: "Why it was cancelled",
};

// Why the run ended as it did, and the providers it is waiting on, before
// anything else.
function RunProblems({ run: r }: { run: Run }) {
  const waiting = r.waiting_on ?? [];
  return (
    <>
      {r.error ? (
        <div className={r.status === "failed" ? "error" : "notice"} data-testid="run-error">
          <strong>{endedWhy[r.status] ?? "Note"}:</strong> <span className="pre-line">{r.error}</span>
        </div>
      ) : null}
      {waiting.length > 0 ? (
        <div className="notice" data-testid="run-waiting" role="status">
          <strong>Waiting on {waiting.length === 1 ? "a provider" : `${waiting.length} providers`}:</strong>
          <ul>
            {waiting.map((w) => (
              <li key={w.provider_id} data-row-id={w.provider_id}>
                <Link to="/providers">{w.provider_name || w.provider_id}</Link> — {w.state.replace("_", " ")}, calls resume <Time at={w.until} />
                {w.last_error ? <div className="error-text">{w.last_error}</div> : null}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </>
  );
}

function RunProgress({ run: r }: { run: Run }) {
  const p = r.progress;
  const judging = p.judged + p.awaiting_judgment;
  const counts: [string, number][] = [
    ["succeeded", p.succeeded],
    ["failed", p.failed],
    ["cancelled", p.cancelled],
    ["skipped", p.skipped],
  ];
  return (
    <section aria-labelledby="run-progress-h" className="card">
      <h2 id="run-progress-h">Progress</h2>
      <Progress done={unitsDone(p)} total={p.total} finished={!isLive(r.status)} label="Units done" testid="run-progress" />
      <ul className="counts">
        {counts.map(([k, v]) => (
          <li key={k} data-col={k} data-value={String(v)} className={k === "failed" && v > 0 ? "bad" : undefined}>
            {int(v)} {k}
          </li>
        ))}
      </ul>
      {judging > 0 ? (
        <>
          <h3>Judging</h3>
          <Progress done={p.judged} total={judging} finished={!isLive(r.status)} label="Units judged" testid="run-judging" />
          <ul className="counts">
            <li data-col="awaiting_judgment" data-value={String(p.awaiting_judgment)}>
              {int(p.awaiting_judgment)} awaiting judgment
            </li>
            <li data-col="unscored" data-value={String(p.unscored)} className={p.unscored > 0 ? "warn" : undefined}>
              {int(p.unscored)} unscored
            </li>
          </ul>
        </>
      ) : null}
    </section>
  );
}

function Figure({ label, value, text, col }: { label: string; value: number | null | undefined; text: string; col: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd data-col={col} data-value={value == null ? "" : String(value)}>
        {text}
      </dd>
    </div>
  );
}

function RunTotals({ run: r, models }: { run: Run; models?: Ranking[] }) {
  const judged = r.judge_cost_usd > 0 || r.judge_input_tokens > 0 || r.judge_output_tokens > 0;
  return (
    <section aria-labelledby="run-totals-h">
      <h2 id="run-totals-h">Cost, tokens and latency</h2>
      <dl className="facts figures" data-testid="run-totals">
        <Figure label="Models' cost" col="cost_usd" value={r.cost_usd} text={usd(r.cost_usd)} />
        {r.max_cost_usd != null ? <Figure label="Spend cap" col="max_cost_usd" value={r.max_cost_usd} text={usd(r.max_cost_usd)} /> : null}
        <Figure label="Input tokens" col="input_tokens" value={r.input_tokens} text={int(r.input_tokens)} />
        <Figure label="Output tokens" col="output_tokens" value={r.output_tokens} text={int(r.output_tokens)} />
        {judged ? (
          <>
            <Figure label="Judges' cost" col="judge_cost_usd" value={r.judge_cost_usd} text={usd(r.judge_cost_usd)} />
            <Figure label="Judge input tokens" col="judge_input_tokens" value={r.judge_input_tokens} text={int(r.judge_input_tokens)} />
            <Figure label="Judge output tokens" col="judge_output_tokens" value={r.judge_output_tokens} text={int(r.judge_output_tokens)} />
          </>
        ) : null}
        <Figure label="Latency p50" col="latency_p50_ms" value={r.latency_p50_ms} text={ms(r.latency_p50_ms)} />
        <Figure label="Latency p95" col="latency_p95_ms" value={r.latency_p95_ms} text={ms(r.latency_p95_ms)} />
      </dl>
      <p className="muted small">
        Latency percentiles are the run's provider calls, known once it is finalized. Per model: the mean latency over
        questions and the median time to first token over the answers that streamed (— when none did); over time in the
        benchmark's <Link to={`/benchmarks/${r.benchmark_id}/trends?metric=latency_p95_ms`}>latency</Link> and{" "}
        <Link to={`/benchmarks/${r.benchmark_id}/trends?metric=ttft_ms`}>TTFT</Link> trends.
      </p>
      {models?.length ? (
        <DataTable
          caption="Each model's mean latency and median time to first token"
          testid="run-model-latency"
          data={models}
          columns={latencyColumns}
          rowId={(e) => e.model_id}
          sortable={false}
        />
      ) : null}
    </section>
  );
}

const rankCol = createColumnHelper<Ranking>();

/** The mean latency column of the latency and scores tables. */
const meanLatencyCol = rankCol.accessor("mean_latency_ms", {
  header: "Mean latency",
  meta: { numeric: true, col: "latency" },
  cell: (c) => <span data-value={String(c.getValue())}>{ms(c.getValue())}</span>,
});

const latencyColumns = [
  rankCol.accessor("model_name", { header: "Model" }),
  meanLatencyCol,
  rankCol.accessor("ttft_p50_ms", {
    header: "Time to first token (median)",
    meta: { numeric: true, col: "ttft" },
    cell: (c) => <span data-value={c.getValue() == null ? "" : String(c.getValue())}>{ms(c.getValue())}</span>,
  }),
];

function Scores({ rankings }: { rankings: Schemas["Rankings"] }) {
  const categories = Object.keys(rankings.by_category).sort();
  const byCat = new Map(categories.map((c) => [c, new Map((rankings.by_category[c] ?? []).map((e) => [e.model_id, e]))]));
  const columns = [
    rankCol.accessor("rank", { header: "Rank", meta: { numeric: true }, cell: (c) => <span data-value={String(c.getValue())}>{c.getValue()}</span> }),
    rankCol.accessor("model_name", { header: "Model" }),
    rankCol.accessor("score", {
      header: "Overall",
      meta: { numeric: true, col: "overall" },
      cell: (c) => (
        <span
          data-value={String(c.getValue())}
          data-low={String(c.row.original.ci_low)}
          data-high={String(c.row.original.ci_high)}
          title={`95% interval ${pct(c.row.original.ci_low)} – ${pct(c.row.original.ci_high)}`}
        >
          {pct(c.getValue())}
        </span>
      ),
    }),
    ...categories.map((cat) =>
      rankCol.accessor((e) => byCat.get(cat)?.get(e.model_id)?.score ?? null, {
        id: "cat:" + cat,
        header: cat || "(no category)",
        meta: { numeric: true, col: "cat:" + cat },
        cell: (c) => {
          const v = c.getValue();
          return v == null ? <span className="muted">—</span> : <span data-value={String(v)}>{pct(v)}</span>;
        },
      }),
    ),
    rankCol.accessor("n", { header: "Units", meta: { numeric: true }, cell: (c) => <span data-value={String(c.getValue())}>{int(c.getValue())}</span> }),
    rankCol.accessor("error_rate", {
      header: "Errors",
      meta: { numeric: true },
      cell: (c) => <span data-value={String(c.getValue())}>{pct(c.getValue())}</span>,
    }),
    rankCol.accessor("unscored", {
      header: "Unscored",
      meta: { numeric: true },
      cell: (c) => <span data-value={String(c.getValue())}>{int(c.getValue())}</span>,
    }),
    meanLatencyCol,
    rankCol.accessor("cost_usd", {
      header: "Cost",
      meta: { numeric: true, col: "cost" },
      cell: (c) => <span data-value={String(c.getValue())}>{usd(c.getValue())}</span>,
    }),
  ];
  return (
    <DataTable
      caption="Each model's score overall and per question category (share of questions passed)"
      testid="run-scores"
      data={rankings.overall}
      columns={columns}
      rowId={(e) => e.model_id}
      empty="The run ranked no model."
    />
  );
}

const failCol = createColumnHelper<Execution>();

function failureColumns(runId: string) {
  return [
    failCol.accessor("model_name", { header: "Model" }),
    failCol.accessor("prompt_excerpt", {
      header: "Question",
      meta: { col: "question" },
      cell: (c) => (
        <Link to={`/runs/${runId}/questions/${c.row.original.question_id}`}>{c.getValue() || c.row.original.question_id}</Link>
      ),
    }),
    failCol.accessor("category", { header: "Category" }),
    failCol.accessor("sample", { header: "Sample", meta: { numeric: true } }),
    failCol.accessor((e) => e.error ?? "", { id: "error", header: "Provider's error", cell: (c) => <span className="error-text">{c.getValue()}</span> }),
    failCol.accessor("finished_at", { header: "At", cell: (c) => <Time at={c.getValue()} /> }),
  ];
}
