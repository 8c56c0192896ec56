package main

import (
	"context"
	"errors"
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

// RedisMemory is the Redis server's INFO memory at one moment, in MB
// (10^6 bytes): the whole server's, whatever database holds it.
type RedisMemory struct {
	UsedMB float64 `json:"used_memory_mb"`
	PeakMB float64 `json:"used_memory_peak_mb"`
}

// redisMemory reads used_memory and used_memory_peak from INFO memory.
func redisMemory(ctx context.Context, rdb *redis.Client) (RedisMemory, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return RedisMemory{}, err
	}
	used, ok1 := infoInt(info, "used_memory")
	peak, ok2 := infoInt(info, "used_memory_peak")
	if !ok1 || !ok2 {
		return RedisMemory{}, errors.New("INFO memory has no used_memory or used_memory_peak")
	}
	return RedisMemory{UsedMB: mb(used), PeakMB: mb(peak)}, nil
}

// infoInt reads the integer field key ("used_memory:1234") of an INFO
// answer.
func infoInt(info, key string) (int64, bool) {
	for _, ln := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(ln), key+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
