import type { ColumnDef } from "@tanstack/react-table";
import { Link } from "react-router";
import type { Schemas } from "../api/client";
import { ms, pct, signedPct, usd } from "../format";
import { Time } from "./Time";

type Alert = Schemas["Alert"];
type Metric = Schemas["AlertMetric"];

/** metricValue writes a value of an alert's metric: a score as a
 * percentage, a latency in ms, a cost in dollars. */
export function metricValue(m: Metric, v: number): string {
  if (m === "latency_p95") return ms(v);
  if (m === "cost") return usd(v);
  return pct(v);
}

/** metricDiff writes a signed difference of an alert's metric. */
export function metricDiff(m: Metric, v: number): string {
  if (m === "score") return signedPct(v);
  const sign = v < 0 ? "−" : v > 0 ? "+" : "±";
  return sign + metricValue(m, Math.abs(v));
}

/** pValue writes a p-value, small ones as a bound. */
export function pValue(p: number): string {
  return p < 0.0001 ? "< 0.0001" : p.toFixed(4);
}

const metricLabels: Record<Metric, string> = { score: "score", latency_p95: "latency p95", cost: "cost" };

/** alertColumns are the columns of a table of alerts; the run detail page
 * leaves out the benchmark and the run (`inRun`). Cells carry the API's
 * raw values in data-value for the browser tests. */
export function alertColumns(inRun = false): ColumnDef<Alert, any>[] {
  const cols: ColumnDef<Alert, any>[] = [
    {
      id: "benchmark",
      header: "Benchmark",
      accessorFn: (a) => a.benchmark_name,
      cell: ({ row }) => <Link to={`/benchmarks/${row.original.benchmark_id}/leaderboard`}>{row.original.benchmark_name}</Link>,
    },
    { id: "model", header: "Model", accessorFn: (a) => a.model_name },
    {
      id: "metric",
      header: "Metric",
      accessorFn: (a) => a.metric,
      meta: { cellAttrs: (a) => ({ "data-value": a.metric }) },
      cell: ({ row }) => metricLabels[row.original.metric],
    },
    {
      id: "change",
      header: "Previous → current",
      accessorFn: (a) => a.current,
      meta: { numeric: true, cellAttrs: (a) => ({ "data-previous": String(a.previous), "data-current": String(a.current) }) },
      cell: ({ row }) => {
        const a = row.original;
        return (
          <>
            {metricValue(a.metric, a.previous)} → <strong>{metricValue(a.metric, a.current)}</strong>
          </>
        );
      },
    },
    {
      id: "diff",
      header: "Difference (95% interval)",
      accessorFn: (a) => a.diff,
      meta: {
        numeric: true,
        cellAttrs: (a) => ({ "data-value": String(a.diff), "data-low": String(a.ci_low), "data-high": String(a.ci_high) }),
      },
      cell: ({ row }) => {
        const a = row.original;
        return (
          <>
            <span className="bad">{metricDiff(a.metric, a.diff)}</span>
            <div className="small muted">
              [{metricDiff(a.metric, a.ci_low)}, {metricDiff(a.metric, a.ci_high)}]
              {a.relative_change != null ? ` · ${signedPct(a.relative_change).replace(" pp", "%")}` : null}
            </div>
          </>
        );
      },
    },
    {
      id: "p_adjusted",
      header: "Adjusted p",
      accessorFn: (a) => a.p_adjusted,
      meta: { numeric: true, cellAttrs: (a) => ({ "data-value": String(a.p_adjusted) }) },
      cell: ({ row }) => (
        <span title={`${row.original.correction} over ${row.original.comparisons} comparisons; unadjusted ${pValue(row.original.p_value)}`}>
          {pValue(row.original.p_adjusted)}
        </span>
      ),
    },
    {
      id: "flipped",
      header: "Questions",
      accessorFn: (a) => a.regressed,
      meta: { numeric: true, cellAttrs: (a) => ({ "data-value": String(a.regressed) }) },
      cell: ({ row }) => (
        <span title="questions that passed in the baseline and fail now / that improved, of those paired">
          {row.original.regressed} worse, {row.original.improved} better of {row.original.questions}
        </span>
      ),
    },
    { id: "created_at", header: "Raised", accessorFn: (a) => a.created_at, cell: ({ row }) => <Time at={row.original.created_at} /> },
    {
      id: "run",
      header: "Run",
      cell: ({ row }) => (
        <>
          <Link to={`/runs/${row.original.run_id}`}>
            run<span className="sr-only"> {row.original.run_id}</span>
          </Link>{" "}
          <span className="small muted">
            vs <Link to={`/runs/${row.original.baseline_run_id}`}>baseline</Link>
          </span>
        </>
      ),
    },
  ];
  return inRun ? cols.filter((c) => c.id !== "benchmark" && c.id !== "run") : cols;
}
