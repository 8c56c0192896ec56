import { Link } from "react-router";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import type { Schemas } from "../api/client";
import { benchmarksPageQuery } from "../api/queries";
import { DataTable } from "../components/DataTable";
import { ErrorBox } from "../components/ErrorBox";
import { Page } from "../components/Page";
import { Pager, useCursor } from "../components/Pager";
import { Time } from "../components/Time";
import { AlertSettings } from "../components/AlertSettings";

type Scheduled = Schemas["Benchmark"] & { schedule: Schemas["Schedule"] };

/** The benchmarks that run on a schedule (their `schedule` in
 * GET /v1/benchmarks): when, whether it may run, the next and the last run
 * and the last run it skipped. */
export default function Schedules() {
  const cursor = useCursor();
  const list = useQuery(benchmarksPageQuery(cursor));
  const rows = (list.data?.items ?? []).filter((b): b is Scheduled => !!b.schedule);
  const unscheduled = (list.data?.items.length ?? 0) - rows.length;

  return (
    <Page name="schedules" title="Schedules" busy={list.isPending}>
      {list.isError ? <ErrorBox error={list.error} what="list the benchmarks" /> : null}
      {list.data ? (
        <>
          <DataTable
            caption="Benchmarks with a schedule: cron, time zone, status, next run, last run, regression alerts and last skip"
            testid="schedules"
            data={rows}
            columns={columns}
            rowId={(b) => b.id}
            rowAttrs={(b) => ({ "data-status": b.schedule.status })}
            empty="No benchmark on this page runs on a schedule."
          />
          {unscheduled > 0 ? (
            <p className="muted">
              {unscheduled} benchmark{unscheduled === 1 ? "" : "s"} on this page {unscheduled === 1 ? "has" : "have"} no schedule.
            </p>
          ) : null}
          <Pager next={list.data.next_cursor} />
        </>
      ) : null}
    </Page>
  );
}

const columns: ColumnDef<Scheduled, any>[] = [
  {
    id: "benchmark",
    header: "Benchmark",
    accessorFn: (b) => b.name,
    cell: ({ row }) => <Link to={`/benchmarks/${row.original.id}/leaderboard`}>{row.original.name}</Link>,
  },
  { id: "cron", header: "Cron", accessorFn: (b) => b.schedule.cron, cell: ({ getValue }) => <code>{getValue()}</code> },
  { id: "timezone", header: "Time zone", accessorFn: (b) => b.schedule.timezone },
  {
    id: "status",
    header: "Status",
    accessorFn: (b) => b.schedule.status,
    cell: ({ row }) => {
      const s = row.original.schedule;
      const tone = s.status === "active" ? "good" : s.status === "blocked" ? "bad" : "muted";
      return (
        <>
          <span className={"badge " + tone} data-value={s.status}>
            {s.status}
          </span>
          {!s.enabled && s.status !== "disabled" ? <span className="muted"> (disabled)</span> : null}
          {s.blocked_reason ? <div className="small bad">{s.blocked_reason}</div> : null}
          {s.overlap === "allow" ? <div className="small muted">runs may overlap</div> : null}
        </>
      );
    },
  },
  {
    id: "next_run_at",
    header: "Next run",
    accessorFn: (b) => b.next_run_at ?? "",
    cell: ({ row }) => <Time at={row.original.next_run_at} />,
  },
  {
    id: "last_run",
    header: "Last run",
    accessorFn: (b) => b.schedule.last_run?.created_at ?? "",
    cell: ({ row }) => {
      const r = row.original.schedule.last_run;
      if (r === undefined) return <span className="muted">—</span>;
      if (!r) return <span className="muted">none yet</span>;
      const tone = r.status === "completed" ? "good" : r.status === "failed" || r.status === "cancelled" ? "bad" : r.status === "partial" ? "warn" : "";
      return (
        <>
          <Link to={`/runs/${r.id}`} className={tone} data-value={r.status}>
            {r.status}
          </Link>{" "}
          <span className="small muted">
            for <Time at={r.scheduled_for} />
            {r.finished_at ? (
              <>
                , finished <Time at={r.finished_at} />
              </>
            ) : null}
          </span>
        </>
      );
    },
  },
  {
    id: "alerts",
    header: "Regression alerts",
    accessorFn: (b) => (b.alerts?.enabled ? b.alerts.metrics.join(", ") : ""),
    cell: ({ row }) => (
      <span className="small">
        <AlertSettings benchmarkId={row.original.id} alerts={row.original.alerts} />
      </span>
    ),
  },
  {
    id: "last_skip",
    header: "Last skipped",
    accessorFn: (b) => b.schedule.last_skipped_at ?? "",
    cell: ({ row }) => {
      const s = row.original.schedule;
      if (!s.last_skipped_at) return <span className="muted">never</span>;
      return (
        <>
          <Time at={s.last_skipped_at} />
          {s.last_skip_reason ? <div className="small muted">{s.last_skip_reason}</div> : null}
        </>
      );
    },
  },
];
