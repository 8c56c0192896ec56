import { useQueries, useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { ApiError, type Schemas } from "../api/client";
import { overviewBoardQuery, providersFirstPageQuery, runsByStatusQuery } from "../api/queries";
import { ErrorBox } from "../components/ErrorBox";
import { Page } from "../components/Page";
import { Progress, unitsDone } from "../components/Progress";
import { RunStatus } from "../components/RunStatus";
import { StartRun } from "../components/StartRun";
import { Time } from "../components/Time";
import { pct, int } from "../format";
import { useBenchmarks } from "../hooks/useBenchmarks";
import { useLiveRun } from "../hooks/useRunEvents";

type Benchmark = Schemas["Benchmark"];
type Run = Schemas["Run"];

function plural(n: number, word: string): string {
  return `${int(n)} ${word}${n === 1 ? "" : "s"}`;
}

// A leaderboard the API cannot make yet (no finished run) is not an error.
function noFinishedRun(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 404 || err.status === 409);
}

/** Overview: the benchmarks with their latest top 3, the runs in progress
 * (live), the next scheduled runs and the providers held back. */
export default function Overview() {
  const benchmarks = useBenchmarks();
  const visible = (benchmarks.data?.items ?? []).filter((b) => !b.archived_at);
  const boards = useQueries({ queries: visible.map((b) => overviewBoardQuery(b.id)) });
  const running = useQuery(runsByStatusQuery("running"));
  const queued = useQuery(runsByStatusQuery("queued"));
  const providers = useQuery(providersFirstPageQuery());
  const busy = benchmarks.isPending || running.isPending || queued.isPending || providers.isPending || boards.some((q) => q.isPending);
  const inProgress = [...(running.data?.items ?? []), ...(queued.data?.items ?? [])];
  const scheduled = visible
    .filter((b): b is Benchmark & { next_run_at: string } => !!b.next_run_at)
    .sort((a, b) => a.next_run_at.localeCompare(b.next_run_at));
  const heldBack = (providers.data?.items ?? []).filter((p) => ["open", "half_open", "quota_paused"].includes(p.circuit?.state));

  return (
    <Page name="overview" title="Overview" busy={busy}>
      <section aria-labelledby="ov-benchmarks">
        <h2 id="ov-benchmarks">Benchmarks</h2>
        {benchmarks.isError ? <ErrorBox error={benchmarks.error} what="load the benchmarks" /> : null}
        {benchmarks.data && visible.length === 0 ? <p className="muted">No benchmarks yet.</p> : null}
        <div className="grid">
          {visible.map((b, i) => (
            <BenchmarkCard key={b.id} benchmark={b} board={boards[i]} />
          ))}
        </div>
        {benchmarks.data?.next_cursor ? <p className="muted">Showing the first {visible.length} benchmarks.</p> : null}
      </section>

      <section aria-labelledby="ov-running">
        <h2 id="ov-running">Runs in progress</h2>
        {running.isError ? <ErrorBox error={running.error} what="load the running runs" /> : null}
        {queued.isError ? <ErrorBox error={queued.error} what="load the queued runs" /> : null}
        {running.data && queued.data && inProgress.length === 0 ? <p className="muted">No run is queued or running.</p> : null}
        {inProgress.length > 0 ? (
          <ul className="live-runs" data-testid="runs-in-progress">
            {inProgress.map((r, i) => (
              <LiveRunRow key={r.id} run={r} follow={i < maxStreams} />
            ))}
          </ul>
        ) : null}
      </section>

      <div className="grid ov-bottom">
        <section aria-labelledby="ov-scheduled" className="card">
          <h2 id="ov-scheduled">Next scheduled runs</h2>
          {benchmarks.data && scheduled.length === 0 ? <p className="muted">No benchmark has an active schedule.</p> : null}
          {scheduled.length > 0 ? (
            <ol className="plain stack" data-testid="next-scheduled">
              {scheduled.map((b) => (
                <li key={b.id} data-row-id={b.id}>
                  <Time at={b.next_run_at} /> — <Link to={`/benchmarks/${b.id}/leaderboard`}>{b.name}</Link>
                  {b.schedule ? <span className="muted"> ({b.schedule.cron}, {b.schedule.timezone})</span> : null}
                </li>
              ))}
            </ol>
          ) : null}
          <p>
            <Link to="/schedules">All schedules</Link>
          </p>
        </section>

        <section aria-labelledby="ov-providers" className="card">
          <h2 id="ov-providers">Providers held back</h2>
          {providers.isError ? <ErrorBox error={providers.error} what="load the providers" /> : null}
          {providers.data && heldBack.length === 0 ? <p className="muted">Every provider's circuit is closed: calls go out.</p> : null}
          {heldBack.length > 0 ? (
            <ul className="plain stack" data-testid="providers-held-back">
              {heldBack.map((p) => (
                <li key={p.id} data-row-id={p.id}>
                  <strong>{p.name}</strong> <span className="badge circuit">{p.circuit.state.replace("_", " ")}</span>
                  {p.circuit.until ? (
                    <>
                      {" "}
                      until <Time at={p.circuit.until} />
                    </>
                  ) : null}
                  {p.circuit.last_error ? <div className="muted error-text">{p.circuit.last_error}</div> : null}
                </li>
              ))}
            </ul>
          ) : null}
          <p>
            <Link to="/providers">All providers</Link>
          </p>
        </section>
      </div>
    </Page>
  );
}

function BenchmarkCard({ benchmark: b, board }: { benchmark: Benchmark; board?: { data?: Schemas["Leaderboard"]; error: unknown; isPending: boolean } }) {
  const top = board?.data?.entries.slice(0, 3) ?? [];
  return (
    <article className="card bench-card" data-testid="benchmark-card" data-row-id={b.id} aria-labelledby={"bench-" + b.id}>
      <h3 id={"bench-" + b.id}>
        <Link to={`/benchmarks/${b.id}/leaderboard`}>{b.name}</Link>
      </h3>
      <p className="muted">
        {plural(b.model_ids.length, "model")} · {plural(b.unit_count, "unit")} a run
      </p>
      {board?.isPending ? <p className="muted">Loading the leaderboard…</p> : null}
      {board?.error ? (
        noFinishedRun(board.error) ? (
          <p className="muted">No finished run yet.</p>
        ) : (
          <ErrorBox error={board.error} what="load the leaderboard" />
        )
      ) : null}
      {board?.data && top.length === 0 ? <p className="muted">No finished run yet.</p> : null}
      {top.length > 0 ? (
        <ol className="top3" aria-label={`Top ${top.length} of the latest run`}>
          {top.map((e) => (
            <li key={e.model_id} data-row-id={e.model_id}>
              <span className="top3-name">{e.model_name}</span>{" "}
              <span className="num" data-col="score" data-value={String(e.score)}>
                {pct(e.score)}
              </span>
            </li>
          ))}
        </ol>
      ) : null}
      <div className="card-actions">
        <Link to={`/benchmarks/${b.id}/leaderboard`}>Leaderboard</Link>
        <Link to={`/benchmarks/${b.id}/trends`}>Trends</Link>
        <Link to={`/runs?benchmark_id=${b.id}`}>Runs</Link>
        <StartRun benchmarkId={b.id} />
      </div>
    </article>
  );
}

// Browsers open at most six HTTP/1.1 connections to a server, and each
// followed run holds one: the overview follows the first few runs live and
// shows the others as the list left them.
const maxStreams = 3;

function LiveRunRow({ run: initial, follow }: { run: Run; follow: boolean }) {
  const { run, state } = useLiveRun(initial, follow);
  return (
    <li className="card live-run" data-row-id={run.id}>
      <div className="live-run-head">
        <Link to={`/runs/${run.id}`}>{run.benchmark_name}</Link> <RunStatus status={run.status} />{" "}
        <span className="muted">
          {run.trigger} · {run.started_at ? "started" : "queued"} <Time at={run.started_at ?? run.created_at} />
          {state === "live" ? " · live" : state === "lost" ? " · live updates stopped" : follow ? "" : " · open it to follow it live"}
        </span>
      </div>
      <Progress done={unitsDone(run.progress)} total={run.progress.total} label={`Progress of the run of ${run.benchmark_name}`} compact />
    </li>
  );
}
