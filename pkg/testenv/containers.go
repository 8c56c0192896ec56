package testenv

import (
	"context"
	"time"

	"github.com/sabe-dev/sabe/internal/containers"
)

// PostgresImage is the image of the PostgreSQL container the tests start
// where Docker exists and no local server answers: TimescaleDB's, so the
// same run also covers the hypertable path.
const PostgresImage = containers.PostgresImage

// startContainers starts the servers that did not answer. The containers
// live as long as the test process (testcontainers' reaper removes them).
func startContainers(needPG, needRedis bool) (pgURL, redisURL string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if needPG {
		if pgURL, err = containers.Postgres(ctx, ""); err != nil {
			return "", "", err
		}
	}
	if needRedis {
		if redisURL, err = containers.Redis(ctx, ""); err != nil {
			return "", "", err
		}
	}
	return pgURL, redisURL, nil
}

// startTimescale starts a TimescaleDB container for the storage tests.
func startTimescale() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return containers.Postgres(ctx, "")
}
