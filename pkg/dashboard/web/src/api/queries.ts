// The query option factories of the pages' primary requests: one place for
// each request's key and call, used both by the page (useQuery) and by its
// route's loader (queryClient.prefetchQuery), so that the request a loader
// starts while the page's code downloads is the one the page then reads.
import { queryOptions } from "@tanstack/react-query";
import { api, data, type Schemas } from "./client";
import { apiTime } from "../components/FilterParams";

/** The first page of benchmarks (up to 200): the overview's cards and the
 * benchmark filters. */
export const benchmarksQuery = () =>
  queryOptions({
    queryKey: ["benchmarks", "first-page"],
    queryFn: () => data(api.GET("/v1/benchmarks", { params: { query: { limit: 200 } } })),
  });

/** A page of benchmarks (the schedules page). */
export const benchmarksPageQuery = (cursor?: string) =>
  queryOptions({
    queryKey: ["benchmarks", "page", cursor ?? null],
    queryFn: () => data(api.GET("/v1/benchmarks", { params: { query: { cursor, limit: 100 } } })),
  });

export const benchmarkQuery = (id: string) =>
  queryOptions({
    queryKey: ["benchmark", id],
    queryFn: () => data(api.GET("/v1/benchmarks/{id}", { params: { path: { id } } })),
  });

/** GET /v1/runs/{id}; its cache entry is what the run's event stream
 * keeps up to date (useRunEvents). */
export const runQuery = (id: string) =>
  queryOptions({
    queryKey: ["run", id] as const,
    queryFn: () => data(api.GET("/v1/runs/{id}", { params: { path: { id } } })),
  });

export const runRankingsQuery = (id: string) =>
  queryOptions({
    queryKey: ["run", id, "rankings"],
    queryFn: () => data(api.GET("/v1/runs/{id}/rankings", { params: { path: { id } } })),
  });

/** A page of a run's failed units (run detail). */
export const runFailuresQuery = (id: string, cursor?: string) =>
  queryOptions({
    queryKey: ["run", id, "results", "failed", cursor],
    queryFn: () => data(api.GET("/v1/runs/{id}/results", { params: { path: { id }, query: { status: "failed", cursor } } })),
  });

export type RunsFilter = {
  benchmark_id?: string;
  status?: Schemas["RunStatus"];
  trigger?: Schemas["RunTrigger"];
  cursor?: string;
};

/** runsFilter is the runs page's filter from its URL. */
export function runsFilter(params: URLSearchParams): RunsFilter {
  return {
    benchmark_id: params.get("benchmark_id") || undefined,
    status: (params.get("status") || undefined) as Schemas["RunStatus"] | undefined,
    trigger: (params.get("trigger") || undefined) as Schemas["RunTrigger"] | undefined,
    cursor: params.get("cursor") ?? undefined,
  };
}

export const runsQuery = (query: RunsFilter) =>
  queryOptions({
    queryKey: ["runs", query],
    queryFn: () => data(api.GET("/v1/runs", { params: { query } })),
  });

/** The runs queued or running (the overview's "in progress"). */
export const runsByStatusQuery = (status: "running" | "queued") =>
  queryOptions({
    queryKey: ["runs", { status }],
    queryFn: () => data(api.GET("/v1/runs", { params: { query: { status, limit: 200 } } })),
  });

/** A benchmark's latest leaderboard as the overview shows it (the API's
 * default period). */
export const overviewBoardQuery = (benchmarkId: string) =>
  queryOptions({
    queryKey: ["leaderboard", benchmarkId, "latest"],
    queryFn: () => data(api.GET("/v1/leaderboard", { params: { query: { benchmark_id: benchmarkId } } })),
  });

export type LeaderboardPeriod = "latest" | "week" | "month";

export const leaderboardQuery = (p: { id: string; period: LeaderboardPeriod; category?: string; at?: string | null }) => {
  const at = p.period === "latest" ? null : (p.at ?? null);
  return queryOptions({
    queryKey: ["leaderboard", p.id, p.period, p.category ?? null, at],
    queryFn: () =>
      data(
        api.GET("/v1/leaderboard", {
          params: { query: { benchmark_id: p.id, period: p.period, category: p.category, at: apiTime(at) } },
        }),
      ),
  });
};

/** The providers' first page (up to 200): the overview's held-back list. */
export const providersFirstPageQuery = () =>
  queryOptions({
    queryKey: ["providers", "first-page"],
    queryFn: () => data(api.GET("/v1/providers", { params: { query: { limit: 200 } } })),
  });

export const providersQuery = (cursor?: string) =>
  queryOptions({
    queryKey: ["providers", cursor ?? null],
    queryFn: () => data(api.GET("/v1/providers", { params: { query: { cursor, limit: 100 } } })),
  });

export const tokensQuery = (cursor?: string) =>
  queryOptions({
    queryKey: ["tokens", cursor ?? null],
    queryFn: () => data(api.GET("/v1/tokens", { params: { query: { cursor, limit: 100 } } })),
    retry: false,
  });

export type AuditFilter = {
  action?: string;
  resource_type?: string;
  resource_id?: string;
  token_id?: string;
  outcome?: Schemas["AuditOutcome"];
  from?: string;
  to?: string;
  cursor?: string;
  limit: number;
};

