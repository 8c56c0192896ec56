import type { ComponentType } from "react";
import type { FetchQueryOptions } from "@tanstack/react-query";
import { createBrowserRouter, type LoaderFunctionArgs } from "react-router";
import { trackNavigation } from "./api/client";
import { queryClient as qc } from "./api/queryClient";
import * as q from "./api/queries";
import { sessionQuery } from "./api/session";
import { Layout } from "./components/Layout";
import { NotFound } from "./pages/NotFound";

// Each page is its own chunk (`lazy`), loaded when first visited, so the
// first load of any page fetches the shell and that page only. Its route's
// loader starts the page's requests at the same time, into the query cache
// the page then reads (same keys: src/api/queries.ts); it never awaits
// them, so a slow answer does not hold the navigation: the page shows
// itself busy until its data is there, as it would without a loader.

type Page = { default: ComponentType };
const page = (load: () => Promise<Page>) => async () => ({ Component: (await load()).default });

// A prefetch that fails is the page's to show (its useQuery asks again).
function prefetch(...opts: object[]) {
  for (const o of opts) void qc.prefetchQuery(o as FetchQueryOptions);
}
// after runs `next` with an answer once it is there (dependent requests:
// the overview's leaderboards, a run's rankings and failed units).
function after<T>(answer: Promise<T>, next: (d: T) => void) {
  answer.then(next, () => undefined);
}

// The chart pages' ECharts (ChartCanvas and its chunk) is fetched when the
// chart renders, not by the loaders: measured with the bench's dashboard
// phase, fetching it alongside the page's code made the browser parse it
// during the first render and slowed the chart pages' first load.

const search = (request: Request) => new URL(request.url).searchParams;
const leaderboardPeriods = ["latest", "week", "month"] as const;
const trendMetrics = ["score", "latency_ms", "latency_p95_ms", "ttft_ms", "tokens_per_s", "cost_usd"] as const;
const trendBuckets = ["day", "week", "month"] as const;
function oneOf<T extends string>(v: string | null, allowed: readonly T[], fallback: T): T {
  return allowed.includes(v as T) ? (v as T) : fallback;
}

const loaders = {
  overview() {
    prefetch(q.runsByStatusQuery("running"), q.runsByStatusQuery("queued"), q.providersFirstPageQuery());
    after(qc.ensureQueryData(q.benchmarksQuery()), (b) =>
      prefetch(...b.items.filter((x) => !x.archived_at).map((x) => q.overviewBoardQuery(x.id))),
    );
    return null;
  },
  leaderboard({ params, request }: LoaderFunctionArgs) {
    const id = params.id ?? "";
    const p = search(request);
    const period = oneOf(p.get("period"), leaderboardPeriods, "latest");
    prefetch(q.benchmarkQuery(id), q.leaderboardQuery({ id, period, category: p.get("category") || undefined, at: p.get("at") }));
    after(qc.ensureQueryData(q.leaderboardQuery({ id, period: "latest" })), (d) => {
      if (d.run_id) void qc.prefetchQuery({ ...q.runRankingsQuery(d.run_id), staleTime: 5 * 60_000 });
    });
    return null;
  },
  trends({ params, request }: LoaderFunctionArgs) {
    const id = params.id ?? "";
    const p = search(request);
    prefetch(
      q.benchmarkQuery(id),
      q.timeseriesQuery({
        id,
        metric: oneOf(p.get("metric"), trendMetrics, "score"),
        bucket: oneOf(p.get("bucket"), trendBuckets, "week"),
        modelId: p.get("model_id") || undefined,
      }),
      q.comparePeriodQuery(id, "wow"),
      q.comparePeriodQuery(id, "mom"),
    );
    return null;
  },
  runs({ request }: LoaderFunctionArgs) {
    prefetch(q.runsQuery(q.runsFilter(search(request))), q.benchmarksQuery());
    return null;
  },
  runDetail({ params, request }: LoaderFunctionArgs) {
    const id = params.id ?? "";
    const cursor = search(request).get("cursor") ?? undefined;
    after(qc.ensureQueryData(q.runQuery(id)), (r) => {
      if (r.status !== "queued" && r.status !== "running") prefetch(q.runRankingsQuery(id));
      if (r.progress.failed > 0) prefetch(q.runFailuresQuery(id, cursor));
      if (r.status !== "queued" && r.status !== "running") prefetch(q.runAlertsQuery(id));
    });
    return null;
  },
  question({ params }: LoaderFunctionArgs) {
    const id = params.id ?? "";
    const questionId = params.questionId ?? "";
    prefetch(q.runQuery(id), q.questionResultsQuery(id, questionId), q.questionQuery(questionId));
    return null;
  },
  compare({ request }: LoaderFunctionArgs) {
    const p = search(request);
    const benchmarkId = p.get("benchmark_id") || "";
    const current = p.get("current_run_id") || "";
    const previous = p.get("previous_run_id") || "";
    const mode: q.CompareMode = current || previous || p.get("mode") === "runs" ? "runs" : p.get("period") === "mom" ? "mom" : "wow";
    prefetch(q.benchmarksQuery());
    if (benchmarkId && mode === "runs") prefetch(q.finishedRunsQuery(benchmarkId));
    if (benchmarkId && (mode !== "runs" || (current && previous))) prefetch(q.compareQuery(benchmarkId, mode, current, previous));
    return null;
  },
  schedules({ request }: LoaderFunctionArgs) {
    prefetch(q.benchmarksPageQuery(search(request).get("cursor") ?? undefined));
    return null;
  },
  providers({ request }: LoaderFunctionArgs) {
    prefetch(q.providersQuery(search(request).get("cursor") ?? undefined));
    return null;
  },
  alerts({ request }: LoaderFunctionArgs) {
    prefetch(q.alertsQuery(q.alertsFilter(search(request))), q.benchmarksQuery());
    return null;
  },
  webhooks({ request }: LoaderFunctionArgs) {
    const p = search(request);
    prefetch(q.webhooksQuery(p.get("cursor") ?? undefined));
    const selected = p.get("webhook");
    if (selected) prefetch(q.deliveriesQuery(selected));
    return null;
  },
  tokens({ request }: LoaderFunctionArgs) {
    prefetch(q.tokensQuery(search(request).get("cursor") ?? undefined));
    return null;
  },
  audit({ request }: LoaderFunctionArgs) {
    prefetch(q.auditQuery(q.auditFilter(search(request))));
    return null;
  },
};

