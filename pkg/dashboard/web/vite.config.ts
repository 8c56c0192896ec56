import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build goes to ../dist, which the Go package embeds (go:embed) and
// which is committed, so that `go build` needs no Node. .ci/run rebuilds it
// and fails when the committed build differs from what the source makes.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../dist",
    emptyOutDir: true,
    // No inline scripts or styles: the api serves the dashboard under a
    // Content-Security-Policy that forbids them.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    chunkSizeWarningLimit: 700,
    rolldownOptions: {
      output: {
        // ECharts (and zrender under it) in a chunk of its own, named so,
        // which only the chart pages load: left to itself the bundler merges
        // it with whatever else exactly those pages share, and a table-only
        // page that shares that module would then fetch all of ECharts.
        codeSplitting: {
          groups: [{ name: "echarts", test: /[\\/]node_modules[\\/](echarts|zrender)[\\/]/ }],
        },
      },
    },
  },
  server: {
    // `npm run dev` proxies the API to a running `sabe dev` (its default
    // address), so the dashboard can be worked on with hot reload.
    proxy: {
      "/v1": "http://127.0.0.1:8080",
      "/login": "http://127.0.0.1:8080",
      "/logout": "http://127.0.0.1:8080",
    },
  },
});
