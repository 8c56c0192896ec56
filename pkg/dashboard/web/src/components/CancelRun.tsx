import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, data } from "../api/client";
import { runQuery } from "../api/queries";
import { useCan } from "../api/session";
import { ErrorBox } from "./ErrorBox";

/** CancelRun asks for confirmation, then cancels the run
 * (POST /v1/runs/{id}/cancel); write scope only. The run's event stream
 * shows it finishing as cancelled. */
export function CancelRun({ runId }: { runId: string }) {
  const can = useCan("write");
  const qc = useQueryClient();
  const [asking, setAsking] = useState(false);
  const cancel = useMutation({
    mutationFn: () => data(api.POST("/v1/runs/{id}/cancel", { params: { path: { id: runId } } })),
    onSuccess: (run) => {
      setAsking(false);
      qc.setQueryData(runQuery(runId).queryKey, run);
    },
  });
  if (!can) return null;
  return (
    <span className="cancel-run">
      {asking ? (
        <span role="group" aria-label="Confirm cancelling the run" className="confirm">
          <span>Stop this run? Units not yet started will be cancelled.</span>
          <button type="button" className="danger" disabled={cancel.isPending} onClick={() => cancel.mutate()}>
            {cancel.isPending ? "Cancelling…" : "Yes, cancel run"}
          </button>
          <button type="button" onClick={() => setAsking(false)} autoFocus>
            Keep it running
          </button>
        </span>
      ) : (
        <button type="button" className="danger" onClick={() => setAsking(true)}>
          Cancel run
        </button>
      )}
      {cancel.isError ? <ErrorBox error={cancel.error} what="cancel the run" /> : null}
    </span>
  );
}
