// How figures are written, everywhere in the dashboard. Cells that show a
// figure also carry the API's raw value in data-value, so the browser
// tests can check the page against the API.

const dash = "—";

/** pct writes a 0..1 fraction as a percentage with one decimal: 0.8123 → "81.2%". */
export function pct(v: number | null | undefined, digits = 1): string {
  return v == null || Number.isNaN(v) ? dash : (v * 100).toFixed(digits) + "%";
}

/** signedPct writes a difference of fractions in percentage points: -0.146 → "−14.6 pp". */
export function signedPct(v: number | null | undefined, digits = 1): string {
  if (v == null || Number.isNaN(v)) return dash;
  const s = (Math.abs(v) * 100).toFixed(digits);
  return (v < 0 ? "−" : v > 0 ? "+" : "±") + s + " pp";
}

/** ms writes a duration in milliseconds: 1234.5 → "1,235 ms", and seconds past a minute. */
export function ms(v: number | null | undefined): string {
  if (v == null || Number.isNaN(v)) return dash;
  if (v >= 60_000) return (v / 1000).toLocaleString(undefined, { maximumFractionDigits: 0 }) + " s";
  return Math.round(v).toLocaleString() + " ms";
}

/** usd writes dollars with enough digits for fractions of a cent: 0.01234 → "$0.0123". */
export function usd(v: number | null | undefined): string {
  if (v == null || Number.isNaN(v)) return dash;
  const abs = Math.abs(v);
  const digits = abs === 0 ? 2 : abs < 0.01 ? 4 : abs < 100 ? 2 : 0;
  return "$" + v.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** int writes a count with thousands separators. */
export function int(v: number | null | undefined): string {
  return v == null || Number.isNaN(v) ? dash : Math.round(v).toLocaleString();
}

/** num writes a plain figure with up to `digits` decimals. */
export function num(v: number | null | undefined, digits = 2): string {
  return v == null || Number.isNaN(v) ? dash : v.toLocaleString(undefined, { maximumFractionDigits: digits });
}
