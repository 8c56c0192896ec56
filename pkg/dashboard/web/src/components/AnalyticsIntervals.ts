// One chart shape shared by the leaderboard and the comparison: a figure
// per row with its 95% interval drawn as a horizontal error bar.
import { axisStyle, type ChartTheme, type EChartsCoreOption } from "./Chart";

// The part of ECharts' custom-series API that renderItem uses.
type RenderAPI = {
  value(dim: number): number | string;
  coord(v: (number | string)[]): number[];
  size?(v: number[]): number[] | number;
};

export type IntervalRow = {
  /** The row's label on the vertical axis, top to bottom in the order given. */
  label: string;
  value: number;
  low: number;
  high: number;
  /** Draw this row in the "bad" colour (a significant regression, say). */
  tone?: "good" | "bad";
  /** The tooltip's text for the row. */
  tip: string;
};

/** intervalOption is the ECharts option of rows with their intervals;
 * `format` writes an axis value, `zero` draws the line at 0 (for
 * differences), `bounds` fixes the value axis (for 0..1 scores). */
export function intervalOption(
  t: ChartTheme,
  rows: IntervalRow[],
  opts: { format: (v: number) => string; zero?: boolean; bounds?: [number, number] },
): EChartsCoreOption {
  // The category axis is drawn bottom-up, so reverse to keep the first row on top.
  const ordered = [...rows].reverse();
  const colour = (r: IntervalRow) => (r.tone === "bad" ? t.bad : r.tone === "good" ? t.good : t.series[0]);
  return {
    animation: false,
    grid: { left: 8, right: 24, top: 16, bottom: 28, containLabel: true },
    tooltip: {
      trigger: "item",
      backgroundColor: t.surface,
      borderColor: t.border,
      textStyle: { color: t.text },
      formatter: (p: { dataIndex: number }) => ordered[p.dataIndex]?.tip ?? "",
    },
    xAxis: {
      type: "value",
      min: opts.bounds?.[0],
      max: opts.bounds?.[1],
      scale: !opts.bounds,
      ...axisStyle(t),
      axisLabel: { color: t.muted, fontSize: 12, formatter: opts.format },
    },
    yAxis: {
      type: "category",
      data: ordered.map((r) => r.label),
      ...axisStyle(t),
      axisLabel: { color: t.text, fontSize: 13, width: 150, overflow: "truncate", lineHeight: 16 },
      splitLine: { show: false },
    },
    series: [
      {
        type: "custom",
        name: "95% interval",
        data: ordered.map((r, i) => [i, r.low, r.high]),
        encode: { y: 0, x: [1, 2] },
        renderItem: (_params: unknown, api: RenderAPI) => {
          const i = api.value(0) as number;
          const [x1 = 0, y = 0] = api.coord([api.value(1), i]);
          const [x2 = 0] = api.coord([api.value(2), i]);
          const size = api.size?.([0, 1]);
          const cap = (Array.isArray(size) ? (size[1] ?? 20) : 20) * 0.22;
          const row = ordered[i];
          const stroke = row ? colour(row) : t.series[0];
          const line = (ax: number, ay: number, bx: number, by: number) => ({
            type: "line",
            shape: { x1: ax, y1: ay, x2: bx, y2: by },
            style: { stroke, lineWidth: 2 },
          });
          return {
            type: "group",
            children: [
              line(x1, y, x2, y),
              line(x1, y - cap, x1, y + cap),
              line(x2, y - cap, x2, y + cap),
            ],
          };
        },
        z: 2,
      },
      {
        type: "scatter",
        name: "value",
        symbolSize: 11,
        data: ordered.map((r) => ({ value: [r.value, r.label], itemStyle: { color: colour(r) } })),
        z: 3,
        markLine: opts.zero
          ? {
              silent: true,
              symbol: "none",
              label: { show: false },
              lineStyle: { color: t.muted, type: "dashed" },
              data: [{ xAxis: 0 }],
            }
          : undefined,
      },
    ],
  };
}

/** intervalHeight is a chart height in pixels that gives each row room. */
export function intervalHeight(rows: number): number {
  return 60 + 44 * Math.max(rows, 1);
}