/** auditFilter is the audit page's filter from its URL. */
export function auditFilter(params: URLSearchParams): AuditFilter {
  const get = (k: string) => params.get(k) || undefined;
  const outcome = params.get("outcome");
  return {
    action: get("action"),
    resource_type: get("resource_type"),
    resource_id: get("resource_id"),
    token_id: get("token_id"),
    outcome: outcome === "success" || outcome === "denied" ? (outcome as Schemas["AuditOutcome"]) : undefined,
    from: apiTime(params.get("from")),
    to: apiTime(params.get("to")),
    cursor: params.get("cursor") ?? undefined,
    limit: 100,
  };
}

export const auditQuery = (query: AuditFilter) =>
  queryOptions({
    queryKey: ["audit", query],
    queryFn: () => data(api.GET("/v1/audit", { params: { query } })),
    retry: false,
  });

export const questionQuery = (questionId: string) =>
  queryOptions({
    queryKey: ["question", questionId],
    queryFn: () => data(api.GET("/v1/questions/{id}", { params: { path: { id: questionId } } })),
    retry: false,
  });

// Pages of results the question drill-down reads at most; each is bounded
// by the server (4 MiB).
export const maxQuestionPages = 20;

/** Every execution of one question in a run, page after page. */
export const questionResultsQuery = (id: string, questionId: string) =>
  queryOptions({
    queryKey: ["run", id, "results", "question", questionId],
    queryFn: async () => {
      const items: Schemas["Execution"][] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await data(
          api.GET("/v1/runs/{id}/results", {
            params: { path: { id }, query: { question_id: questionId, limit: 200, cursor } },
          }),
        );
        // The server filters by question; keep only this question's all the same.
        items.push(...page.items.filter((e) => e.question_id === questionId));
        cursor = page.next_cursor ?? undefined;
        pages++;
      } while (cursor && pages < maxQuestionPages);
      return { items, truncated: !!cursor };
    },
  });

// Trends and Compare.

export type TrendsMetric = Schemas["TimeseriesMetric"];

export const timeseriesQuery = (p: { id: string; metric: TrendsMetric; bucket: "day" | "week" | "month"; modelId?: string }) =>
  queryOptions({
    queryKey: ["timeseries", p.id, p.metric, p.bucket, p.modelId ?? null],
    queryFn: () =>
      data(
        api.GET("/v1/analytics/timeseries", {
          params: { query: { benchmark_id: p.id, metric: p.metric, bucket: p.bucket, model_id: p.modelId } },
        }),
      ),
  });

/** The trends page's week-over-week or month-over-month comparison. */
export const comparePeriodQuery = (id: string, period: "wow" | "mom") =>
  queryOptions({
    queryKey: ["compare", id, period],
    queryFn: () => data(api.GET("/v1/analytics/compare", { params: { query: { benchmark_id: id, period } } })),
    retry: false,
  });

export type CompareMode = "wow" | "mom" | "runs";

/** The compare page's comparison (its key differs from the trends page's:
 * it carries the mode and both run ids). */
export const compareQuery = (benchmarkId: string, mode: CompareMode, current: string, previous: string) =>
  queryOptions({
    queryKey: ["compare", benchmarkId, mode, current, previous],
    queryFn: () =>
      data(
        api.GET("/v1/analytics/compare", {
          params: {
            query:
              mode === "runs"
                ? { benchmark_id: benchmarkId, current_run_id: current, previous_run_id: previous }
                : { benchmark_id: benchmarkId, period: mode },
          },
        }),
      ),
    retry: false,
  });

/** The finished runs of a benchmark that the compare page can pick from. */
export const finishedRunsQuery = (benchmarkId: string) =>
  queryOptions({
    queryKey: ["runs", "finished", benchmarkId],
    queryFn: async () => {
      const [done, partial] = await Promise.all(
        (["completed", "partial"] as const).map((status) =>
          data(api.GET("/v1/runs", { params: { query: { benchmark_id: benchmarkId, status, limit: 100 } } })),
        ),
      );
      return [...(done?.items ?? []), ...(partial?.items ?? [])].sort((a, b) => b.created_at.localeCompare(a.created_at));
    },
  });

export type AlertsFilter = {
  benchmark_id?: string;
  run_id?: string;
  cursor?: string;
  limit: number;
};

/** alertsFilter is the alerts page's filter from its URL. */
export function alertsFilter(params: URLSearchParams): AlertsFilter {
  return {
    benchmark_id: params.get("benchmark_id") || undefined,
    cursor: params.get("cursor") ?? undefined,
    limit: 100,
  };
}

/** A page of regression alerts, newest first (GET /v1/alerts). */
export const alertsQuery = (query: AlertsFilter) =>
  queryOptions({
    queryKey: ["alerts", query],
    queryFn: () => data(api.GET("/v1/alerts", { params: { query } })),
  });

/** The alerts a run raised (run detail); a run raises at most one per
 * model and metric, so one page of 200 holds them all. */
export const runAlertsQuery = (runId: string) => alertsQuery({ run_id: runId, limit: 200 });

export const webhooksQuery = (cursor?: string) =>
  queryOptions({
    queryKey: ["webhooks", cursor ?? null],
    queryFn: () => data(api.GET("/v1/webhooks", { params: { query: { cursor, limit: 100 } } })),
    retry: false,
  });

/** A webhook's newest deliveries with their attempts (the webhooks page). */
export const deliveriesQuery = (webhookId: string) =>
  queryOptions({
    queryKey: ["webhook", webhookId, "deliveries"],
    queryFn: () => data(api.GET("/v1/webhooks/{id}/deliveries", { params: { path: { id: webhookId }, query: { limit: 20 } } })),
    retry: false,
  });
