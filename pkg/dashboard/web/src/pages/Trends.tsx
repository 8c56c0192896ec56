import { useCallback, useMemo } from "react";
import { Link, useParams } from "react-router";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import type { Schemas } from "../api/client";
import { benchmarkQuery, comparePeriodQuery, timeseriesQuery } from "../api/queries";
import { axisStyle, Chart, type ChartTheme } from "../components/Chart";
import { Change, type ChangeMetric } from "../components/AnalyticsChange";
import { figure } from "../components/AnalyticsColumns";
import { DataTable } from "../components/DataTable";
import { ErrorBox, isNotFound } from "../components/ErrorBox";
import { oneOf, useFilters } from "../components/FilterParams";
import { Page } from "../components/Page";
import { Time } from "../components/Time";
import { int, ms, num, pct, usd } from "../format";
import { NotFound } from "./NotFound";

type Metric = Schemas["TimeseriesMetric"];
const metrics = ["score", "latency_ms", "latency_p95_ms", "ttft_ms", "tokens_per_s", "cost_usd"] as const;
const buckets = ["day", "week", "month"] as const;
const metricNames: Record<Metric, string> = {
  score: "Score",
  latency_ms: "Latency (median)",
  latency_p95_ms: "Latency (95th percentile)",
  ttft_ms: "Time to first token (median)",
  tokens_per_s: "Output tokens per second (mean)",
  cost_usd: "Cost (total)",
};

/** fmt writes a value of the metric. */
function fmt(metric: Metric, v: number | null | undefined): string {
  switch (metric) {
    case "score":
      return pct(v);
    case "latency_ms":
    case "latency_p95_ms":
    case "ttft_ms":
      return ms(v);
    case "tokens_per_s":
      return v == null ? "—" : num(v, 1) + " tok/s";
    case "cost_usd":
      return usd(v);
  }
}

type Row = { key: string; bucket: string; model_id: string; model_name: string; value: number | null; n: number };

/** A benchmark's models over time (GET /v1/analytics/timeseries), with
 * this week's and this month's changes and whether they are significant
 * (GET /v1/analytics/compare?period=wow and mom). */
