import type { ColumnDef } from "@tanstack/react-table";

/** figure is a table column of one figure: right-aligned, sortable by
 * value, written with `fmt`, and carrying the API's raw number in
 * data-value (empty when the API gave none), on the cell and on its text,
 * for the browser tests. */
export function figure<T>(
  id: string,
  header: string,
  get: (row: T) => number | null | undefined,
  fmt: (v: number | null | undefined) => string,
): ColumnDef<T, any> {
  return {
    id,
    header,
    accessorFn: (row) => get(row) ?? null,
    meta: {
      numeric: true,
      cellAttrs: (row) => {
        const v = get(row);
        return { "data-value": v == null ? "" : String(v) };
      },
    },
    cell: ({ row }) => {
      const v = get(row.original);
      return <span data-value={v == null ? "" : String(v)}>{fmt(v)}</span>;
    },
  };
}

/** interval is the column of a 95% interval: its bounds in data-low and
 * data-high, on the cell and on its text. */
export function interval<T>(
  id: string,
  header: string,
  get: (row: T) => [number, number],
  fmt: (v: number) => string,
): ColumnDef<T, any> {
  const attrs = (row: T) => {
    const [lo, hi] = get(row);
    return { "data-low": String(lo), "data-high": String(hi) };
  };
  return {
    id,
    header,
    accessorFn: (row) => get(row)[0],
    meta: { numeric: true, cellAttrs: attrs },
    cell: ({ row }) => {
      const [lo, hi] = get(row.original);
      return (
        <span {...attrs(row.original)}>
          {fmt(lo)} – {fmt(hi)}
        </span>
      );
    },
  };
}
