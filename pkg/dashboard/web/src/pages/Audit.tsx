import { useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import type { Schemas } from "../api/client";
import { auditFilter, auditQuery } from "../api/queries";
import { DataTable } from "../components/DataTable";
import { ErrorBox } from "../components/ErrorBox";
import { useFilters } from "../components/FilterParams";
import { Page } from "../components/Page";
import { Pager } from "../components/Pager";
import { Time } from "../components/Time";

type Event = Schemas["AuditEvent"];
const textFilters = [
  ["action", "Action", "e.g. provider.create"],
  ["resource_type", "Resource type", "e.g. token"],
  ["resource_id", "Resource id", ""],
  ["token_id", "Token id", ""],
] as const;

/** The audit log (GET /v1/audit, admin only), newest first, with the
 * route's filters in the URL. Other tokens see the API's 403 message. */
export default function Audit() {
  const [params, set] = useFilters();
  const outcome = params.get("outcome");
  const list = useQuery(auditQuery(auditFilter(params)));

  // The text filters apply when the form is submitted, not at every key.
  const [draft, setDraft] = useState<Record<string, string>>({});
  const value = (k: string) => draft[k] ?? params.get(k) ?? "";
  const submit = (e: FormEvent) => {
    e.preventDefault();
    set(Object.fromEntries(textFilters.map(([k]) => [k, value(k).trim()])));
    setDraft({});
  };

  return (
    <Page name="audit" title="Audit log" busy={list.isPending}>
      <form className="filters" onSubmit={submit} role="search" aria-label="Filter the audit log">
        {textFilters.map(([k, label, placeholder]) => (
          <label key={k}>
            {label}
            <input
              name={k}
              value={value(k)}
              placeholder={placeholder}
              onChange={(e) => setDraft((d) => ({ ...d, [k]: e.target.value }))}
            />
          </label>
        ))}
        <label>
          Outcome
          <select value={outcome ?? ""} onChange={(e) => set({ outcome: e.target.value })}>
            <option value="">Any</option>
            <option value="success">success</option>
            <option value="denied">denied</option>
          </select>
        </label>
        <label>
          From
          <input type="date" value={params.get("from")?.slice(0, 10) ?? ""} onChange={(e) => set({ from: e.target.value })} />
        </label>
        <label>
          Before
          <input type="date" value={params.get("to")?.slice(0, 10) ?? ""} onChange={(e) => set({ to: e.target.value })} />
        </label>
        <button type="submit">Filter</button>
      </form>
      {list.isError ? <ErrorBox error={list.error} what="read the audit log" /> : null}
      {list.data ? (
        <>
          <DataTable
            caption="Audit events, newest first"
            testid="audit"
            data={list.data.items}
            columns={columns}
            rowId={(e) => e.id}
            rowAttrs={(e) => ({ "data-outcome": e.outcome })}
            sortable={false}
            empty="No event matches."
          />
          <Pager next={list.data.next_cursor} />
        </>
      ) : null}
    </Page>
  );
}

const columns: ColumnDef<Event, any>[] = [
  { id: "time", header: "Time", cell: ({ row }) => <Time at={row.original.time} /> },
  { id: "action", header: "Action", cell: ({ row }) => <code>{row.original.action}</code> },
  {
    id: "outcome",
    header: "Outcome",
    cell: ({ row }) => (
      <span className={row.original.outcome === "denied" ? "bad" : "good"} data-value={row.original.outcome}>
        {row.original.outcome}
      </span>
    ),
  },
  {
    id: "resource",
    header: "Resource",
    cell: ({ row }) => (
      <>
        {row.original.resource_type}
        {row.original.resource_id ? <div className="small muted wrap">{row.original.resource_id}</div> : null}
      </>
    ),
  },
  { id: "token", header: "Token", cell: ({ row }) => row.original.token_name || <span className="muted">—</span> },
  { id: "reason", header: "Reason", cell: ({ row }) => <span className="wrap">{row.original.reason}</span> },
  {
    id: "source",
    header: "Source",
    cell: ({ row }) => (
      <>
        {row.original.source_ip}
        <div className="small muted wrap" title={row.original.user_agent}>
          {row.original.request_id}
        </div>
      </>
    ),
  },
];
