import type { Schemas } from "../api/client";
import { int } from "../format";

/** percentDone is done/total as a whole percentage, rounded down so that
 * 100 means every unit is done (an empty run is done when finished). */
export function percentDone(done: number, total: number, finished = false): number {
  if (total <= 0) return finished ? 100 : 0;
  return Math.min(100, Math.floor((100 * done) / total));
}

/** unitsDone counts a run's units recorded in any outcome. */
export function unitsDone(p: Schemas["RunProgress"]): number {
  return p.succeeded + p.failed + p.cancelled + p.skipped;
}

/** Progress is a labelled progress bar with the counts behind it:
 * aria-valuenow is the whole percentage, data-done and data-total the
 * API's counts. */
export function Progress(props: { done: number; total: number; label: string; finished?: boolean; testid?: string; compact?: boolean }) {
  const { done, total, label, finished = false, testid, compact = false } = props;
  const p = percentDone(done, total, finished);
  return (
    <div className={compact ? "progress-line compact" : "progress-line"}>
      <div
        className="progress"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={p}
        aria-valuetext={`${p}% (${int(done)} of ${int(total)})`}
        data-testid={testid}
        data-done={done}
        data-total={total}
      >
        <div style={{ width: p + "%" }} />
      </div>
      <span className="progress-text">
        {int(done)} / {int(total)} <span className="muted">({p}%)</span>
      </span>
    </div>
  );
}
