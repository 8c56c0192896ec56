import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import type { Schemas } from "../api/client";
import { tokensQuery } from "../api/queries";
import { DataTable } from "../components/DataTable";
import { ErrorBox } from "../components/ErrorBox";
import { Page } from "../components/Page";
import { Pager, useCursor } from "../components/Pager";
import { Time } from "../components/Time";

type Token = Schemas["Token"];

/** The API tokens (GET /v1/tokens, admin only): their names, prefixes,
 * scopes and lifetimes; never their secrets. Other tokens see the API's
 * 403 message. */
export default function Tokens() {
  const cursor = useCursor();
  const list = useQuery(tokensQuery(cursor));
  return (
    <Page name="tokens" title="API tokens" busy={list.isPending}>
      {list.isError ? <ErrorBox error={list.error} what="list the tokens" /> : null}
      {list.data ? (
        <>
          <DataTable
            caption="API tokens: name, prefix, scopes, created, expires, last used and revoked"
            testid="tokens"
            data={list.data.items}
            columns={columns}
            rowId={(t) => t.id}
            rowAttrs={(t) => ({ "data-state": state(t) })}
            empty="No token."
          />
          <Pager next={list.data.next_cursor} />
        </>
      ) : null}
    </Page>
  );
}

function state(t: Token): string {
  if (t.revoked_at) return "revoked";
  if (t.expires_at && new Date(t.expires_at).getTime() <= Date.now()) return "expired";
  return "active";
}

const columns: ColumnDef<Token, any>[] = [
  { id: "name", header: "Name", accessorFn: (t) => t.name },
  { id: "prefix", header: "Prefix", accessorFn: (t) => t.prefix, cell: ({ getValue }) => <code>{getValue()}…</code> },
  { id: "scopes", header: "Scopes", accessorFn: (t) => t.scopes.join(", ") },
  {
    id: "state",
    header: "State",
    accessorFn: (t) => state(t),
    cell: ({ getValue }) => {
      const s = getValue() as string;
      return <span className={"badge " + (s === "active" ? "good" : "muted")}>{s}</span>;
    },
  },
  { id: "created_at", header: "Created", accessorFn: (t) => t.created_at, cell: ({ row }) => <Time at={row.original.created_at} /> },
  {
    id: "expires_at",
    header: "Expires",
    accessorFn: (t) => t.expires_at ?? "",
    cell: ({ row }) => (row.original.expires_at ? <Time at={row.original.expires_at} /> : <span className="muted">never</span>),
  },
  {
    id: "last_used_at",
    header: "Last used",
    accessorFn: (t) => t.last_used_at ?? "",
    cell: ({ row }) => (row.original.last_used_at ? <Time at={row.original.last_used_at} /> : <span className="muted">never</span>),
  },
  {
    id: "revoked_at",
    header: "Revoked",
    accessorFn: (t) => t.revoked_at ?? "",
    cell: ({ row }) => (row.original.revoked_at ? <Time at={row.original.revoked_at} /> : <span className="muted">—</span>),
  },
];
