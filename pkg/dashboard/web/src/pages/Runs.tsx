import { useQuery } from "@tanstack/react-query";
import { createColumnHelper } from "@tanstack/react-table";
import { Link, useSearchParams } from "react-router";
import type { Schemas } from "../api/client";
import { runsFilter, runsQuery } from "../api/queries";
import { DataTable } from "../components/DataTable";
import { ErrorBox } from "../components/ErrorBox";
import { FilterSelect } from "../components/FilterSelect";
import { Page } from "../components/Page";
import { Pager } from "../components/Pager";
import { percentDone, unitsDone } from "../components/Progress";
import { RunStatus, runStatuses, runTriggers, isLive } from "../components/RunStatus";
import { Time } from "../components/Time";
import { int, usd } from "../format";
import { useBenchmarks } from "../hooks/useBenchmarks";

type Run = Schemas["Run"];
const col = createColumnHelper<Run>();

const columns = [
  col.accessor("status", {
    header: "Status",
    cell: (c) => <RunStatus status={c.getValue()} />,
  }),
  col.accessor("benchmark_name", {
    header: "Run of",
    cell: (c) => (
      <Link to={`/runs/${c.row.original.id}`}>
        {c.getValue()}
        <span className="sr-only"> (run {c.row.original.id})</span>
      </Link>
    ),
  }),
  col.accessor("trigger", { header: "Trigger" }),
  col.accessor("created_at", { header: "Created", cell: (c) => <Time at={c.getValue()} /> }),
  col.accessor("started_at", { header: "Started", cell: (c) => <Time at={c.getValue()} /> }),
  col.accessor("finished_at", { header: "Finished", cell: (c) => <Time at={c.getValue()} /> }),
  col.accessor((r) => percentDone(unitsDone(r.progress), r.progress.total, !isLive(r.status)), {
    id: "progress",
    header: "Progress",
    meta: { numeric: true },
    cell: (c) => {
      const p = c.row.original.progress;
      return (
        <span data-value={String(c.getValue())} data-done={unitsDone(p)} data-total={p.total}>
          {int(unitsDone(p))} / {int(p.total)}
          {p.failed > 0 ? <span className="bad"> · {int(p.failed)} failed</span> : null}
        </span>
      );
    },
  }),
  col.accessor("cost_usd", {
    id: "cost",
    header: "Cost",
    meta: { numeric: true },
    cell: (c) => (
      <>
        <span data-value={String(c.getValue())}>{usd(c.getValue())}</span>
        {c.row.original.judge_cost_usd > 0 ? (
          <div className="muted small" data-col="judge_cost" data-value={String(c.row.original.judge_cost_usd)}>
            + {usd(c.row.original.judge_cost_usd)} judges
          </div>
        ) : null}
      </>
    ),
  }),
];

/** Runs: every run, newest first, filtered by benchmark, status and trigger. */
export default function Runs() {
  const [params] = useSearchParams();
  const benchmarks = useBenchmarks();
  const runs = useQuery(runsQuery(runsFilter(params)));
  const benchmarkOptions = (benchmarks.data?.items ?? []).map((b) => ({ value: b.id, label: b.name + (b.archived_at ? " (archived)" : "") }));
  return (
    <Page name="runs" title="Runs" busy={runs.isPending}>
      <form className="filters" role="search" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <FilterSelect label="Benchmark" name="benchmark_id" any="All benchmarks" options={benchmarkOptions} />
        <FilterSelect label="Status" name="status" any="Any status" options={runStatuses.map((v) => ({ value: v, label: v }))} />
        <FilterSelect label="Trigger" name="trigger" any="Any trigger" options={runTriggers.map((v) => ({ value: v, label: v }))} />
      </form>
      {benchmarks.isError ? <ErrorBox error={benchmarks.error} what="load the benchmarks for the filter" /> : null}
      {runs.isError ? <ErrorBox error={runs.error} what="load the runs" /> : null}
      {runs.data ? (
        <>
          <DataTable
            caption="Runs, newest first"
            testid="runs"
            data={runs.data.items}
            columns={columns}
            rowId={(r) => r.id}
            rowAttrs={(r) => ({ "data-status": r.status })}
            empty="No run matches these filters."
          />
          <Pager next={runs.data.next_cursor} />
        </>
      ) : null}
    </Page>
  );
}
