import { useCallback, useMemo } from "react";
import { Link, useParams } from "react-router";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import type { Schemas } from "../api/client";
import { benchmarkQuery, leaderboardQuery, runRankingsQuery } from "../api/queries";
import { Chart, type ChartTheme } from "../components/Chart";
import { intervalHeight, intervalOption } from "../components/AnalyticsIntervals";
import { figure, interval } from "../components/AnalyticsColumns";
import { DataTable } from "../components/DataTable";
import { ErrorBox, isNotFound } from "../components/ErrorBox";
import { oneOf, useFilters } from "../components/FilterParams";
import { Page } from "../components/Page";
import { AlertSettings } from "../components/AlertSettings";
import { StartRun } from "../components/StartRun";
import { Time } from "../components/Time";
import { int, ms, pct, usd } from "../format";
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

  const bench = useQuery(benchmarkQuery(id));
  const board = useQuery(leaderboardQuery({ id, period, category, at }));
  // The benchmark's categories are those of its latest finished run's
  // rankings (GET /v1/runs/{id}/rankings, by_category).
  const latest = useQuery(leaderboardQuery({ id, period: "latest" }));
  const latestRun = latest.data?.run_id;
  const rankings = useQuery({ ...runRankingsQuery(latestRun ?? ""), enabled: !!latestRun, staleTime: 5 * 60_000 });
  const categories = useMemo(() => Object.keys(rankings.data?.by_category ?? {}).sort(), [rankings.data]);

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
          label: `#${e.rank} ${e.model_name}\nrank band ${band(e)}`,
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
      actions={<StartRun benchmarkId={id} />}
    >
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
      {bench.data ? (
        <p className="small" data-testid="benchmark-alerts">
          <AlertSettings benchmarkId={id} alerts={bench.data.alerts} />
        </p>
      ) : null}
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
    figure("rank", "Rank", (e) => e.rank, int),
    {
      id: "model",
      header: "Model",
      accessorFn: (e) => e.model_name,
      cell: ({ row }) => (
        <Link to={`/benchmarks/${benchmarkId}/trends?model_id=${row.original.model_id}`}>{row.original.model_name}</Link>
      ),
    },
    figure("score", "Score", (e) => e.score, pct),
    interval("ci", "95% interval", (e) => [e.ci_low, e.ci_high], (v) => pct(v)),
    {
      id: "rank_band",
      header: "Rank band",
      accessorFn: (e) => e.rank_low * 1000 + e.rank_high,
      meta: { numeric: true, cellAttrs: (e) => ({ "data-low": String(e.rank_low), "data-high": String(e.rank_high) }) },
      cell: ({ row }) => (
        <span data-low={String(row.original.rank_low)} data-high={String(row.original.rank_high)}>
          {band(row.original)}
        </span>
      ),
    },
  ];
  for (const k of ks) {
    cols.push(figure(`pass_at_${k}`, `pass@${k}`, (e) => e.pass_at_k.find((p) => p.k === k)?.value, pct));
  }
  cols.push(
    figure("error_rate", "Error rate", (e) => e.error_rate, pct),
    figure("latency", "Mean latency", (e) => e.mean_latency_ms, ms),
    figure("cost_per_1k", "Cost / 1000 questions", (e) => e.cost_per_1k_questions, usd),
    figure("n", "Units", (e) => e.n, int),
    figure("unscored", "Unscored", (e) => e.unscored, int),
  );
  return cols;
}
