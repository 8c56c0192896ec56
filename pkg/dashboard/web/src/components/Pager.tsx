import { Link, useLocation, useSearchParams } from "react-router";

/** Pager pages a list with the API's cursors, kept in the URL (?cursor=)
 * so that every page can be shared. */
export function Pager({ next }: { next?: string | null }) {
  const [params] = useSearchParams();
  const loc = useLocation();
  const at = params.get("cursor");
  const withCursor = (c: string | null) => {
    const p = new URLSearchParams(params);
    if (c) p.set("cursor", c);
    else p.delete("cursor");
    const q = p.toString();
    return loc.pathname + (q ? "?" + q : "");
  };
  if (!at && !next) return null;
  return (
    <nav className="pager" aria-label="Pages">
      {at ? <Link to={withCursor(null)}>First page</Link> : null}
      {next ? (
        <Link to={withCursor(next)} rel="next">
          Next page
        </Link>
      ) : null}
    </nav>
  );
}

/** cursorParam is the page's ?cursor=, for the API call. */
export function useCursor(): string | undefined {
  const [params] = useSearchParams();
  return params.get("cursor") ?? undefined;
}
