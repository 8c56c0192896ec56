package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/apitoken"
)

// sessionCookie names the browser session cookie.
const sessionCookie = "sabe_session"

// sessionIDLen is the number of random bytes in a session id.
const sessionIDLen = 32

// sessionStore keeps browser sessions in Redis. The cookie holds a random
// id; Redis holds it only hashed, so a copy of Redis cannot be replayed as
// cookies. A session points at the token it was opened with, which is
// checked again on every request: revoking the token ends its sessions.
type sessionStore struct {
	rdb redis.UniversalClient
	ttl time.Duration
}

// session is what Redis holds for a session. The token's hash is what the
// store looks tokens up by (it has no lookup by id); it is as harmless as
// the database's own copy, since only the token itself authenticates.
type session struct {
	TokenID   uuid.UUID `json:"token_id"`
	TokenHash string    `json:"token_hash"`
}

func sessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "sabe:session:" + hex.EncodeToString(sum[:])
}

// create opens a session for tok (whose secret hashes to hash) and returns
// the cookie value.
func (ss *sessionStore) create(ctx context.Context, tok *apitoken.Token, hash []byte) (string, error) {
	var raw [sessionIDLen]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("session id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	val, err := json.Marshal(session{TokenID: tok.ID, TokenHash: hex.EncodeToString(hash)})
	if err != nil {
		return "", err
	}
	if err := ss.rdb.Set(ctx, sessionKey(id), val, ss.ttl).Err(); err != nil {
		return "", fmt.Errorf("store session: %w", err)
	}
	return id, nil
}

// get returns the session behind a cookie value; fault.Unauthorized when
// there is none (expired, logged out, or never issued).
func (ss *sessionStore) get(ctx context.Context, id string) (session, error) {
	if len(id) != base64.RawURLEncoding.EncodedLen(sessionIDLen) {
		return session{}, fault.Unauthorized("invalid session; log in again at /login")
	}
	val, err := ss.rdb.Get(ctx, sessionKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return session{}, fault.Unauthorized("session expired; log in again at /login")
	}
	if err != nil {
		return session{}, fmt.Errorf("read session: %w", err)
	}
	var sess session
	if err := json.Unmarshal(val, &sess); err != nil {
		return session{}, fault.Unauthorized("invalid session; log in again at /login")
	}
	return sess, nil
}

// remove ends a session; ending one that does not exist is not an error.
func (ss *sessionStore) remove(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	if err := ss.rdb.Del(ctx, sessionKey(id)).Err(); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// sessionToken resolves a session cookie to the token it was opened with,
// looked up again so that a revoked or expired token stops working.
func (s *Server) sessionToken(ctx context.Context, cookie string) (*apitoken.Token, error) {
	sess, err := s.sessions.get(ctx, cookie)
	if err != nil {
		return nil, err
	}
	hash, err := hex.DecodeString(sess.TokenHash)
	if err != nil || len(hash) != sha256.Size {
		return nil, fault.Unauthorized("invalid session; log in again at /login")
	}
	tok, err := s.tokens.get(ctx, hash)
	if err != nil {
		if fault.KindOf(err) == fault.KindUnauthorized {
			return nil, fault.Unauthorized("the session's token no longer exists; log in again at /login")
		}
		return nil, fmt.Errorf("look up session token: %w", err)
	}
	if tok.ID != sess.TokenID {
		return nil, fault.Unauthorized("invalid session; log in again at /login")
	}
	return tok, nil
}

// sessionCookieFor builds the Set-Cookie value of a new session for the
// login request req. It is Secure when SABE_COOKIE_SECURE says so or when
// req arrived over HTTPS (directly or through a trusted proxy), so an
// HTTPS deployment does not depend on the operator remembering the
// setting.
func (s *Server) sessionCookieFor(req *http.Request, id string) *http.Cookie {
	return &http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		MaxAge:   int(s.cfg.SessionTTL / time.Second),
		HttpOnly: true,
		Secure:   s.cfg.CookieSecure || s.proxies.overTLS(req),
		SameSite: http.SameSiteStrictMode,
	}
}

// expiredSessionCookie clears the session cookie in the browser, with the
// same attributes as the cookie it replaces.
func (s *Server) expiredSessionCookie(req *http.Request) *http.Cookie {
	return &http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   s.cfg.CookieSecure || s.proxies.overTLS(req),
		SameSite: http.SameSiteStrictMode,
	}
}
