// Every chart of the dashboard. The drawing (Apache ECharts, ChartCanvas)
// is a chunk of its own that the page does not wait for: a chart page
// shows its figures and tables as soon as its data is there, and the chart
// fills its box when ECharts has arrived (fetched when the first chart
// renders; see router.tsx for why not earlier). data-drawn says whether it
// has been drawn yet.
import { lazy, Suspense, useEffect, useState } from "react";
import type { EChartsCoreOption } from "echarts/core";

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

export function readTheme(dark: boolean): ChartTheme {
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

const ChartCanvas = lazy(() => import("./ChartCanvas"));

export type ChartProps = {
  option: (t: ChartTheme) => EChartsCoreOption;
  label: string;
  testid?: string;
  className?: string;
  /** A height in pixels instead of the .chart class's. */
  height?: number;
};

/** Chart draws `option(theme)` on a canvas: created on mount, updated when
 * the option or the colour scheme changes, resized with its container and
 * disposed on unmount. It is an image to assistive technology, described
 * by `label`; every page also shows the same figures in a table. Until
 * ECharts is loaded it is the same box, empty. */
export function Chart(props: ChartProps) {
  const { label, testid, className, height } = props;
  // ECharts is asked for only once the page around the chart has been
  // committed, so the render that shows the page's data never waits on
  // the chart's chunk.
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  const box = (
    <div
      className={className ?? "chart"}
      role="img"
      aria-label={label}
      aria-busy="true"
      data-testid={testid}
      data-drawn="false"
      style={height ? { height } : undefined}
    />
  );
  if (!mounted) return box;
  return (
    <Suspense fallback={box}>
      <ChartCanvas {...props} />
    </Suspense>
  );
}
