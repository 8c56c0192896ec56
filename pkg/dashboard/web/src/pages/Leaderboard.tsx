import { useCallback, useMemo } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useMutation, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { api, data, type Schemas } from "../api/client";
import { useCan } from "../api/session";
import { Chart, type ChartTheme } from "../components/Chart";
import { intervalHeight, intervalOption } from "../components/AnalyticsIntervals";
import { DataTable } from "../components/DataTable";
import { ErrorBox, isNotFound } from "../components/ErrorBox";
import { apiTime, oneOf, useFilters } from "../components/FilterParams";
import { Page } from "../components/Page";
import { Time } from "../components/Time";
import { int, ms, num, pct, usd } from "../format";
import { NotFound } from "./NotFound";

type Entry = Schemas["LeaderboardEntry"];
const periods = ["latest", "week", "month"] as const;

/** The leaderboard of a benchmark (GET /v1/leaderboard): models ranked
 * with their 95% intervals and rank bands, for the latest run or a week
 * or month of runs, overall or in one category. */
export default function Leaderboard() {
  const { id = "" } = useParams();
  const [params, set] = useFilters();
  const period = oneOf(params.get("period"), periods, "latest");
  const category = params.get("category") || undefined;
  const at = params.get("at");
  const canWrite = useCan("write");
  const navigate = useNavigate();

  const bench = useQuery({
    queryKey: ["benchmark", id],
    queryFn: () => data(api.GET("/v1/benchmarks/{id}", { params: { path: { id } } })),
  });
  const board = useQuery({
    queryKey: ["leaderboard", id, period, category ?? null, period === "latest" ? null : at],
    queryFn: () =>
      data(
        api.GET("/v1/leaderboard", {
          params: {
            query: {
              benchmark_id: id,
              period,
              category,
              at: period === "latest" ? undefined : apiTime(at),
            },
          },
        }),
      ),
    enabled: bench.isSuccess,
  });
  // The benchmark's categories are those of its latest finished run's
  // rankings (GET /v1/runs/{id}/rankings, by_category).
  const latest = useQuery({
    queryKey: ["leaderboard", id, "latest", null, null],
    queryFn: () => data(api.GET("/v1/leaderboard", { params: { query: { benchmark_id: id, period: "latest" } } })),
    enabled: bench.isSuccess,
  });
  const latestRun = latest.data?.run_id;
  const rankings = useQuery({
    queryKey: ["rankings", latestRun],
    queryFn: () => data(api.GET("/v1/runs/{id}/rankings", { params: { path: { id: latestRun ?? "" } } })),
    enabled: !!latestRun,
    staleTime: 5 * 60_000,
  });
  const categories = useMemo(() => Object.keys(rankings.data?.by_category ?? {}).sort(), [rankings.data]);

  const start = useMutation({
    mutationFn: () => data(api.POST("/v1/benchmarks/{id}/runs", { params: { path: { id } }, body: {} })),
    onSuccess: (run) => navigate(`/runs/${run.id}`),
  });

  const entries = board.data?.entries ?? [];
  const ks = useMemo(() => {
    const all = new Set<number>();
    for (const e of entries) for (const p of e.pass_at_k) all.add(p.k);
    return [...all].sort((a, b) => a - b);
  }, [entries]);
  const columns = useMemo(() => leaderboardColumns(id, ks), [id, ks]);

  const option = useCallback(
    (t: ChartTheme) =>
      intervalOption(
        t,
        entries.map((e) => ({
          label: `#${e.rank} ${e.model_name} (band ${band(e)})`,
          value: e.score,
          low: e.ci_low,
          high: e.ci_high,
          tip: `${e.model_name}: ${pct(e.score)} (95% interval ${pct(e.ci_low)}–${pct(e.ci_high)}), rank band ${band(e)}`,
        })),
        { format: (v) => pct(v, 0), bounds: [0, 1] },
      ),
    [entries],
  );

  if (isNotFound(bench.error)) return <NotFound detail={`There is no benchmark ${id}.`} />;
  const name = bench.data?.name ?? "Benchmark";
  const summary =
    entries.length === 0
      ? "No models ranked."
      : "Scores with 95% intervals: " +
        entries.map((e) => `${e.rank}. ${e.model_name} ${pct(e.score)} (${pct(e.ci_low)} to ${pct(e.ci_high)})`).join("; ");

  return (
    <Page
      name="leaderboard"
      title={`${name}: leaderboard`}
      busy={bench.isPending || (bench.isSuccess && board.isPending)}
      actions={
        canWrite ? (
          <button type="button" className="primary" onClick={() => start.mutate()} disabled={start.isPending}>
            Start run
          </button>
        ) : null
      }
    >
      {start.isError ? <ErrorBox error={start.error} what="start a run" /> : null}
      {bench.isError ? <ErrorBox error={bench.error} what="load the benchmark" /> : null}
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Period
          <select value={period} onChange={(e) => set({ period: e.target.value === "latest" ? null : e.target.value })}>
            <option value="latest">Latest run</option>
            <option value="week">A week of runs</option>
            <option value="month">A month of runs</option>
          </select>
        </label>
        {period !== "latest" ? (
          <label>
            {period === "week" ? "Week containing" : "Month containing"}
            <input type="date" value={at?.slice(0, 10) ?? ""} onChange={(e) => set({ at: e.target.value })} />
          </label>
        ) : null}
        <label>
          Category
          <select value={category ?? ""} onChange={(e) => set({ category: e.target.value })}>
            <option value="">All categories</option>
            {category && !categories.includes(category) ? <option value={category}>{category}</option> : null}
            {categories.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
      </form>
      <p className="lb-links">
        <Link to={`/benchmarks/${id}/trends`}>Trends</Link>
        <Link to={`/compare?benchmark_id=${id}&period=wow`}>This week against last</Link>
        {board.data?.run_id ? (
          <Link to={`/runs/${board.data.run_id}`}>The run ranked here</Link>
        ) : (
          <Link to={`/runs?benchmark_id=${id}`}>Runs of this benchmark</Link>
        )}
      </p>
      {board.isError ? <ErrorBox error={board.error} what="load the leaderboard" /> : null}
      {board.data ? (
        <>
          <p className="muted">
            {board.data.run_id ? (
              <>
                Run <Link to={`/runs/${board.data.run_id}`}>{board.data.run_id}</Link>
              </>
            ) : (
              <>
                Finished runs from <Time at={board.data.start} /> to <Time at={board.data.end} />
              </>
            )}
            {board.data.category ? <> · category {board.data.category}</> : null} · 95% bootstrap intervals over
            questions ({int(board.data.resamples)} resamples, seed {board.data.seed}). Models whose rank bands overlap
            cannot be told apart by this data.
          </p>
          {entries.length > 0 ? (
            <section className="card">
              <h2 className="sr-only">Scores with 95% intervals</h2>
              <Chart
                option={option}
                label={summary}
                testid="leaderboard-chart"
                height={intervalHeight(entries.length)}
              />
            </section>
          ) : null}
          <h2>Ranking</h2>
          <DataTable
            caption={`Leaderboard of ${name}: rank, score with 95% interval, rank band, pass@k, error rate, latency, cost and unscored units per model`}
            testid="leaderboard"
            data={entries}
            columns={columns}
            rowId={(e) => e.model_id}
            empty="No finished run of this benchmark in this period."
          />
        </>
      ) : null}
    </Page>
  );
}

function band(e: Entry): string {
  return e.rank_low === e.rank_high ? String(e.rank_low) : `${e.rank_low}–${e.rank_high}`;
}

function leaderboardColumns(benchmarkId: string, ks: number[]): ColumnDef<Entry, any>[] {
  const cols: ColumnDef<Entry, any>[] = [
    {
      id: "rank",
      header: "Rank",
      accessorFn: (e) => e.rank,
      meta: { numeric: true },
      cell: ({ row }) => <span data-value={String(row.original.rank)}>{row.original.rank}</span>,
    },
    {
      id: "model",
      header: "Model",
      accessorFn: (e) => e.model_name,
      cell: ({ row }) => (
        <Link to={`/benchmarks/${benchmarkId}/trends?model_id=${row.original.model_id}`}>{row.original.model_name}</Link>
      ),
    },
    {
      id: "score",
      header: "Score",
      accessorFn: (e) => e.score,
      meta: { numeric: true },
      cell: ({ row }) => <span data-value={String(row.original.score)}>{pct(row.original.score)}</span>,
    },
    {
      id: "ci",
      header: "95% interval",
      accessorFn: (e) => e.ci_low,
      meta: { numeric: true },
      cell: ({ row }) => (
        <span data-low={String(row.original.ci_low)} data-high={String(row.original.ci_high)}>
          {pct(row.original.ci_low)} – {pct(row.original.ci_high)}
        </span>
      ),
    },
    {
      id: "rank_band",
      header: "Rank band",
      accessorFn: (e) => e.rank_low * 1000 + e.rank_high,
      meta: { numeric: true },
      cell: ({ row }) => (
        <span data-low={String(row.original.rank_low)} data-high={String(row.original.rank_high)}>
          {band(row.original)}
        </span>
      ),
    },
  ];
  for (const k of ks) {
    cols.push({
      id: `pass_at_${k}`,
      header: `pass@${k}`,
      accessorFn: (e) => e.pass_at_k.find((p) => p.k === k)?.value ?? null,
      meta: { numeric: true },
      cell: ({ getValue }) => {
        const v = getValue() as number | null;
        return <span data-value={v == null ? "" : String(v)}>{pct(v)}</span>;
      },
    });
  }
  cols.push(
    {
      id: "error_rate",
      header: "Error rate",
      accessorFn: (e) => e.error_rate,
      meta: { numeric: true },
      cell: ({ row }) => <span data-value={String(row.original.error_rate)}>{pct(row.original.error_rate)}</span>,
    },
    {
      id: "latency",
      header: "Mean latency",
      accessorFn: (e) => e.mean_latency_ms,
      meta: { numeric: true },
      cell: ({ row }) => {
        const v = row.original.mean_latency_ms;
        return <span data-value={v == null ? "" : String(v)}>{ms(v)}</span>;
      },
    },
    {
      id: "cost_per_1k",
      header: "Cost / 1000 questions",
      accessorFn: (e) => e.cost_per_1k_questions,
      meta: { numeric: true },
      cell: ({ row }) => (
        <span data-value={String(row.original.cost_per_1k_questions)}>{usd(row.original.cost_per_1k_questions)}</span>
      ),
    },
    {
      id: "n",
      header: "Units",
      accessorFn: (e) => e.n,
      meta: { numeric: true },
      cell: ({ row }) => (
        <span data-value={String(row.original.n)} title={`${num(row.original.questions, 0)} questions`}>
          {int(row.original.n)}
        </span>
      ),
    },
    {
      id: "unscored",
      header: "Unscored",
      accessorFn: (e) => e.unscored,
      meta: { numeric: true },
      cell: ({ row }) => <span data-value={String(row.original.unscored)}>{int(row.original.unscored)}</span>,
    },
  );
  return cols;
}
