import { useMutation, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { api, data, type Schemas } from "../api/client";
import { providersQuery } from "../api/queries";
import { useCan } from "../api/session";
import { DataTable } from "../components/DataTable";
import { ErrorBox } from "../components/ErrorBox";
import { Page } from "../components/Page";
import { Pager, useCursor } from "../components/Pager";
import { Time } from "../components/Time";
import { int, ms } from "../format";

type Provider = Schemas["Provider"];

const stateText: Record<Schemas["ProviderCircuit"]["state"], string> = {
  closed: "closed (calls go through)",
  open: "open (calls held back)",
  half_open: "half open (trying again)",
  quota_paused: "paused for quota",
};

/** The providers (GET /v1/providers): where they are, their limits and
 * their circuit breaker's state, with a live check for write tokens. */
export default function Providers() {
  const cursor = useCursor();
  const canWrite = useCan("write");
  const list = useQuery(providersQuery(cursor));
  const columns = providerColumns(canWrite);

  return (
    <Page name="providers" title="Providers" busy={list.isPending}>
      {list.isError ? <ErrorBox error={list.error} what="list the providers" /> : null}
      {list.data ? (
        <>
          <DataTable
            caption="Providers: kind, base URL, limits and circuit breaker state"
            testid="providers"
            data={list.data.items}
            columns={columns}
            rowId={(p) => p.id}
            rowAttrs={(p) => ({ "data-circuit": p.circuit?.state })}
            empty="No provider yet."
          />
          <Pager next={list.data.next_cursor} />
        </>
      ) : null}
    </Page>
  );
}

function providerColumns(canWrite: boolean): ColumnDef<Provider, any>[] {
  const cols: ColumnDef<Provider, any>[] = [
    { id: "name", header: "Name", accessorFn: (p) => p.name },
    { id: "kind", header: "Kind", accessorFn: (p) => p.kind },
    {
      id: "base_url",
      header: "Base URL",
      accessorFn: (p) => p.base_url,
      cell: ({ row }) => (
        <>
          <code className="wrap">{row.original.base_url}</code>
          {!row.original.has_api_key ? <div className="small warn">no API key</div> : null}
        </>
      ),
    },
    {
      id: "limits",
      header: "Limits",
      enableSorting: false,
      cell: ({ row }) => <Limits l={row.original.limits} />,
    },
    {
      id: "circuit",
      header: "Circuit",
      accessorFn: (p) => p.circuit?.state ?? "",
      cell: ({ row }) => <Circuit c={row.original.circuit} />,
    },
  ];
  if (canWrite) {
    cols.push({ id: "test", header: "Check", enableSorting: false, cell: ({ row }) => <TestButton p={row.original} /> });
  }
  return cols;
}

function Limits({ l }: { l: Schemas["ProviderLimits"] }) {
  const parts: string[] = [];
  if (l.requests_per_minute) parts.push(`${int(l.requests_per_minute)} requests/min`);
  if (l.tokens_per_minute) parts.push(`${int(l.tokens_per_minute)} tokens/min`);
  if (l.max_concurrency) parts.push(`${int(l.max_concurrency)} at once`);
  if (l.quota_pause_seconds) parts.push(`quota pause ${int(l.quota_pause_seconds)} s`);
  if (!parts.length) return <span className="muted">none</span>;
  return (
    <ul className="plain">
      {parts.map((p) => (
        <li key={p}>{p}</li>
      ))}
    </ul>
  );
}

function Circuit({ c: given }: { c?: Schemas["ProviderCircuit"] }) {
  const c = given ?? { state: "" as Schemas["ProviderCircuit"]["state"] };
  if (!stateText[c.state]) return <span className="muted">unknown</span>;
  const tone = c.state === "closed" ? "good" : c.state === "half_open" ? "warn" : "bad";
  return (
    <>
      <span className={"badge " + tone} data-value={c.state}>
        {stateText[c.state]}
      </span>
      {c.since ? (
        <div className="small muted">
          since <Time at={c.since} />
        </div>
      ) : null}
      {c.until ? (
        <div className="small muted">
          until <Time at={c.until} />
        </div>
      ) : null}
      {c.last_error ? <div className="small bad wrap">{c.last_error}</div> : null}
    </>
  );
}

/** TestButton checks a provider live (POST /v1/providers/{id}/test) and
 * shows what it answered. */
function TestButton({ p }: { p: Provider }) {
  const test = useMutation({
    mutationFn: () => data(api.POST("/v1/providers/{id}/test", { params: { path: { id: p.id } }, body: {} })),
  });
  const r = test.data;
  return (
    <div className="provider-test" aria-live="polite">
      <button type="button" onClick={() => test.mutate()} disabled={test.isPending}>
        {test.isPending ? "Testing…" : "Test"}
      </button>
      {test.isError ? <ErrorBox error={test.error} what={`test ${p.name}`} /> : null}
      {r ? (
        <div className={"small " + (r.ok ? "good" : "bad")} data-testid="provider-test-result" data-ok={String(r.ok)}>
          {r.ok ? "OK" : `Failed at ${r.stage}`}
          {r.status_code ? ` (HTTP ${r.status_code})` : ""} in {ms(r.latency_ms)}
          {r.message ? <div className="wrap">{r.message}</div> : null}
        </div>
      ) : null}
    </div>
  );
}
