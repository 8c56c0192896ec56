// The dashboard's only way to the server: the public JSON API under /v1,
// typed from the OpenAPI document (schema.d.ts is generated from
// ../../httpapi/openapi.yaml by `npm run generate`), so the dashboard uses
// no route a client could not.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

/** An API error as the server reports it: its status, code, message and
 * (for bad input) the field it names. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

// pendingPath is where the router is taking the browser, when a
// navigation is under way (see trackNavigation).
let pendingPath: () => string | undefined = () => undefined;

/** trackNavigation tells loginURL where a navigation under way is going:
 * a page's requests start with its code (the router's loaders), before the
 * address bar changes, so a 401 answered to them must bring the user back
 * to the page they asked for, not the one they were leaving. */
export function trackNavigation(f: () => string | undefined) {
  pendingPath = f;
}

/** loginURL is the login form that brings the browser back to where it
 * is (or is going) once the user has logged in again. */
export function loginURL(): string {
  const here = pendingPath() ?? window.location.pathname + window.location.search + window.location.hash;
  return "/login?next=" + encodeURIComponent(here);
}

// A session that expired (401) sends the browser to the login form, which
// brings it back here afterwards.
const sessionExpiry: Middleware = {
  onResponse({ response }) {
    if (response.status === 401) {
      window.location.assign(loginURL());
    }
    return undefined;
  },
};

// The dashboard reads JSON only: media types other answers have (a run's
// CSV export) stay out of the response types.
export const api = createClient<paths, "application/json">({
  baseUrl: "",
  credentials: "same-origin",
  headers: { Accept: "application/json" },
});
api.use(sessionExpiry);

type ErrorBody = { error?: { code?: string; message?: string; field?: string } };

/** data returns a call's body, or throws the ApiError it answered with, so
 * that TanStack Query shows the server's message. */
export async function data<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let res;
  try {
    res = await call;
  } catch (e) {
    throw new ApiError(0, "network", "The server could not be reached: " + (e instanceof Error ? e.message : String(e)));
  }
  if (res.error !== undefined || !res.response.ok) {
    const body = (res.error ?? {}) as ErrorBody;
    const e = body.error;
    throw new ApiError(
      res.response.status,
      e?.code ?? "http_" + res.response.status,
      e?.message ?? `${res.response.status} ${res.response.statusText}`,
      e?.field,
    );
  }
  return res.data as T;
}
