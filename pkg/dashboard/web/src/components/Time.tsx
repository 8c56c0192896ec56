/** Time shows an instant in the browser's time zone, with UTC on hover. */
export function Time({ at, dateOnly = false }: { at?: string | null; dateOnly?: boolean }) {
  if (!at) return <span className="muted">—</span>;
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return <span>{at}</span>;
  const local = dateOnly
    ? d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" })
    : d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  const utc = d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  return (
    <time dateTime={d.toISOString()} title={utc}>
      {local}
    </time>
  );
}
