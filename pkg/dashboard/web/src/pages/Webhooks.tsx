import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { api, data, type Schemas } from "../api/client";
import { deliveriesQuery, webhooksQuery } from "../api/queries";
import { useCan } from "../api/session";
import { DataTable } from "../components/DataTable";
import { ErrorBox } from "../components/ErrorBox";
import { useFilters } from "../components/FilterParams";
import { Page } from "../components/Page";
import { Pager, useCursor } from "../components/Pager";
import { Time } from "../components/Time";
import { ms } from "../format";

type Webhook = Schemas["Webhook"];
type Delivery = Schemas["WebhookDelivery"];

/** state is a webhook's state in a word, as data-state and the badge say it. */
function state(w: Webhook): "enabled" | "disabled" | "auto-disabled" {
  if (w.enabled) return "enabled";
  return w.disabled_reason ? "auto-disabled" : "disabled";
}

/** Webhooks (GET /v1/webhooks, admin only): where SABE sends events, each
 * with its state (enabled; disabled by a person; disabled by SABE after
 * failed deliveries, with why) and failures in a row. Selecting one shows
 * its newest deliveries with every attempt; "Send test" sends it a
 * webhook.test event. Never a secret: the API shows it only at creation. */
export default function Webhooks() {
  const cursor = useCursor();
  const [params, set] = useFilters();
  const selected = params.get("webhook") ?? "";
  const list = useQuery(webhooksQuery(cursor));
  const hook = list.data?.items.find((w) => w.id === selected);
  const columns = webhookColumns(selected, (id) => set({ webhook: id }));
  return (
    <Page name="webhooks" title="Webhooks" busy={list.isPending}>
      {list.isError ? <ErrorBox error={list.error} what="list the webhooks" /> : null}
      {list.data ? (
        <>
          <DataTable
            caption="Webhooks: name, URL, format, events, state, failures in a row, last success"
            testid="webhooks"
            data={list.data.items}
            columns={columns}
            rowId={(w) => w.id}
            rowAttrs={(w) => ({ "data-state": state(w), "data-selected": w.id === selected ? "true" : undefined })}
            empty={
              <>
                No webhook. Create one with <code>sabe webhooks create</code> or <code>POST /v1/webhooks</code>.
              </>
            }
          />
          <Pager next={list.data.next_cursor} />
        </>
      ) : null}
      {hook ? <Deliveries webhook={hook} /> : null}
    </Page>
  );
}

function webhookColumns(selected: string, select: (id: string) => void): ColumnDef<Webhook, any>[] {
  return [
    {
      id: "name",
      header: "Name",
      accessorFn: (w) => w.name,
      cell: ({ row }) => (
        <button
          type="button"
          className="link"
          aria-pressed={row.original.id === selected}
          onClick={() => select(row.original.id)}
          data-testid="select-webhook"
        >
          {row.original.name}
        </button>
      ),
    },
    { id: "url", header: "URL", accessorFn: (w) => w.url, cell: ({ getValue }) => <code className="wrap">{getValue()}</code> },
    { id: "format", header: "Format", accessorFn: (w) => w.format },
    {
      id: "events",
      header: "Events",
      accessorFn: (w) => w.events.join(", "),
      cell: ({ row }) => (
        <span className="small wrap">
          {row.original.events.join(", ")}
          {row.original.benchmark_ids.length > 0 ? (
            <div className="muted">
              {row.original.benchmark_ids.length} benchmark{row.original.benchmark_ids.length === 1 ? "" : "s"} only
            </div>
          ) : null}
        </span>
      ),
    },
    {
      id: "state",
      header: "State",
      accessorFn: (w) => state(w),
      meta: { cellAttrs: (w) => ({ "data-value": state(w) }) },
      cell: ({ row }) => {
        const w = row.original;
        const s = state(w);
        return (
          <>
            <span className={"badge " + (s === "enabled" ? "good" : s === "auto-disabled" ? "bad" : "muted")}>
              {s === "auto-disabled" ? "disabled by SABE" : s}
            </span>
            {w.disabled_reason ? <div className="small bad wrap">{w.disabled_reason}</div> : null}
            {w.disabled_at ? (
              <div className="small muted">
                since <Time at={w.disabled_at} />
              </div>
            ) : null}
          </>
        );
      },
    },
    {
      id: "failures",
      header: "Failures in a row",
      accessorFn: (w) => w.consecutive_failures,
      meta: { numeric: true, cellAttrs: (w) => ({ "data-value": String(w.consecutive_failures) }) },
      cell: ({ getValue }) => <span className={getValue() > 0 ? "warn" : ""}>{getValue()}</span>,
    },
    {
      id: "last_success_at",
      header: "Last success",
      accessorFn: (w) => w.last_success_at ?? "",
      cell: ({ row }) => (row.original.last_success_at ? <Time at={row.original.last_success_at} /> : <span className="muted">never</span>),
    },
    {
      id: "actions",
      header: "",
      cell: ({ row }) => <SendTest webhook={row.original} onSent={() => select(row.original.id)} />,
    },
  ];
}

