// Package grafana holds SABE's Grafana dashboard (sabe.json) and the test
// that keeps it honest: every metric its PromQL names is one SABE or
// asynq's queue exporter really serves.
//
// There is no Go code here besides the test.
package grafana