export default function Trends() {
  const { id = "" } = useParams();
  const [params, set] = useFilters();
  const metric = oneOf(params.get("metric"), metrics, "score");
  const bucket = oneOf(params.get("bucket"), buckets, "week");
  const modelId = params.get("model_id") || undefined;
  // The comparison reports score, latency and cost; for the other metrics
  // the changes shown are the score's.
  const changeMetric: ChangeMetric = metric === "latency_ms" || metric === "cost_usd" ? metric : "score";

  const bench = useQuery(benchmarkQuery(id));
  const series = useQuery(timeseriesQuery({ id, metric, bucket, modelId }));
  const wow = useQuery(comparePeriodQuery(id, "wow"));
  const mom = useQuery(comparePeriodQuery(id, "mom"));

  // Models to choose from: those of the comparisons and of the series.
  const models = useMemo(() => {
    const m = new Map<string, string>();
    for (const c of [wow.data, mom.data]) {
      for (const x of c?.models ?? []) m.set(x.model_id, x.model_name);
      c?.unpaired_models.forEach((mid, i) => m.set(mid, c.unpaired_model_names[i] ?? mid));
    }
    for (const s of series.data?.series ?? []) m.set(s.model_id, s.model_name);
    return [...m].sort((a, b) => a[1].localeCompare(b[1]));
  }, [wow.data, mom.data, series.data]);

  const rows = useMemo<Row[]>(() => {
    const out: Row[] = [];
    for (const s of series.data?.series ?? [])
      for (const p of s.points)
        out.push({ key: `${p.bucket}/${s.model_id}`, bucket: p.bucket, model_id: s.model_id, model_name: s.model_name, value: p.value, n: p.n });
    return out.sort((a, b) => a.bucket.localeCompare(b.bucket) || a.model_name.localeCompare(b.model_name));
  }, [series.data]);

  const option = useCallback(
    (t: ChartTheme) => {
      const marks: { xAxis: string; name: string }[] = [];
      if (wow.data?.current.start) marks.push({ xAxis: wow.data.current.start, name: "week" });
      if (mom.data?.current.start) marks.push({ xAxis: mom.data.current.start, name: "month" });
      return {
        animation: false,
        grid: { left: 8, right: 40, top: 56, bottom: 24, containLabel: true },
        legend: { top: 0, textStyle: { color: t.text } },
        tooltip: {
          trigger: "axis",
          backgroundColor: t.surface,
          borderColor: t.border,
          textStyle: { color: t.text },
          valueFormatter: (v: number | null) => fmt(metric, v),
        },
        dataZoom: [{ type: "inside" }],
        xAxis: { type: "time", ...axisStyle(t), splitLine: { show: false } },
        yAxis: {
          type: "value",
          scale: metric !== "score",
          ...axisStyle(t),
          axisLabel: { color: t.muted, fontSize: 12, formatter: (v: number) => fmt(metric, v) },
        },
        series: (series.data?.series ?? []).map((s, i) => ({
          type: "line",
          name: s.model_name,
          showSymbol: true,
          symbolSize: 6,
          connectNulls: false,
          data: s.points.map((p) => [p.bucket, p.value]),
          markLine:
            i === 0 && marks.length
              ? {
                  silent: true,
                  symbol: "none",
                  lineStyle: { color: t.muted, type: "dashed" },
                  label: { color: t.muted, formatter: "{b}", position: "end" },
                  data: marks,
                }
              : undefined,
        })),
      };
    },
    [series.data, metric, wow.data, mom.data],
  );

  if (isNotFound(bench.error)) return <NotFound detail={`There is no benchmark ${id}.`} />;
  const name = bench.data?.name ?? "Benchmark";
  const summary =
    `${metricNames[metric]} per ${bucket} of ${name}: ` +
    (series.data?.series ?? [])
      .map((s) => {
        const pts = s.points.filter((p) => p.value != null);
        const first = pts[0];
        const last = pts[pts.length - 1];
        return first && last ? `${s.model_name} from ${fmt(metric, first.value)} to ${fmt(metric, last.value)}` : `${s.model_name} no data`;
      })
      .join("; ");

  const changeRows = models
    .filter(([mid]) => !modelId || mid === modelId)
    .map(([mid, mname]) => ({
      model_id: mid,
      model_name: mname,
      wow: wow.data?.models.find((m) => m.model_id === mid),
      mom: mom.data?.models.find((m) => m.model_id === mid),
    }));

  return (
    <Page name="trends" title={`${name}: trends`} busy={bench.isPending || (bench.isSuccess && series.isPending)}>
      {bench.isError ? <ErrorBox error={bench.error} what="load the benchmark" /> : null}
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Metric
          <select value={metric} onChange={(e) => set({ metric: e.target.value === "score" ? null : e.target.value })}>
            {metrics.map((m) => (
              <option key={m} value={m}>
                {metricNames[m]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Per
          <select value={bucket} onChange={(e) => set({ bucket: e.target.value === "week" ? null : e.target.value })}>
            <option value="day">day</option>
            <option value="week">week</option>
            <option value="month">month</option>
          </select>
        </label>
        <label>
          Model
          <select value={modelId ?? ""} onChange={(e) => set({ model_id: e.target.value })}>
            <option value="">All models</option>
            {modelId && !models.some(([m]) => m === modelId) ? <option value={modelId}>{modelId}</option> : null}
            {models.map(([mid, mname]) => (
              <option key={mid} value={mid}>
                {mname}
              </option>
            ))}
          </select>
        </label>
      </form>
      <p className="lb-links">
        <Link to={`/benchmarks/${id}/leaderboard`}>Leaderboard</Link>
        <Link to={`/compare?benchmark_id=${id}&period=wow`}>Compare week over week</Link>
        <Link to={`/compare?benchmark_id=${id}&period=mom`}>Compare month over month</Link>
      </p>
      {series.isError ? <ErrorBox error={series.error} what="load the time series" /> : null}
      {series.data ? (
        <>
          <p className="muted">
            {metricNames[metric]} per {bucket} (UTC buckets) from <Time at={series.data.from} dateOnly /> to{" "}
            <Time at={series.data.to} dateOnly />. A gap means the model did not run then.
          </p>
          <section className="card">
            <h2 className="sr-only">Chart</h2>
            {rows.length ? (
              <Chart option={option} label={summary} testid="trend-chart" />
            ) : (
              <p className="muted" data-testid="trend-chart">
                No finished runs in this range.
              </p>
            )}
          </section>
        </>
      ) : null}

      <h2>What changed</h2>
      <p className="muted">
        {changeMetric === metric
          ? `${metricNames[metric]}: `
          : `The comparison reports score, latency and cost only, so these are the score's changes: `}
        the newest week (month) with a finished run against the one before, per model, with the 95% interval of the
        paired difference. A change is significant when its interval excludes 0.
        {wow.data?.current.start ? (
          <>
            {" "}
            Week of <Time at={wow.data.current.start} dateOnly />
          </>
        ) : null}
        {mom.data?.current.start ? (
          <>
            ; month of <Time at={mom.data.current.start} dateOnly />.
          </>
        ) : null}
      </p>
      {wow.isError ? <ErrorBox error={wow.error} what="compare week over week" /> : null}
      {mom.isError ? <ErrorBox error={mom.error} what="compare month over month" /> : null}
      <DataTable
        caption="Week-over-week and month-over-month changes per model, with 95% intervals"
        testid="trend-changes"
        data={changeRows}
        rowId={(r) => r.model_id}
        sortable={false}
        columns={[
          { id: "model", header: "Model", cell: ({ row }) => row.original.model_name },
          {
            id: "wow",
            header: "Week over week",
            cell: ({ row }) => (
              <Change metric={changeMetric} change={row.original.wow?.[changeMetric]} testid="change-wow" modelId={row.original.model_id} />
            ),
          },
          {
            id: "mom",
            header: "Month over month",
            cell: ({ row }) => (
              <Change metric={changeMetric} change={row.original.mom?.[changeMetric]} testid="change-mom" modelId={row.original.model_id} />
            ),
          },
        ]}
        empty={wow.isPending || mom.isPending ? "Loading…" : "No model ran in both periods."}
      />

      <details className="trend-table">
        <summary>The figures of the chart, as a table</summary>
        <DataTable
          caption={`${metricNames[metric]} per ${bucket} and model`}
          testid="trend-table"
          data={rows}
          rowId={(r) => r.key}
          rowAttrs={(r) => ({ "data-model-id": r.model_id, "data-bucket": r.bucket })}
          columns={trendColumns(metric)}
          // Newest first: a long range shows its latest rows before "Show all".
          initialSort={[{ id: "bucket", desc: true }]}
          empty="No finished runs in this range."
        />
      </details>
    </Page>
  );
}

function trendColumns(metric: Metric): ColumnDef<Row, any>[] {
  return [
    { id: "bucket", header: "From", accessorFn: (r) => r.bucket, cell: ({ row }) => <Time at={row.original.bucket} dateOnly /> },
    { id: "model", header: "Model", accessorFn: (r) => r.model_name },
    figure("value", metricNames[metric], (r) => r.value, (v) => fmt(metric, v)),
    figure("n", "Units", (r) => r.n, int),
  ];
}
