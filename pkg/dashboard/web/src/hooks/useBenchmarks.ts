import { useQuery } from "@tanstack/react-query";
import { benchmarksQuery } from "../api/queries";

/** useBenchmarks is the first page of benchmarks (GET /v1/benchmarks,
 * up to 200), for the overview's cards and the benchmark filters. */
export function useBenchmarks() {
  return useQuery(benchmarksQuery());
}
