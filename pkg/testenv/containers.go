package testenv

import (
	"context"
	"fmt"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Images used where Docker exists and no local server answers. The
// PostgreSQL image is TimescaleDB's, so the same run also covers the
// hypertable path.
const (
	PostgresImage = "timescale/timescaledb:latest-pg16"
	RedisImage    = "redis:7-alpine"
)

// startContainers starts the servers that did not answer. The containers
// live as long as the test process (testcontainers' reaper removes them).
func startContainers(needPG, needRedis bool) (pgURL, redisURL string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if needPG {
		if pgURL, err = startPostgres(ctx); err != nil {
			return "", "", err
		}
	}
	if needRedis {
		c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
			ContainerRequest: testcontainers.ContainerRequest{
				Image:        RedisImage,
				ExposedPorts: []string{"6379/tcp"},
				WaitingFor:   wait.ForLog("Ready to accept connections"),
			},
			Started: true,
		})
		if err != nil {
			return "", "", fmt.Errorf("start redis container: %w", err)
		}
		host, err := c.Host(ctx)
		if err != nil {
			return "", "", err
		}
		port, err := c.MappedPort(ctx, "6379/tcp")
		if err != nil {
			return "", "", err
		}
		redisURL = fmt.Sprintf("redis://%s:%s/0", host, port.Port())
	}
	return pgURL, redisURL, nil
}

// startPostgres starts a TimescaleDB container (TimescaleDB preloaded, so
// migrations take the hypertable path) and returns its admin URL.
func startPostgres(ctx context.Context) (string, error) {
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        PostgresImage,
			ExposedPorts: []string{"5432/tcp"},
			Env:          map[string]string{"POSTGRES_PASSWORD": "postgres", "POSTGRES_HOST_AUTH_METHOD": "trust"},
			WaitingFor:   wait.ForLog("database system is ready to accept connections").WithOccurrence(2).WithStartupTimeout(2 * time.Minute),
		},
		Started: true,
	})
	if err != nil {
		return "", fmt.Errorf("start postgres container: %w", err)
	}
	host, err := c.Host(ctx)
	if err != nil {
		return "", err
	}
	port, err := c.MappedPort(ctx, "5432/tcp")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("postgres://postgres:postgres@%s:%s/postgres?sslmode=disable", host, port.Port()), nil
}

// startTimescale starts a TimescaleDB container for the storage tests.
func startTimescale() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return startPostgres(ctx)
}
