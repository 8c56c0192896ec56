// Every chart of the dashboard: Apache ECharts imported piece by piece
// (only the charts and components drawn here, on the canvas renderer), so
// the pages that chart stay small. Never import "echarts" itself: it pulls
// in every chart type.
import { useEffect, useRef, useState } from "react";
import * as echarts from "echarts/core";
import type { EChartsCoreOption } from "echarts/core";
import { CustomChart, LineChart, ScatterChart } from "echarts/charts";
import {
  DataZoomInsideComponent,
  GridComponent,
  LegendPlainComponent,
  MarkLineComponent,
  TooltipComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

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

export type { EChartsCoreOption };

/** ChartTheme is the page's palette, read from styles.css's variables so
 * charts follow the light or dark theme the rest of the page uses. */
export type ChartTheme = {
  dark: boolean;
  text: string;
  muted: string;
  border: string;
  surface: string;
  good: string;
  bad: string;
  /** Series colours, distinguishable in either theme. */
  series: string[];
};

// Okabe–Ito-like hues, darker for the light theme and lighter for the
// dark one, so each keeps a readable contrast against the background.
const lightSeries = ["#2451c9", "#c2410c", "#17794a", "#7c3aed", "#b42318", "#0e7490", "#8a5a00", "#be185d"];
const darkSeries = ["#8fb0ff", "#ffb86b", "#5fd49a", "#c4a7ff", "#ff8a80", "#67e8f9", "#f5c15a", "#f9a8d4"];

function readTheme(dark: boolean): ChartTheme {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    dark,
    text: v("--text", dark ? "#e7eaf0" : "#1b2130"),
    muted: v("--muted", dark ? "#a3adbf" : "#566074"),
    border: v("--border", dark ? "#343c4b" : "#d5dae3"),
    surface: v("--surface", dark ? "#1b2029" : "#ffffff"),
    good: v("--good", dark ? "#5fd49a" : "#17794a"),
    bad: v("--bad", dark ? "#ff8a80" : "#b42318"),
    series: dark ? darkSeries : lightSeries,
  };
}

/** useDarkScheme follows the system's colour scheme as it changes. */
export function useDarkScheme(): boolean {
  const query = "(prefers-color-scheme: dark)";
  const [dark, setDark] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const mq = window.matchMedia(query);
    const on = (e: MediaQueryListEvent) => setDark(e.matches);
    mq.addEventListener("change", on);
    setDark(mq.matches);
    return () => mq.removeEventListener("change", on);
  }, []);
  return dark;
}

/** axisStyle is what every cartesian axis of the dashboard looks like in
 * the theme. */
export function axisStyle(t: ChartTheme) {
  return {
    axisLine: { lineStyle: { color: t.border } },
    axisTick: { lineStyle: { color: t.border } },
    axisLabel: { color: t.muted, fontSize: 12 },
    splitLine: { lineStyle: { color: t.border, opacity: 0.6 } },
    nameTextStyle: { color: t.muted },
  };
}

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

/** Chart draws `option(theme)` on a canvas: created on mount, updated when
 * the option or the colour scheme changes, resized with its container and
 * disposed on unmount. It is an image to assistive technology, described
 * by `label`; every page also shows the same figures in a table. */
export function Chart(props: {
  option: (t: ChartTheme) => EChartsCoreOption;
  label: string;
  testid?: string;
  className?: string;
  /** A height in pixels instead of the .chart class's. */
  height?: number;
}) {
  const { option, label, testid, className, height } = props;
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const dark = useDarkScheme();

  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const c = echarts.init(node, undefined, { renderer: "canvas" });
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
      style={height ? { height } : undefined}
    />
  );
}
