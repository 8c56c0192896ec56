import { useQuery } from "@tanstack/react-query";
import { api, data } from "./client";

/** sessionQuery is GET /v1/session's query (the layout's, and the root
 * route's loader's, which asks before any page's code is there). */
export const sessionQuery = () => ({
  queryKey: ["session"],
  queryFn: () => data(api.GET("/v1/session")),
  staleTime: 60_000,
});

export type Scope = "read" | "write" | "admin";

/** useSession is who is logged in (GET /v1/session): the token's name and
 * scopes, which decide the actions and admin pages the dashboard shows
 * (the server checks them again on every request). */
export function useSession() {
  return useQuery(sessionQuery());
}

/** useCan reports whether the session's token has scope (admin implies
 * write, write implies read). */
export function useCan(scope: Scope): boolean {
  const s = useSession();
  const scopes = (s.data?.scopes ?? []) as string[];
  if (scope === "read") return scopes.length > 0;
  if (scope === "write") return scopes.includes("write") || scopes.includes("admin");
  return scopes.includes("admin");
}
