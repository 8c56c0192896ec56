package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// pgTransactions is the database's committed and rolled back
// transactions. PostgreSQL counts a backend's transactions when it
// reports its statistics (at most once a second while busy, and when it
// exits), so a count read after the processes stopped is complete.
func (s *stack) pgTransactions(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()`).Scan(&n)
	return n, err
}

// redisCommands reads INFO commandstats: calls per command, for the whole
// server.
func redisCommands(ctx context.Context, rdb *redis.Client) (map[string]int64, error) {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, err
	}
	return parseCommandStats(info), nil
}

// parseCommandStats reads "cmdstat_evalsha:calls=12,usec=..." lines.
func parseCommandStats(info string) map[string]int64 {
	m := map[string]int64{}
	for _, ln := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(ln), ":")
		cmd, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				m[cmd] = n
			}
		}
	}
	return m
}
