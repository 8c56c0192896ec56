package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/containers"
	"github.com/sabe-dev/sabe/internal/redisconn"
	"github.com/sabe-dev/sabe/pkg/store"
)

// Names of the containers `sabe dev` starts where Docker runs and no local
// server answers; a later `sabe dev` finds them by these names.
const (
	devPostgresContainer = "sabe-dev-postgres"
	devRedisContainer    = "sabe-dev-redis"
	devDatabase          = "sabe"
)

// probeTimeout bounds the check that a server answers: a machine without
// one should hear so at once, not after a connect timeout.
const probeTimeout = 2 * time.Second

// devServers finds the PostgreSQL and Redis that `sabe dev` uses:
// SABE_DATABASE_URL and SABE_REDIS_URL when set; else the local servers
// (the defaults); else, where Docker runs, containers it starts and
// reuses. Its function fields are Docker, so that tests can say there is
// none.
type devServers struct {
	getenv                  func(string) string
	defaultDB, defaultRedis string
	dockerAvailable         func(context.Context) error
	startPostgres           func(ctx context.Context, name string) (string, error)
	startRedis              func(ctx context.Context, name string) (string, error)
	say                     func(string, ...any)
}

func newDevServers(getenv func(string) string, say func(string, ...any)) devServers {
	return devServers{
		getenv: getenv, defaultDB: store.DatabaseURL.Default, defaultRedis: redisconn.URL.Default,
		dockerAvailable: containers.DockerAvailable,
		startPostgres:   containers.Postgres,
		startRedis:      containers.Redis,
		say:             say,
	}
}

// server is one of the two servers being looked for.
type server struct {
	what, variable, url string
	set                 bool // url came from variable, not the default
	err                 error
}

func (s server) where() string {
	if s.set {
		return fmt.Sprintf("%s at %s (%s)", s.what, redactURL(s.url), s.variable)
	}
	return fmt.Sprintf("%s at %s", s.what, redactURL(s.url))
}

// find returns the database and Redis URLs to use.
func (d devServers) find(ctx context.Context) (dbURL, redisURL string, err error) {
	pg := server{what: "PostgreSQL", variable: store.DatabaseURL.Name, url: d.getenv(store.DatabaseURL.Name)}
	rd := server{what: "Redis", variable: redisconn.URL.Name, url: d.getenv(redisconn.URL.Name)}
	pg.set, rd.set = pg.url != "", rd.url != ""
	if !pg.set {
		pg.url = d.defaultDB
	}
	if !rd.set {
		rd.url = d.defaultRedis
	}
	var refused error
	pg.err, refused = probePostgres(ctx, pg.url)
	if refused != nil {
		return "", "", fmt.Errorf("dev: %s answers but refuses: %w", pg.where(), refused)
	}
	rd.err, refused = probeRedis(ctx, rd.url)
	if refused != nil {
		return "", "", fmt.Errorf("dev: %s answers but refuses: %w", rd.where(), refused)
	}
	var down []server
	for _, s := range []server{pg, rd} {
		if s.err == nil {
			continue
		}
		if s.set {
			// The operator chose this server: starting another in its place
			// would seed a database they are not looking at.
			return "", "", fmt.Errorf("dev: %s does not answer: %v; start it, or unset %s to use the local server", s.where(), s.err, s.variable)
		}
		down = append(down, s)
	}
	if len(down) == 0 {
		return pg.url, rd.url, nil
	}
	if derr := d.dockerAvailable(ctx); derr != nil {
		return "", "", missingServers(down, derr)
	}
	if pg.err != nil {
		d.say("PostgreSQL does not answer at %s: starting it in Docker (container %s, %s); the next sabe dev reuses it",
			redactURL(pg.url), devPostgresContainer, containers.PostgresImage)
		admin, err := d.startPostgres(ctx, devPostgresContainer)
		if err != nil {
			return "", "", fmt.Errorf("dev: %w", err)
		}
		if err := waitAnswering(ctx, probePostgres, admin); err != nil {
			return "", "", fmt.Errorf("dev: PostgreSQL in container %s: %w", devPostgresContainer, err)
		}
		if pg.url, err = withDatabase(admin, devDatabase); err != nil {
			return "", "", err
		}
	}
	if rd.err != nil {
		d.say("Redis does not answer at %s: starting it in Docker (container %s, %s); the next sabe dev reuses it",
			redactURL(rd.url), devRedisContainer, containers.RedisImage)
		if rd.url, err = d.startRedis(ctx, devRedisContainer); err != nil {
			return "", "", fmt.Errorf("dev: %w", err)
		}
		if err := waitAnswering(ctx, probeRedis, rd.url); err != nil {
			return "", "", fmt.Errorf("dev: Redis in container %s: %w", devRedisContainer, err)
		}
	}
	return pg.url, rd.url, nil
}

