// Package db embeds SABE's goose migrations so every binary carries the
// schema it was built against.
package db

import "embed"

// Migrations holds the goose SQL migrations, applied in order by version.
//
//go:embed migrations/*.sql
var Migrations embed.FS
