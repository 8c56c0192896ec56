package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/apitoken"
)

// countingLookup is a token lookup that counts its calls and knows one
// hash.
type countingLookup struct {
	calls atomic.Int32
	known []byte
	err   error
}

func (l *countingLookup) lookup(_ context.Context, hash []byte) (*apitoken.Token, error) {
	l.calls.Add(1)
	if l.err != nil {
		return nil, l.err
	}
	if string(hash) == string(l.known) {
		return &apitoken.Token{ID: uuid.New(), Scopes: []string{apitoken.ScopeRead}}, nil
	}
	return nil, fault.Unauthorized("invalid token")
}

func TestTokenCache(t *testing.T) {
	t.Parallel()
	known := apitoken.Hash("known")

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		l := &countingLookup{known: known}
		c := newTokenCache(l.lookup, time.Hour)
		for range 3 {
			if tok, err := c.get(t.Context(), known); err != nil || tok == nil {
				t.Fatalf("get = %v, %v", tok, err)
			}
		}
		if n := l.calls.Load(); n != 1 {
			t.Errorf("%d lookups for 3 gets within the TTL, want 1", n)
		}
	})

	t.Run("UnknownRemembered", func(t *testing.T) {
		t.Parallel()
		l := &countingLookup{known: known}
		c := newTokenCache(l.lookup, time.Hour)
		for range 2 {
			if _, err := c.get(t.Context(), apitoken.Hash("unknown")); fault.KindOf(err) != fault.KindUnauthorized {
				t.Fatalf("get(unknown) error = %v, want unauthorized", err)
			}
		}
		if n := l.calls.Load(); n != 1 {
			t.Errorf("%d lookups for a repeated unknown token, want 1", n)
		}
	})

	t.Run("Disabled", func(t *testing.T) {
		t.Parallel()
		l := &countingLookup{known: known}
		c := newTokenCache(l.lookup, -1)
		for range 2 {
			if _, err := c.get(t.Context(), known); err != nil {
				t.Fatal(err)
			}
		}
		if n := l.calls.Load(); n != 2 {
			t.Errorf("%d lookups with the cache off, want 2", n)
		}
	})

	t.Run("ErrDatabaseNotRemembered", func(t *testing.T) {
		t.Parallel()
		l := &countingLookup{known: known, err: errors.New("connection refused")}
		c := newTokenCache(l.lookup, time.Hour)
		for range 2 {
			if _, err := c.get(t.Context(), known); err == nil || fault.KindOf(err) == fault.KindUnauthorized {
				t.Fatalf("get error = %v, want the database's", err)
			}
		}
		if n := l.calls.Load(); n != 2 {
			t.Errorf("%d lookups after failures, want 2 (failures are not cached)", n)
		}
	})
}

func TestToucher(t *testing.T) {
	t.Parallel()

	t.Run("OncePerMinute", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		tc := newToucher(func(context.Context, uuid.UUID) error { calls.Add(1); return nil }, slog.New(slog.DiscardHandler))
		a, b := uuid.New(), uuid.New()
		tc.touch(a)
		tc.touch(a)
		tc.touch(b)
		tc.close()
		if n := calls.Load(); n != 2 {
			t.Errorf("%d touches, want 2 (one per token)", n)
		}
		tc.touch(uuid.New())
		tc.close()
		if n := calls.Load(); n != 2 {
			t.Errorf("touch after close ran: %d touches", n)
		}
	})
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, origin, referer string
		want                  bool
	}{
		{"OKOrigin", "http://api.example:8080", "", true},
		{"OKReferer", "", "http://api.example:8080/monitoring/", true},
		{"OKCase", "HTTP://API.EXAMPLE:8080", "", true},
		{"ErrOtherHost", "http://evil.example", "", false},
		{"ErrOtherPort", "http://api.example:9090", "", false},
		{"ErrNullOrigin", "null", "", false},
		{"ErrNeither", "", "", false},
		{"ErrNotHTTP", "file://api.example:8080", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("POST", "http://api.example:8080/v1/suites", nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.referer != "" {
				req.Header.Set("Referer", tc.referer)
			}
			if got := sameOrigin(req); got != tc.want {
				t.Errorf("sameOrigin = %v, want %v", got, tc.want)
			}
		})
	}
}
