// The drawing of Chart (./Chart.tsx): Apache ECharts imported piece by
// piece (only the charts and components drawn here, on the canvas
// renderer). Never import "echarts" itself: it pulls in every chart type.
import { useEffect, useRef, useState } from "react";
import * as echarts from "echarts/core";
import { CustomChart, LineChart, ScatterChart } from "echarts/charts";
import {
  DataZoomInsideComponent,
  GridComponent,
  LegendPlainComponent,
  MarkLineComponent,
  TooltipComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { readTheme, useDarkScheme, type ChartProps } from "./Chart";

echarts.use([
  LineChart,
  ScatterChart,
  CustomChart,
  GridComponent,
  TooltipComponent,
  LegendPlainComponent,
  DataZoomInsideComponent,
  MarkLineComponent,
  CanvasRenderer,
]);

/** richText draws a chart's tooltips on its canvas (ECharts' richText
 * mode) instead of as HTML: the HTML tooltip writes its markers and
 * layout as style="…" attributes, which the dashboard's CSP
 * (style-src 'self') refuses, logging a violation at every hover. Tooltip
 * formatters must then return plain text (newlines for line breaks). */
function richText(tooltip: unknown): unknown {
  if (tooltip == null) return undefined;
  const one = (x: unknown) => (typeof x === "object" && x !== null ? { renderMode: "richText", ...x } : x);
  return Array.isArray(tooltip) ? tooltip.map(one) : one(tooltip);
}

/** ChartCanvas is Chart once ECharts is loaded. */
export default function ChartCanvas(props: ChartProps) {
  const { option, label, testid, className, height } = props;
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const dark = useDarkScheme();
  // Whether the chart has been drawn (its first render and animation are
  // over): data-drawn, which the browser tests wait for before a screenshot.
  const [drawn, setDrawn] = useState(false);

  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const c = echarts.init(node, undefined, { renderer: "canvas" });
    c.on("finished", () => setDrawn(true));
    chart.current = c;
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(node);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const t = readTheme(dark);
    const o = option(t);
    chart.current?.setOption(
      { backgroundColor: "transparent", color: t.series, textStyle: { color: t.text, fontSize: 13 }, ...o, tooltip: richText(o.tooltip) },
      { notMerge: true },
    );
  }, [option, dark]);

  return (
    <div
      ref={el}
      className={className ?? "chart"}
      role="img"
      aria-label={label}
      data-testid={testid}
      data-drawn={drawn}
      style={height ? { height } : undefined}
    />
  );
}
