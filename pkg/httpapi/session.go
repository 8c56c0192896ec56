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
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
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

// expiresAt is when the session behind a cookie value ends, read from its
// key's time to live; nil when Redis no longer holds it.
func (ss *sessionStore) expiresAt(ctx context.Context, id string, now time.Time) (*time.Time, error) {
	ttl, err := ss.rdb.PTTL(ctx, sessionKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("read session lifetime: %w", err)
	}
	if ttl <= 0 {
		return nil, nil
	}
	at := now.Add(ttl).UTC().Truncate(time.Second)
	return &at, nil
}

// GetSession says who is calling: the token behind the request, whether it
// came as a bearer token or through the browser session, and when that
// ends (the session or the token, whichever is first).
func (a *api) GetSession(ctx context.Context, _ oapi.GetSessionRequestObject) (oapi.GetSessionResponseObject, error) {
	tok, ok := TokenFrom(ctx)
	if !ok {
		return nil, fault.Unauthorized("missing credential: send Authorization: Bearer <token>")
	}
	out := oapi.GetSession200JSONResponse{
		TokenId:   tok.ID,
		TokenName: tok.Name,
		Scopes:    make([]oapi.SessionScopes, 0, len(tok.Scopes)),
		Via:       oapi.SessionViaBearer,
		ExpiresAt: tok.ExpiresAt,
	}
	for _, s := range tok.Scopes {
		out.Scopes = append(out.Scopes, oapi.SessionScopes(s))
	}
	c := echoContextFrom(ctx)
	if c == nil || c.Request().Header.Get(echo.HeaderAuthorization) != "" {
		return out, nil
	}
	ck, err := c.Request().Cookie(sessionCookie)
	if err != nil {
		return out, nil
	}
	out.Via = oapi.SessionViaSession
	ends, err := a.s.sessions.expiresAt(ctx, ck.Value, time.Now())
	if err != nil {
		return nil, err
	}
	if ends != nil && (out.ExpiresAt == nil || ends.Before(*out.ExpiresAt)) {
		out.ExpiresAt = ends
	}
	return out, nil
}
