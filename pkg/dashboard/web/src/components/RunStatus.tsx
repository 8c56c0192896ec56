import type { Schemas } from "../api/client";

export type RunStatusName = Schemas["RunStatus"];

/** The run statuses in their order of life, for filters. */
export const runStatuses: RunStatusName[] = ["queued", "running", "completed", "partial", "failed", "cancelled"];

/** The ways a run can be started, for filters. */
export const runTriggers: Schemas["RunTrigger"][] = ["api", "manual", "schedule"];

/** isLive reports whether a run may still change (queued or running). */
export function isLive(status: RunStatusName | undefined): boolean {
  return status === "queued" || status === "running";
}

/** RunStatus is a run's status as a badge, coloured by outcome; its text
 * is the API's status word (the browser tests read it). */
export function RunStatus({ status, testid }: { status: RunStatusName; testid?: string }) {
  return (
    <span className={"badge run-" + status} data-testid={testid} data-value={status}>
      {status}
    </span>
  );
}
