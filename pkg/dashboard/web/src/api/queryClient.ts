import { QueryClient } from "@tanstack/react-query";
import { ApiError } from "./client";

/** queryClient is the dashboard's one TanStack Query cache: the routes'
 * loaders start a page's requests in it while the page's code downloads,
 * and the page's hooks then find them there (same keys, src/api/queries.ts). */
export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      // A 4xx will not mend by asking again; anything else gets one retry.
      retry: (failures, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && failures < 1,
      refetchOnWindowFocus: false,
    },
  },
});
