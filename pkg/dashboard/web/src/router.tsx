import { lazy, Suspense, type ComponentType } from "react";
import { createBrowserRouter } from "react-router";
import { Layout } from "./components/Layout";
import { NotFound } from "./pages/NotFound";

// Each page is its own chunk, loaded when first visited, so the first load
// of any page fetches the shell and that page only.
function page(load: () => Promise<{ default: ComponentType }>) {
  const C = lazy(load);
  return (
    <Suspense fallback={<main id="main" aria-busy="true" />}>
      <C />
    </Suspense>
  );
}

/** The dashboard's pages; every one has an address that can be shared. */
export const router = createBrowserRouter([
  {
    element: <Layout />,
    children: [
      { path: "/", element: page(() => import("./pages/Overview")) },
      { path: "/benchmarks/:id/leaderboard", element: page(() => import("./pages/Leaderboard")) },
      { path: "/benchmarks/:id/trends", element: page(() => import("./pages/Trends")) },
      { path: "/runs", element: page(() => import("./pages/Runs")) },
      { path: "/runs/:id", element: page(() => import("./pages/RunDetail")) },
      { path: "/runs/:id/questions/:questionId", element: page(() => import("./pages/Question")) },
      { path: "/compare", element: page(() => import("./pages/Compare")) },
      { path: "/schedules", element: page(() => import("./pages/Schedules")) },
      { path: "/providers", element: page(() => import("./pages/Providers")) },
      { path: "/admin/tokens", element: page(() => import("./pages/Tokens")) },
      { path: "/admin/audit", element: page(() => import("./pages/Audit")) },
      { path: "*", element: <NotFound /> },
    ],
  },
]);
