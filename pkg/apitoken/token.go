package apitoken

import (
	"time"

	"github.com/google/uuid"
)

// Scopes a token can hold. Until routes declare finer scopes, every route
// asks for the scope that matches its method: reads need read, changes need
// write, token administration needs admin.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
	ScopeAdmin = "admin"
)

// Token is a stored API token: everything but the secret, which is kept
// only as a hash.
type Token struct {
	ID         uuid.UUID
	Name       string
	Prefix     string
	Scopes     []string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// Has reports whether the token holds scope; admin implies write and read,
// write implies read.
func (t *Token) Has(scope string) bool {
	for _, s := range t.Scopes {
		switch {
		case s == scope, s == ScopeAdmin, s == ScopeWrite && scope == ScopeRead:
			return true
		}
	}
	return false
}

// Usable reports whether the token may authenticate at time now.
func (t *Token) Usable(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}
