import { useState, type ReactNode } from "react";
import {
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  useReactTable,
  type ColumnDef,
  type SortingState,
} from "@tanstack/react-table";

// Column metadata the dashboard's tables read: numeric columns align
// right, and `col` names the cells (data-col, by default the column id)
// for the browser tests.
declare module "@tanstack/react-table" {
  interface ColumnMeta<TData, TValue> {
    numeric?: boolean;
    col?: string;
    /** Attributes of each cell (td) of the column, such as data-value. */
    cellAttrs?: (row: TData) => Record<string, string | undefined>;
  }
}

/** The rows a table draws at first: a few hundred rows of links, figures
 * and badges take the browser a noticeable while to lay out on a slow
 * machine, and nobody reads them all at once. */
export const defaultRowLimit = 100;

/** DataTable is every table of the dashboard (TanStack Table): a caption
 * for screen readers, headers that sort by click or keyboard, and rows
 * marked with data-row-id. Sorting is client-side over the rows given;
 * lists that page through the API sort what the API sorted. Past `limit`
 * rows (100; 0 for no limit) it draws the first ones, in the current
 * sort, and a "Show all N" button under the table. */
export function DataTable<T>(props: {
  caption: string;
  data: T[];
  columns: ColumnDef<T, any>[];
  rowId: (row: T) => string;
  testid?: string;
  empty?: ReactNode;
  initialSort?: SortingState;
  sortable?: boolean;
  rowAttrs?: (row: T) => Record<string, string | undefined>;
  limit?: number;
}) {
  const { caption, data, columns, rowId, testid, empty, initialSort = [], sortable = true, rowAttrs, limit = defaultRowLimit } = props;
  const [sorting, setSorting] = useState<SortingState>(initialSort);
  const [all, setAll] = useState(false);
  const table = useReactTable({
    data,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getRowId: (row) => rowId(row),
    enableSorting: sortable,
  });
  const rows = table.getRowModel().rows;
  const cut = !all && limit > 0 && rows.length > limit;
  const shown = cut ? rows.slice(0, limit) : rows;
  // A table wider than a phone scrolls sideways; the keyboard can scroll
  // it too once it is focused (axe: scrollable-region-focusable).
  return (
    <>
      <div className="table-wrap" tabIndex={0} role="region" aria-label={caption}>
        <table data-testid={testid} data-rows={rows.length} data-shown={shown.length}>
          <caption className="sr-only">{caption}</caption>
          <thead>
            {table.getHeaderGroups().map((hg) => (
              <tr key={hg.id}>
                {hg.headers.map((h) => {
                  const meta = h.column.columnDef.meta;
                  const sorted = h.column.getIsSorted();
                  const label = h.isPlaceholder ? null : flexRender(h.column.columnDef.header, h.getContext());
                  return (
                    <th
                      key={h.id}
                      scope="col"
                      className={meta?.numeric ? "num" : undefined}
                      aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : undefined}
                    >
                      {h.column.getCanSort() ? (
                        <button type="button" className="sort" onClick={h.column.getToggleSortingHandler()}>
                          {label}
                          <span aria-hidden="true">{sorted === "asc" ? " ▲" : sorted === "desc" ? " ▼" : ""}</span>
                        </button>
                      ) : (
                        label
                      )}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {rows.length === 0 ? (
              <tr>
                <td colSpan={columns.length} className="muted">
                  {empty ?? "Nothing here yet."}
                </td>
              </tr>
            ) : (
              shown.map((row) => (
                <tr key={row.id} data-row-id={row.id} {...(rowAttrs ? rowAttrs(row.original) : {})}>
                  {row.getVisibleCells().map((cell) => {
                    const meta = cell.column.columnDef.meta;
                    return (
                      <td
                        key={cell.id}
                        className={meta?.numeric ? "num" : undefined}
                        data-col={meta?.col ?? cell.column.id}
                        {...meta?.cellAttrs?.(row.original)}
                      >
                        {flexRender(cell.column.columnDef.cell, cell.getContext())}
                      </td>
                    );
                  })}
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      {cut ? (
        <p className="table-more">
          <span className="muted">
            The first {limit} of {rows.length} rows.{" "}
          </span>
          <button type="button" onClick={() => setAll(true)}>
            Show all {rows.length}
          </button>
        </p>
      ) : null}
    </>
  );
}
