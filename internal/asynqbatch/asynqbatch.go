// Package asynqbatch enqueues many asynq tasks of one queue in one Redis
// round trip, the way asynq's own Client enqueues one.
//
// A run's fan-out puts one execution:run task per unit on its queue: a
// million for a big run. asynq's Client enqueues a task per call, one
// script and one round trip each, which held the fan-out to about 20,000
// tasks a second with 16 calls in flight and took a fifth of a worker's
// CPU in the throughput bench. asynq has no batch call, so this package
// writes what Client.Enqueue writes (the task's hash with its encoded
// message, state "pending" and pending_since, its id pushed on the
// queue's pending list, the queue named in asynq's set of queues) for a
// whole batch in one script. A task whose id exists is left alone, as
// Client.Enqueue leaves it (ErrTaskIDConflict); every SABE task has a
// deterministic id, so that means the task is already there.
//
// The layout is asynq v0.26's (internal/rdb and internal/base there); the
// package's tests enqueue the same task through asynq's Client and through
// Enqueue, compare the stored bytes, and run batch-enqueued tasks through
// a real asynq server, so an asynq upgrade that changes the layout fails
// them rather than production.
package asynqbatch

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/encoding/protowire"
)

// Task is one task to enqueue: what asynq.NewTask with the options
// TaskID, MaxRetry and Timeout describes (no Timeout: asynq's default of
// 30 minutes).
type Task struct {
	ID       string
	Type     string
	Payload  []byte
	MaxRetry int
	Timeout  time.Duration
}

// Asynq is t as a task for asynq's own Client, on queue.
func (t Task) Asynq(queue string) *asynq.Task {
	return asynq.NewTask(t.Type, t.Payload,
		asynq.TaskID(t.ID), asynq.Queue(queue), asynq.MaxRetry(t.MaxRetry), asynq.Timeout(t.Timeout))
}

// MaxBatch is the most tasks one script enqueues: a script blocks Redis
// while it runs, and 500 tasks take about a millisecond of its time.
const MaxBatch = 500

// Enqueuer enqueues batches of tasks over one Redis client; it is safe
// for concurrent use.
type Enqueuer struct {
	rdb redis.UniversalClient
	// published holds the queues already added to asynq's set of queues,
	// as asynq's Client remembers them.
	published sync.Map
}

// New returns an Enqueuer over rdb (a client, a Sentinel failover client
// or a cluster client: a batch's keys share the queue's hash slot).
func New(rdb redis.UniversalClient) *Enqueuer { return &Enqueuer{rdb: rdb} }

// enqueueScript is asynq's enqueue script over a batch.
//
// KEYS[1]      asynq:{<queue>}:pending
// KEYS[2..n+1] asynq:{<queue>}:t:<task id>
// ARGV[1]      the time, in Unix nanoseconds
// ARGV[2..n+1] each task's encoded message
// ARGV[n+2..]  each task's id
//
// It returns how many tasks it added (those whose id was not there yet).
var enqueueScript = redis.NewScript(`
local n = #KEYS - 1
local ids = {}
for i = 2, n + 1 do
	if redis.call("EXISTS", KEYS[i]) == 0 then
		redis.call("HSET", KEYS[i], "msg", ARGV[i], "state", "pending", "pending_since", ARGV[1])
		ids[#ids + 1] = ARGV[n + i]
	end
end
if #ids > 0 then
	redis.call("LPUSH", KEYS[1], unpack(ids))
end
return #ids
`)

// Enqueue puts tasks on queue as pending, MaxBatch to a script, in their
// order (the first is dequeued first), and returns how many were new. A
// task whose id exists is skipped, not an error. Batches before a failed
// one stay enqueued: run again, Enqueue skips them.
func (e *Enqueuer) Enqueue(ctx context.Context, queue string, tasks []Task) (int, error) {
	if len(tasks) == 0 {
		return 0, nil
	}
	if _, ok := e.published.Load(queue); !ok {
		if err := e.rdb.SAdd(ctx, "asynq:queues", queue).Err(); err != nil {
			return 0, fmt.Errorf("enqueue on %s: %w", queue, err)
		}
		e.published.Store(queue, true)
	}
	prefix := "asynq:{" + queue + "}:"
	added := 0
	for len(tasks) > 0 {
		batch := tasks[:min(len(tasks), MaxBatch)]
		tasks = tasks[len(batch):]
		keys := make([]string, 1, 1+len(batch))
		keys[0] = prefix + "pending"
		args := make([]any, 1, 1+2*len(batch))
		args[0] = strconv.FormatInt(time.Now().UnixNano(), 10)
		for _, t := range batch {
			keys = append(keys, prefix+"t:"+t.ID)
			args = append(args, encode(t, queue))
		}
		for _, t := range batch {
			args = append(args, t.ID)
		}
		n, err := enqueueScript.Run(ctx, e.rdb, keys, args...).Int()
		if err != nil {
			return added, fmt.Errorf("enqueue %d tasks on %s: %w", len(batch), queue, err)
		}
		added += n
	}
	return added, nil
}

// defaultTimeout is asynq's timeout of a task with neither a timeout nor
// a deadline.
const defaultTimeout = 30 * time.Minute

// encode is t's message as asynq stores it: its TaskMessage (asynq.proto)
// in protocol buffers, with the fields Client.Enqueue sets for a task
// with an id, a queue, a retry count and a timeout and no deadline,
// uniqueness, group or retention (zero, so absent in proto3).
func encode(t Task, queue string) []byte {
	b := make([]byte, 0, 24+len(t.Type)+len(t.Payload)+len(t.ID)+len(queue))
	b = appendString(b, 1, t.Type)
	if len(t.Payload) > 0 {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, t.Payload)
	}
	b = appendString(b, 3, t.ID)
	b = appendString(b, 4, queue)
	b = appendVarint(b, 5, uint64(int32(t.MaxRetry)))
	b = appendVarint(b, 8, uint64(int64(cmp.Or(t.Timeout, defaultTimeout).Seconds())))
	return b
}

func appendString(b []byte, field protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarint(b []byte, field protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}
