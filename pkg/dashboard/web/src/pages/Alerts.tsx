import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { alertsFilter, alertsQuery } from "../api/queries";
import { alertColumns } from "../components/AlertColumns";
import { DataTable } from "../components/DataTable";
import { ErrorBox } from "../components/ErrorBox";
import { FilterSelect } from "../components/FilterSelect";
import { Page } from "../components/Page";
import { Pager } from "../components/Pager";
import { useBenchmarks } from "../hooks/useBenchmarks";

const columns = alertColumns();

/** Alerts: the regression alerts finished runs raised (GET /v1/alerts),
 * newest first, filtered by benchmark: who got worse on what, by how much
 * with its interval, and how sure after the correction. */
export default function Alerts() {
  const [params] = useSearchParams();
  const benchmarks = useBenchmarks();
  const list = useQuery(alertsQuery(alertsFilter(params)));
  const options = (benchmarks.data?.items ?? []).map((b) => ({ value: b.id, label: b.name + (b.archived_at ? " (archived)" : "") }));
  return (
    <Page name="alerts" title="Regression alerts" busy={list.isPending}>
      <p className="muted">
        A run raises an alert when a model is worse than in the baseline run by at least the benchmark&apos;s minimum effect, and
        significantly so after the Holm–Bonferroni correction over every model and metric compared.
      </p>
      <form className="filters" role="search" aria-label="Filter alerts" onSubmit={(e) => e.preventDefault()}>
        <FilterSelect label="Benchmark" name="benchmark_id" any="All benchmarks" options={options} />
      </form>
      {benchmarks.isError ? <ErrorBox error={benchmarks.error} what="load the benchmarks for the filter" /> : null}
      {list.isError ? <ErrorBox error={list.error} what="load the alerts" /> : null}
      {list.data ? (
        <>
          <DataTable
            caption="Regression alerts, newest first: model, metric, previous and current value, difference with its interval, adjusted p-value"
            testid="alerts"
            data={list.data.items}
            columns={columns}
            rowId={(a) => a.id}
            rowAttrs={(a) => ({ "data-run-id": a.run_id, "data-model-id": a.model_id })}
            sortable={false}
            empty="No alert: no run got significantly worse than its baseline."
          />
          <Pager next={list.data.next_cursor} />
        </>
      ) : null}
    </Page>
  );
}
