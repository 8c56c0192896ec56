import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { api, data } from "../api/client";
import { runQuery } from "../api/queries";
import { useCan } from "../api/session";
import { ErrorBox } from "./ErrorBox";

/** StartRun is the button that starts a run of a benchmark
 * (POST /v1/benchmarks/{id}/runs with `{}`) and opens it; the API's
 * refusal (409, 422, 429…) is shown with its message. Only tokens with
 * the write scope see it. */
export function StartRun({ benchmarkId, label = "Start run", primary = true }: { benchmarkId: string; label?: string; primary?: boolean }) {
  const can = useCan("write");
  const qc = useQueryClient();
  const navigate = useNavigate();
  const start = useMutation({
    mutationFn: () => data(api.POST("/v1/benchmarks/{id}/runs", { params: { path: { id: benchmarkId } }, body: {} })),
    onSuccess: (run) => {
      qc.setQueryData(runQuery(run.id).queryKey, run);
      // Lists of runs are due, but read when next shown: refetched now, the
      // overview would open the new run's event stream just before leaving.
      void qc.invalidateQueries({ queryKey: ["runs"], refetchType: "none" });
      navigate("/runs/" + run.id);
    },
  });
  if (!can) return null;
  return (
    <span className="start-run">
      <button type="button" className={primary ? "primary" : undefined} disabled={start.isPending} onClick={() => start.mutate()}>
        {start.isPending ? "Starting…" : label}
      </button>
      {start.isError ? <ErrorBox error={start.error} what="start the run" /> : null}
    </span>
  );
}
