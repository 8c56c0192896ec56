// Package containers starts PostgreSQL (TimescaleDB's image) and Redis in
// Docker with testcontainers-go, for the tests (pkg/testenv) and for
// `sabe dev` on a machine that has Docker but neither server.
//
// A container started with a name is reused by that name: a second start
// finds the first's container (starting it again if it was stopped), data
// included, and the container outlives the process. One started without a
// name is the tests': testcontainers' reaper removes it when the process
// ends.
package containers

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Images used. The PostgreSQL image is TimescaleDB's, so what runs there
// also covers the hypertable path.
const (
	PostgresImage = "timescale/timescaledb:latest-pg16"
	RedisImage    = "redis:7-alpine"
)

// ryukEnv turns testcontainers' reaper off for the whole process: it is
// the library's one switch, read once, and a reaped container could not be
// reused by the next `sabe dev`.
const ryukEnv = "TESTCONTAINERS_RYUK_DISABLED"

// DockerAvailable reports whether a Docker daemon answers, without
// starting anything; its error says why not.
func DockerAvailable(ctx context.Context) error {
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return err
	}
	defer p.Close()
	return p.Health(ctx)
}

// Postgres starts a TimescaleDB container (TimescaleDB preloaded, so
// migrations take the hypertable path), or reuses the one called name,
// and returns the URL of its postgres database, user postgres.
func Postgres(ctx context.Context, name string) (string, error) {
	hostPort, err := start(ctx, name, "5432/tcp", testcontainers.ContainerRequest{
		Image:      PostgresImage,
		Env:        map[string]string{"POSTGRES_PASSWORD": "postgres", "POSTGRES_HOST_AUTH_METHOD": "trust"},
		WaitingFor: wait.ForLog("database system is ready to accept connections").WithOccurrence(2).WithStartupTimeout(2 * time.Minute),
	})
	if err != nil {
		return "", fmt.Errorf("postgres container: %w", err)
	}
	return "postgres://postgres:postgres@" + hostPort + "/postgres?sslmode=disable", nil
}

// Redis starts a Redis 7 container, or reuses the one called name, and
// returns the URL of its database 0.
func Redis(ctx context.Context, name string) (string, error) {
	hostPort, err := start(ctx, name, "6379/tcp", testcontainers.ContainerRequest{
		Image:      RedisImage,
		WaitingFor: wait.ForLog("Ready to accept connections"),
	})
	if err != nil {
		return "", fmt.Errorf("redis container: %w", err)
	}
	return "redis://" + hostPort + "/0", nil
}

// start starts (or, with a name, reuses) the container of req and returns
// the host:port where its port is published; a reused container may have
// a new one after Docker restarted it.
func start(ctx context.Context, name, port string, req testcontainers.ContainerRequest) (string, error) {
	req.ExposedPorts = []string{port}
	gr := testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true}
	if name != "" {
		if err := os.Setenv(ryukEnv, "true"); err != nil {
			return "", err
		}
		gr.Name, gr.Reuse = name, true
	}
	c, err := testcontainers.GenericContainer(ctx, gr)
	if err != nil {
		return "", fmt.Errorf("start: %w", err)
	}
	host, err := c.Host(ctx)
	if err != nil {
		return "", err
	}
	p, err := c.MappedPort(ctx, port)
	if err != nil {
		return "", err
	}
	return host + ":" + p.Port(), nil
}