/** SendTest sends a webhook.test event (POST /v1/webhooks/{id}/test),
 * admins only; the delivery then shows in the webhook's deliveries. */
function SendTest({ webhook, onSent }: { webhook: Webhook; onSent: () => void }) {
  const admin = useCan("admin");
  const qc = useQueryClient();
  const send = useMutation({
    mutationFn: () => data(api.POST("/v1/webhooks/{id}/test", { params: { path: { id: webhook.id } } })),
    onSuccess: () => {
      onSent();
      void qc.invalidateQueries({ queryKey: deliveriesQuery(webhook.id).queryKey });
    },
  });
  if (!admin) return null;
  return (
    <>
      <button
        type="button"
        disabled={send.isPending || !webhook.enabled}
        title={webhook.enabled ? "Send a webhook.test event" : "Enable the webhook to send a test"}
        onClick={() => send.mutate()}
        data-testid="send-test"
      >
        {send.isPending ? "Sending…" : "Send test"}
      </button>
      {send.isSuccess ? (
        <div className="small muted" role="status">
          test queued
        </div>
      ) : null}
      {send.isError ? <ErrorBox error={send.error} what="send the test event" /> : null}
    </>
  );
}

/** Deliveries is a webhook's newest deliveries, each with its attempts;
 * read again every few seconds while one is pending. */
function Deliveries({ webhook }: { webhook: Webhook }) {
  const list = useQuery({
    ...deliveriesQuery(webhook.id),
    refetchInterval: (q) => (q.state.data?.items.some((d) => d.status === "pending") ? 2000 : false),
  });
  return (
    <section aria-labelledby="deliveries-h" data-webhook-id={webhook.id} aria-busy={list.isPending}>
      <h2 id="deliveries-h">Recent deliveries to {webhook.name}</h2>
      {list.isError ? <ErrorBox error={list.error} what="list the deliveries" /> : null}
      {list.data ? (
        <DataTable
          caption={`The newest deliveries to ${webhook.name}, with every attempt`}
          testid="deliveries"
          data={list.data.items}
          columns={deliveryColumns}
          rowId={(d) => d.id}
          rowAttrs={(d) => ({ "data-status": d.status, "data-event-type": d.event_type })}
          sortable={false}
          empty="No delivery yet."
        />
      ) : null}
    </section>
  );
}

const deliveryTone: Record<Delivery["status"], string> = { pending: "", succeeded: "good", failed: "bad", cancelled: "muted" };

const deliveryColumns: ColumnDef<Delivery, any>[] = [
  { id: "created_at", header: "Created", cell: ({ row }) => <Time at={row.original.created_at} /> },
  {
    id: "event",
    header: "Event",
    cell: ({ row }) => (
      <>
        <code>{row.original.event_type}</code>
        <div className="small muted wrap">{row.original.event_id}</div>
        {row.original.redelivery_of ? <div className="small muted">redelivery</div> : null}
      </>
    ),
  },
  {
    id: "status",
    header: "Status",
    meta: { cellAttrs: (d) => ({ "data-value": d.status }) },
    cell: ({ row }) => {
      const d = row.original;
      return (
        <>
          <span className={"badge " + deliveryTone[d.status]}>{d.status}</span>
          {d.status === "pending" && d.next_attempt_at ? (
            <div className="small muted">
              next attempt <Time at={d.next_attempt_at} />
            </div>
          ) : null}
          {d.last_error && d.status !== "succeeded" ? <div className="small bad wrap">{d.last_error}</div> : null}
        </>
      );
    },
  },
  {
    id: "attempts",
    header: "Attempts",
    meta: { cellAttrs: (d) => ({ "data-value": String(d.attempts.length) }) },
    cell: ({ row }) =>
      row.original.attempts.length === 0 ? (
        <span className="muted">none yet</span>
      ) : (
        <ol className="attempts small">
          {row.original.attempts.map((a) => (
            <li key={a.attempt} data-attempt={a.attempt} data-status-code={a.status_code ?? ""}>
              <Time at={a.started_at} />: {a.status_code != null ? <span className={a.error ? "bad" : "good"}>HTTP {a.status_code}</span> : null}{" "}
              {ms(a.latency_ms)}
              {a.error ? <span className="bad"> · {a.error}</span> : null}
              {a.response_excerpt ? <div className="muted wrap">{a.response_excerpt}</div> : null}
            </li>
          ))}
        </ol>
      ),
  },
];