// containerReady bounds the wait for a started container's server: a
// reused container restarted by Docker has its old "ready" lines in its
// log before the server is up again, so the log alone does not tell.
const containerReady = 2 * time.Minute

// waitAnswering polls a server with probe until it answers.
func waitAnswering(ctx context.Context, probe func(context.Context, string) (error, error), u string) error {
	ctx, cancel := context.WithTimeout(ctx, containerReady)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		down, refused := probe(ctx, u)
		switch {
		case refused != nil:
			return refused
		case down == nil:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not answering after %s: %w", containerReady, down)
		case <-tick.C:
		}
	}
}

// missingServers says what is missing and the one command that gets it.
func missingServers(down []server, dockerErr error) error {
	var b strings.Builder
	b.WriteString("dev: sabe dev needs PostgreSQL and Redis, and Docker to start them is not there either:\n")
	var pkgs []string
	for _, s := range down {
		fmt.Fprintf(&b, "  %s does not answer: %v\n", s.where(), s.err)
		pkgs = append(pkgs, map[string]string{"PostgreSQL": "postgresql", "Redis": "redis-server"}[s.what])
	}
	fmt.Fprintf(&b, "  Docker: %s\n", strings.ReplaceAll(dockerErr.Error(), "\n", "; "))
	fmt.Fprintf(&b, "Get them with: sudo apt-get install -y %s (Debian/Ubuntu; README: Getting PostgreSQL and Redis),\n", strings.Join(pkgs, " "))
	b.WriteString("or install Docker (https://docs.docker.com/engine/install/) and run sabe dev again: it starts them itself.")
	return errors.New(b.String())
}

// probePostgres connects to the server of dbURL. down is why nothing
// answered; refused is a server's own refusal (a wrong password, say),
// which no container would cure. A missing database is neither:
// ensureDatabase creates it.
func probePostgres(ctx context.Context, dbURL string) (down, refused error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err == nil {
		conn.Close(ctx)
		return nil, nil
	}
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "3D000":
		return nil, nil
	case errors.As(err, &pe):
		return nil, err
	case strings.Contains(err.Error(), "cannot parse"):
		return nil, fmt.Errorf("invalid URL")
	}
	return err, nil
}

// probeRedis pings the server of redisURL; down and refused as for
// probePostgres.
func probeRedis(ctx context.Context, redisURL string) (down, refused error) {
	conn, err := redisconn.Parse(redisURL)
	if err != nil {
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	c := conn.NewProbe(probeTimeout)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	err = c.Ping(ctx).Err()
	var re redis.Error
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &re):
		return nil, err
	}
	return err, nil
}

// redactURL shows a connection URL without its password.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		return "(the configured connection string)"
	}
	return p.Redacted()
}

// withDatabase returns dbURL naming database name instead.
func withDatabase(dbURL, name string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", errors.New("dev: database URL: invalid URL")
	}
	u.Path = "/" + name
	return u.String(), nil
}