// A page's loader runs again only when its address changes (not after a
// form's action: the dashboard has none).
const noRevalidate = ({ currentUrl, nextUrl }: { currentUrl: URL; nextUrl: URL }) => currentUrl.href !== nextUrl.href;

/** The dashboard's pages; every one has an address that can be shared. */
export const router = createBrowserRouter([
  {
    element: <Layout />,
    // Who is logged in, for the navigation: asked with the page's own data.
    loader: () => {
      void qc.prefetchQuery(sessionQuery());
      return null;
    },
    shouldRevalidate: () => false,
    hydrateFallbackElement: <main id="main" aria-busy="true" />,
    children: [
      { path: "/", loader: loaders.overview, lazy: page(() => import("./pages/Overview")) },
      { path: "/benchmarks/:id/leaderboard", loader: loaders.leaderboard, lazy: page(() => import("./pages/Leaderboard")) },
      { path: "/benchmarks/:id/trends", loader: loaders.trends, lazy: page(() => import("./pages/Trends")) },
      { path: "/runs", loader: loaders.runs, lazy: page(() => import("./pages/Runs")) },
      { path: "/runs/:id", loader: loaders.runDetail, lazy: page(() => import("./pages/RunDetail")) },
      { path: "/runs/:id/questions/:questionId", loader: loaders.question, lazy: page(() => import("./pages/Question")) },
      { path: "/compare", loader: loaders.compare, lazy: page(() => import("./pages/Compare")) },
      { path: "/schedules", loader: loaders.schedules, lazy: page(() => import("./pages/Schedules")) },
      { path: "/providers", loader: loaders.providers, lazy: page(() => import("./pages/Providers")) },
      { path: "/alerts", loader: loaders.alerts, lazy: page(() => import("./pages/Alerts")) },
      { path: "/admin/webhooks", loader: loaders.webhooks, lazy: page(() => import("./pages/Webhooks")) },
      { path: "/admin/tokens", loader: loaders.tokens, lazy: page(() => import("./pages/Tokens")) },
      { path: "/admin/audit", loader: loaders.audit, lazy: page(() => import("./pages/Audit")) },
      { path: "*", element: <NotFound /> },
    ].map((r) => ("loader" in r ? { ...r, shouldRevalidate: noRevalidate } : r)),
  },
]);

// A 401 to a request a loader started sends the browser to log in and
// back to the page it was going to (see trackNavigation).
trackNavigation(() => {
  const to = router.state.navigation.location;
  return to ? to.pathname + to.search + to.hash : undefined;
});
