import { Link } from "react-router";
import type { Schemas } from "../api/client";
import { pct } from "../format";

type Settings = Schemas["BenchmarkAlerts"];

const compareLabels: Record<Settings["compare_to"], string> = {
  previous_run: "the previous run",
  previous_week: "the run a week before",
};

/** minEffects writes each watched metric's smallest worsening worth an
 * alert: score in points, latency and cost as a share of the baseline. */
function minEffects(a: Settings): string {
  return a.metrics
    .map((m) => {
      if (m === "score") return `score −${((a.min_effect.score ?? 0.02) * 100).toFixed(1)} pp`;
      const v = m === "cost" ? a.min_effect.cost : a.min_effect.latency_p95;
      return `${m === "cost" ? "cost" : "latency p95"} +${pct(v ?? 0.2, 0)}`;
    })
    .join(", ");
}

/** AlertSettings is a benchmark's regression alert settings in a line
 * (its `alerts`): off, or which metrics are watched, by how much, against
 * which baseline, at which family-wise error rate. */
export function AlertSettings({ benchmarkId, alerts }: { benchmarkId: string; alerts: Settings | null | undefined }) {
  if (!alerts) return <span className="muted" data-alerts="none">no regression alerts</span>;
  if (!alerts.enabled)
    return (
      <span className="muted" data-alerts="disabled">
        regression alerts off
      </span>
    );
  return (
    <span data-alerts="enabled" data-metrics={alerts.metrics.join(",")}>
      alerts on {minEffects(alerts)} against {compareLabels[alerts.compare_to]} (α {alerts.alpha}){" "}
      <Link to={`/alerts?benchmark_id=${benchmarkId}`} className="small">
        its alerts
      </Link>
    </span>
  );
}
