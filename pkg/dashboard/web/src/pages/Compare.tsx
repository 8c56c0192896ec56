import { useCallback, useMemo } from "react";
import { Link } from "react-router";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import type { Schemas } from "../api/client";
import { compareQuery, finishedRunsQuery, type CompareMode } from "../api/queries";
import { Chart, type ChartTheme } from "../components/Chart";
import { intervalHeight, intervalOption } from "../components/AnalyticsIntervals";
import { Change, fmtDiff, fmtValue } from "../components/AnalyticsChange";
import { figure, interval } from "../components/AnalyticsColumns";
import { DataTable } from "../components/DataTable";
import { ErrorBox } from "../components/ErrorBox";
import { useFilters } from "../components/FilterParams";
import { Page } from "../components/Page";
import { Time } from "../components/Time";
import { useBenchmarks } from "../hooks/useBenchmarks";
import { int, pct } from "../format";

type ModelRow = Schemas["ModelComparison"];

/** Compare this week with last (or this month with last, or two runs of a
 * benchmark): per model the paired difference with its interval, and the
 * questions whose verdict changed, regressions first, both from
 * GET /v1/analytics/compare. */
export default function Compare() {
  const [params, set] = useFilters();
  const benchmarkId = params.get("benchmark_id") || "";
  const current = params.get("current_run_id") || "";
  const previous = params.get("previous_run_id") || "";
  const mode: CompareMode = current || previous || params.get("mode") === "runs" ? "runs" : params.get("period") === "mom" ? "mom" : "wow";

  const benchmarks = useBenchmarks();
  // The finished runs of the benchmark that a comparison can use.
  const runs = useQuery({ ...finishedRunsQuery(benchmarkId), enabled: !!benchmarkId && mode === "runs" });

  const ready = !!benchmarkId && (mode !== "runs" || (!!current && !!previous));
  const cmp = useQuery({ ...compareQuery(benchmarkId, mode, current, previous), enabled: ready });
  const models = useMemo(() => cmp.data?.models ?? [], [cmp.data]);

  const option = useCallback(
    (t: ChartTheme) =>
      intervalOption(
        t,
        models.map((m) => ({
          label: m.model_name,
          value: m.score.diff,
          low: m.score.ci_low,
          high: m.score.ci_high,
          tone: m.score.significant ? (m.score.diff < 0 ? "bad" : "good") : undefined,
          tip: `${m.model_name}: ${fmtDiff("score", m.score.diff)} (95% interval ${fmtDiff("score", m.score.ci_low)} to ${fmtDiff("score", m.score.ci_high)})${m.score.significant ? ", significant" : ""}`,
        })),
        { format: (v) => fmtDiff("score", v), zero: true },
      ),
    [models],
  );

  const busy = benchmarks.isPending || (ready && cmp.isPending);

  return (
    <Page name="compare" title="Compare" busy={busy}>
      {benchmarks.isError ? <ErrorBox error={benchmarks.error} what="list the benchmarks" /> : null}
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Benchmark
          <select
            value={benchmarkId}
            onChange={(e) => set({ benchmark_id: e.target.value, current_run_id: null, previous_run_id: null })}
          >
            <option value="">Choose a benchmark</option>
            {benchmarks.data?.items.map((b) => (
              <option key={b.id} value={b.id}>
                {b.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Compare
          <select
            value={mode}
            onChange={(e) => {
              const m = e.target.value as CompareMode;
              if (m === "runs") set({ mode: "runs", period: null });
              else set({ mode: null, period: m, current_run_id: null, previous_run_id: null });
            }}
          >
            <option value="wow">This week against last</option>
            <option value="mom">This month against last</option>
            <option value="runs">Two runs</option>
          </select>
        </label>
        {mode === "runs" && benchmarkId ? (
          <>
            <RunSelect label="Run" value={current} runs={runs.data} onChange={(id) => set({ current_run_id: id, mode: "runs" })} />
            <RunSelect label="Against" value={previous} runs={runs.data} onChange={(id) => set({ previous_run_id: id, mode: "runs" })} />
          </>
        ) : null}
      </form>
      {runs.isError ? <ErrorBox error={runs.error} what="list the runs" /> : null}
      {!benchmarkId ? <p className="muted">Choose a benchmark to compare.</p> : null}
      {mode === "runs" && benchmarkId && !ready ? <p className="muted">Choose the two finished runs to compare.</p> : null}
      {cmp.isError ? <ErrorBox error={cmp.error} what="compare" /> : null}
      {cmp.data ? (
        <>
          <p className="muted">
            {cmp.data.period === "runs" ? (
              <>
                Run <Link to={`/runs/${cmp.data.current.run_id}`}>{cmp.data.current.run_id}</Link> against run{" "}
                <Link to={`/runs/${cmp.data.previous.run_id}`}>{cmp.data.previous.run_id}</Link>
              </>
            ) : (
              <>
                <Time at={cmp.data.current.start} dateOnly /> – <Time at={cmp.data.current.end} dateOnly /> against{" "}
                <Time at={cmp.data.previous.start} dateOnly /> – <Time at={cmp.data.previous.end} dateOnly />
              </>
            )}
            . Paired over the questions both sides share; 95% bootstrap intervals ({int(cmp.data.resamples)} resamples,
            seed {cmp.data.seed}); significant when the interval excludes 0.{" "}
            <Link to={`/benchmarks/${benchmarkId}/trends`}>Trends</Link> ·{" "}
            <Link to={`/benchmarks/${benchmarkId}/leaderboard`}>Leaderboard</Link>
          </p>
          {cmp.data.unpaired_model_names.length ? (
            <p className="warn">Not in both: {cmp.data.unpaired_model_names.join(", ")}.</p>
          ) : null}
          {models.length ? (
            <section className="card">
              <h2 className="sr-only">Score differences with 95% intervals</h2>
              <Chart
                option={option}
                testid="compare-chart"
                height={intervalHeight(models.length)}
                label={
                  "Score differences with 95% intervals: " +
                  models
                    .map((m) => `${m.model_name} ${fmtDiff("score", m.score.diff)}${m.score.significant ? " (significant)" : ""}`)
                    .join("; ")
                }
              />
            </section>
          ) : null}
          <h2>Per model</h2>
          <DataTable
            caption="Per model: score before and after, paired difference with 95% interval, significance, latency and cost changes"
            testid="compare-models"
            data={models}
            columns={modelColumns}
            rowId={(m) => m.model_id}
            empty="No model in both."
          />
          <h2>Questions whose verdict changed</h2>
          <ChangedQuestions models={models} runId={cmp.data.current.run_id} />
        </>
      ) : null}
    </Page>
  );
}

/** RunSelect chooses one of the benchmark's finished runs. */
function RunSelect(props: { label: string; value: string; runs?: Schemas["Run"][]; onChange: (id: string) => void }) {
  const { label, value, runs, onChange } = props;
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Choose a run</option>
        {value && runs && !runs.some((r) => r.id === value) ? <option value={value}>{value}</option> : null}
        {runs?.map((r) => (
          <option key={r.id} value={r.id}>
            {new Date(r.created_at).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })} · {r.status} ·{" "}
            {r.id.slice(0, 13)}
          </option>
        ))}
      </select>
    </label>
  );
}

const modelColumns: ColumnDef<ModelRow, any>[] = [
  { id: "model", header: "Model", accessorFn: (m) => m.model_name },
  figure("questions", "Questions", (m) => m.questions, int),
  figure("previous", "Before", (m) => m.score.previous, pct),
  figure("current", "After", (m) => m.score.current, pct),
  figure("diff", "Difference", (m) => m.score.diff, (v) => fmtDiff("score", v)),
  interval("ci", "95% interval", (m) => [m.score.ci_low, m.score.ci_high], (v) => fmtDiff("score", v)),
  {
    id: "significant",
    header: "Significant",
    accessorFn: (m) => (m.score.significant ? 1 : 0),
    meta: { cellAttrs: (m) => ({ "data-value": String(m.score.significant) }) },
    cell: ({ row }) => {
      const s = row.original.score;
      return (
        <span data-value={String(s.significant)} className={s.significant ? (s.diff < 0 ? "bad" : "good") : "muted"}>
          {s.significant ? (s.diff < 0 ? "yes: worse" : "yes: better") : "no"}
        </span>
      );
    },
  },
  {
    id: "latency",
    header: "Latency change",
    accessorFn: (m) => m.latency_ms?.diff ?? null,
    cell: ({ row }) => <Change metric="latency_ms" change={row.original.latency_ms} />,
  },
  {
    id: "cost",
    header: "Cost change",
    accessorFn: (m) => m.cost_usd.diff,
    cell: ({ row }) => (
      <span title={`${fmtValue("cost_usd", row.original.cost_usd.previous)} → ${fmtValue("cost_usd", row.original.cost_usd.current)}`}>
        <Change metric="cost_usd" change={row.original.cost_usd} />
      </span>
    ),
  },
  figure("regressed", "Regressed", (m) => m.regressed, int),
  figure("improved", "Improved", (m) => m.improved, int),
];

type QuestionRow = {
  question_id: string;
  category: string;
  prompt_excerpt: string;
  regressed: number;
  improved: number;
  /** Per model: its change. */
  by: Map<string, Schemas["DriftQuestion"]>;
};

/** ChangedQuestions merges the models' flipped questions into one row per
 * question, regressions first, each
 * linking to the question in the current run when the comparison is of
 * runs (a week or month has no single run to open). */
function ChangedQuestions(props: { models: ModelRow[]; runId?: string }) {
  const { models, runId } = props;
  const rows = useMemo(() => {
    const m = new Map<string, QuestionRow>();
    for (const model of models) {
      for (const q of model.changed_questions) {
        let r = m.get(q.question_id);
        if (!r) {
          r = { question_id: q.question_id, category: q.category, prompt_excerpt: q.prompt_excerpt, regressed: 0, improved: 0, by: new Map() };
          m.set(q.question_id, r);
        }
        if (q.change === "regressed") r.regressed++;
        else r.improved++;
        r.by.set(model.model_id, q);
      }
    }
    // Net regressions first (more models lost the question than gained
    // it), the most regressions first; then the mixed; then improvements.
    const net = (r: QuestionRow) => r.improved - r.regressed;
    return [...m.values()].sort(
      (a, b) => net(a) - net(b) || b.regressed - a.regressed || a.question_id.localeCompare(b.question_id),
    );
  }, [models]);

  const columns = useMemo<ColumnDef<QuestionRow, any>[]>(() => {
    const open = (questionId: string, text: string, className?: string, value?: string) =>
      runId ? (
        <Link to={`/runs/${runId}/questions/${questionId}`} className={className} data-value={value}>
          {text}
        </Link>
      ) : (
        <span className={className} data-value={value}>
          {text}
        </span>
      );
    return [
      {
        id: "question",
        header: "Question",
        accessorFn: (r) => r.prompt_excerpt,
        cell: ({ row }) => open(row.original.question_id, row.original.prompt_excerpt || row.original.question_id),
      },
      { id: "category", header: "Category", accessorFn: (r) => r.category },
      ...models.map(
        (m): ColumnDef<QuestionRow, any> => ({
          id: "model:" + m.model_id,
          header: m.model_name,
          meta: { col: "model:" + m.model_id },
          accessorFn: (r) => r.by.get(m.model_id)?.change ?? "",
          cell: ({ row }) => {
            const q = row.original.by.get(m.model_id);
            if (!q) return <span className="muted">unchanged</span>;
            const text = `${q.change} (${pct(q.previous_pass_rate, 0)} → ${pct(q.current_pass_rate, 0)})`;
            return open(q.question_id, text, q.change === "regressed" ? "bad" : "good", q.change);
          },
        }),
      ),
    ];
  }, [models, runId]);

  // A model with more flips than the API lists (it lists the first 200).
  const cut = models.filter((m) => m.regressed + m.improved > m.changed_questions.length);
  return (
    <>
      <p className="muted">
        A question passes a side when at least half its units there passed; questions are matched by question, so an edited
        question that now fails is a regression too.{" "}
        {models.map((m) => `${m.model_name}: ${int(m.regressed)} regressed, ${int(m.improved)} improved, ${int(m.unchanged)} unchanged`).join("; ")}
        {models.length ? "." : null}
      </p>
      {cut.length ? (
        <p className="warn" data-testid="changed-questions-cut">
          Only the first {int(Math.max(...cut.map((m) => m.changed_questions.length)))} changed questions of{" "}
          {cut.map((m) => m.model_name).join(", ")} are listed, regressions first.
        </p>
      ) : null}
      <DataTable
        caption="Questions whose verdict changed, regressions first, with each model's change"
        testid="changed-questions"
        data={rows}
        columns={columns}
        rowId={(r) => r.question_id}
        rowAttrs={(r) => ({ "data-change": r.regressed > r.improved ? "regressed" : r.improved > r.regressed ? "improved" : "mixed" })}
        sortable={false}
        empty="No question changed its verdict."
      />
    </>
  );
}
