// Package e2e holds SABE's end-to-end tests: the real services, started by
// their own Run functions exactly as production wires them, driven through
// the HTTP API (with pkg/client, as any Go user would) against real
// PostgreSQL and Redis.
package e2e
