// How a change with its interval is written: on the trends page and the
// comparison alike.
import type { Schemas } from "../api/client";
import { ms, pct, signedPct, usd } from "../format";

export type ChangeMetric = "score" | "latency_ms" | "cost_usd";

/** fmtValue writes one side of a change in the metric's unit. */
export function fmtValue(metric: ChangeMetric, v: number | null | undefined): string {
  return metric === "score" ? pct(v) : metric === "latency_ms" ? ms(v) : usd(v);
}

/** fmtDiff writes a difference in the metric's unit, with its sign. */
export function fmtDiff(metric: ChangeMetric, v: number | null | undefined): string {
  if (v == null || Number.isNaN(v)) return "—";
  if (metric === "score") return signedPct(v);
  const sign = v < 0 ? "−" : v > 0 ? "+" : "±";
  return sign + (metric === "latency_ms" ? ms(Math.abs(v)) : smallUsd(Math.abs(v)));
}

// Per-question cost changes are often fractions of a cent: two significant
// digits instead of "$0.0000".
function smallUsd(v: number): string {
  return v !== 0 && v < 0.001 ? "$" + v.toPrecision(2) : usd(v);
}

/** worse says whether a change is for the worse: a lower score, a
 * higher latency or cost. */
export function worse(metric: ChangeMetric, diff: number): boolean {
  return metric === "score" ? diff < 0 : diff > 0;
}

/** Change is a difference with its 95% interval and whether it is
 * significant (the interval excludes 0), with the API's raw figures in
 * data attributes. */
export function Change(props: { metric: ChangeMetric; change?: Schemas["MetricChange"] | null; testid?: string; modelId?: string }) {
  const { metric, change: c, testid, modelId } = props;
  if (!c) {
    return (
      <span className="muted" data-testid={testid} data-model-id={modelId} data-significant="">
        not in both periods
      </span>
    );
  }
  const tone = c.significant ? (worse(metric, c.diff) ? "bad" : "good") : "muted";
  return (
    <span
      className={"change " + tone}
      data-testid={testid}
      data-model-id={modelId}
      data-value={String(c.diff)}
      data-low={String(c.ci_low)}
      data-high={String(c.ci_high)}
      data-significant={String(c.significant)}
    >
      <strong>{fmtDiff(metric, c.diff)}</strong>{" "}
      <span className="ci">
        [{fmtDiff(metric, c.ci_low)}, {fmtDiff(metric, c.ci_high)}]
      </span>{" "}
      {c.significant ? (
        <span className="badge">{worse(metric, c.diff) ? "significant: worse" : "significant: better"}</span>
      ) : (
        <span className="sr-only">not significant</span>
      )}
    </span>
  );
}
