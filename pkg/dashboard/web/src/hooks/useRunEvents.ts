import { useCallback, useEffect, useState } from "react";
import { useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import type { Schemas } from "../api/client";
import { runQuery, runRankingsQuery } from "../api/queries";
import { isLive } from "../components/RunStatus";

type Run = Schemas["Run"];

/** How a run's event stream stands: not opened (idle: the run is finished
 * or not known yet), open (live), ended by the server's final event, or
 * lost before it (the page then shows the run as one GET left it). */
export type StreamState = "idle" | "live" | "final" | "lost";

// When a run ends, what was computed from it is due: its rankings and
// results, the lists it was in and its benchmark's leaderboards.
function runEnded(qc: QueryClient, id: string, run?: Run) {
  void qc.invalidateQueries({ queryKey: runRankingsQuery(id).queryKey });
  void qc.invalidateQueries({ queryKey: ["run", id, "results"] });
  void qc.invalidateQueries({ queryKey: ["runs"] });
  if (run) void qc.invalidateQueries({ queryKey: ["leaderboard", run.benchmark_id] });
}

/** useRunEvents follows a run through Server-Sent Events
 * (GET /v1/runs/{id}/events) while enabled: each `progress` event's Run
 * replaces the ["run", id] query's data, the `final` event too and then
 * the stream is closed (an EventSource left open would reconnect). When
 * the stream fails before `final`, it is closed, the run is fetched once
 * and the state says "lost"; reconnect() opens it again. No polling. */
export function useRunEvents(id: string | undefined, enabled: boolean): { state: StreamState; reconnect: () => void } {
  const qc = useQueryClient();
  const [state, setState] = useState<StreamState>("idle");
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!id || !enabled) return;
    const es = new EventSource("/v1/runs/" + encodeURIComponent(id) + "/events");
    let ended = false;
    setState("live");
    const put = (ev: MessageEvent<string>): Run | undefined => {
      try {
        const run = JSON.parse(ev.data) as Run;
        qc.setQueryData(runQuery(id).queryKey, run);
        return run;
      } catch {
        return undefined;
      }
    };
    es.addEventListener("progress", (ev) => {
      put(ev as MessageEvent<string>);
    });
    es.addEventListener("final", (ev) => {
      ended = true;
      es.close();
      const run = put(ev as MessageEvent<string>);
      setState("final");
      runEnded(qc, id, run);
    });
    es.onerror = () => {
      if (ended) return;
      ended = true;
      es.close();
      setState("lost");
      // One GET instead of the stream, so the page shows where the run is.
      void qc.fetchQuery({ ...runQuery(id), staleTime: 0 }).then(
        (run) => {
          if (!isLive(run.status)) runEnded(qc, id, run);
        },
        () => undefined,
      );
    };
    return () => {
      ended = true;
      es.close();
    };
  }, [id, enabled, attempt, qc]);
  const reconnect = useCallback(() => setAttempt((a) => a + 1), []);
  return { state: enabled ? state : "idle", reconnect };
}

/** useLiveRun is a run from a list kept up to date through its event
 * stream while it is queued or running and `follow` is true (a list
 * follows only a few runs: each stream holds one of the browser's few
 * connections to the server). */
export function useLiveRun(run: Run, follow = true): { run: Run; state: StreamState } {
  const q = useQuery({
    ...runQuery(run.id),
    initialData: run,
    enabled: false,
  });
  const live = q.data ?? run;
  const { state } = useRunEvents(run.id, follow && isLive(live.status));
  return { run: live, state };
}
