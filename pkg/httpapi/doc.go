// Package httpapi is SABE's HTTP API: the Echo server behind every /v1
// route, the browser login in front of the dashboard and asynqmon, and the
// OpenAPI document that describes them.
//
// The document (openapi.yaml, embedded; see spec.go) is the contract. The
// generated package oapi turns it into a strict server interface, and the
// api type implements it, one handlers_<resource>.go file per resource
// (providers, models, suites, questions, benchmarks, runs, analytics,
// tokens, system). Handlers speak domain types (package store, run,
// analytics, catalog) and convert them to the document's types in
// convert.go only, so no generated type reaches the domain and no stored
// row reaches a response.
//
// A request passes, in the order New installs them: a request id
// (server.go), panic recovery, metrics (metrics.go), security headers and
// CORS (hardening.go), the body limit, authentication by bearer token or
// session cookie with the scope each route declares (auth.go, scopes.go,
// session.go; failed attempts and logins are limited per source address
// in login_guard.go), the per-token rate limit (hardening.go), and
// request validation against the document (validate.go), which also
// enforces SABE's text rules at the edge (edge_text.go). Errors become responses in one place, ErrorHandler
// (errors.go): a kind-to-status map and one JSON shape naming the field.
//
// Answers have their own rules: computed figures are rounded at the edge
// (figure.go), long lists are streamed in byte-bounded pages
// (list_stream.go), and listing a provider's remote models goes through a
// gate that lets one request per provider fetch it across the fleet
// (model_list_gate.go). The dashboard (package dashboard) is served at /
// and every page path outside /v1 and the system routes, under its own
// Content-Security-Policy (dashboard.go); asynqmon is mounted under
// /monitoring (monitoring.go). A browser navigating to either without a
// session is sent to the login form (login.go), which opens a session for
// any token with the read scope.
package httpapi
