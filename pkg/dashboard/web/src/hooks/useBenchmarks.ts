import { useQuery } from "@tanstack/react-query";
import { api, data } from "../api/client";

/** useBenchmarks is the first page of benchmarks (GET /v1/benchmarks,
 * up to 200), for the overview's cards and the benchmark filters. */
export function useBenchmarks() {
  return useQuery({
    queryKey: ["benchmarks", "first-page"],
    queryFn: () => data(api.GET("/v1/benchmarks", { params: { query: { limit: 200 } } })),
  });
}
