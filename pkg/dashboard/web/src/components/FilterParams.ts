import { useCallback } from "react";
import { useSearchParams } from "react-router";

/** useFilters is a page's filters, kept in the URL's query so that the
 * page can be shared as it is. `set` changes some of them (an empty value
 * removes one) and goes back to the first page of the list. */
export function useFilters(): [URLSearchParams, (changes: Record<string, string | null | undefined>) => void] {
  const [params, setParams] = useSearchParams();
  const set = useCallback(
    (changes: Record<string, string | null | undefined>) => {
      setParams(
        (prev) => {
          const p = new URLSearchParams(prev);
          for (const [k, v] of Object.entries(changes)) {
            if (v) p.set(k, v);
            else p.delete(k);
          }
          p.delete("cursor");
          return p;
        },
        { replace: false },
      );
    },
    [setParams],
  );
  return [params, set];
}

/** oneOf returns v when it is one of the allowed values, else the default. */
export function oneOf<T extends string>(v: string | null, allowed: readonly T[], fallback: T): T {
  return allowed.includes(v as T) ? (v as T) : fallback;
}

/** apiTime turns a page's ?at= (a date from a date picker, or a full RFC
 * 3339 time from a shared link) into the API's RFC 3339 time. */
export function apiTime(at: string | null): string | undefined {
  if (!at) return undefined;
  return /^\d{4}-\d{2}-\d{2}$/.test(at) ? at + "T00:00:00Z" : at;
}
