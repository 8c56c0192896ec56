// Package resilience guards provider calls for a whole worker fleet at once:
// a circuit breaker per provider whose trips and recoveries every worker
// sees (breaker.go), rate limits of requests and tokens per minute
// (ratelimit.go), a cap on calls in flight (lease.go), and a pause while a
// provider's quota is exhausted (quota.go). Each worker process holds one
// Guard, whose Acquire (guard.go) puts a call through all of them. All
// shared state lives in Redis (shared.go), so workers on several machines
// agree.
//
// Every decision a Guard takes by the time (when an open period ends, how
// long an outage has lasted, how long a call may still wait in process)
// reads its Clock, which tests move by hand. Redis keeps its own clock for
// what it decides: key TTLs, the rate limits' windows and lease expiries.
//
// # Circuit breaker
//
// Each process keeps a sony/gobreaker breaker per provider that counts its
// own calls' failures. gobreaker's DistributedCircuitBreaker is not used on
// purpose: it holds a fleet-wide lock for the whole call, which would
// serialize every call to a provider. Instead, when a process's breaker
// opens, it writes the open period to Redis (key sabe:breaker:<provider>,
// the time it opened and the time it half-opens) and publishes the provider
// id on StateChannel. Every process keeps the shared state in memory,
// refreshed by that push and re-read every SyncInterval (500 ms by default)
// in case a message was lost, so the check before a call costs no round
// trip and a trip reaches the whole fleet within the interval: at most the
// fleet's concurrency of calls can start in that time, then none until the
// half-open time. At half-open exactly one call in the fleet (the one that
// wins a SET NX on sabe:breaker:<provider>:probe) goes out: success clears
// the shared state (and resets the local breakers), failure opens it again
// for another period. Calls that may not go out get a *WaitError carrying
// the half-open time.
//
// The shared record also keeps when the outage began (Since, which a failed
// probe does not move) and the provider's last failure (LastError, from
// Permit.Report), so the WaitError of an open circuit carries both: callers
// bound how long they wait on a provider that stays down, and Holds lets
// the API show what the fleet is holding back, from the same state.
//
// # Limits
//
// Rate limits are GCRA with reservations, in one Lua script over one
// hash per provider (bookRate): a call books its place under both limits
// at once in one round trip and waits for it, instead of asking again
// until it is let through. Requests per minute have a burst of one
// second's worth, paced at the limit less the burst and one call
// (rpmLimit), so that no 60 seconds see more calls than the limit even as
// a provider counts them. Tokens per minute are charged before the call by
// the caller's estimate (input + the whole max_tokens), which is how
// OpenAI's own limiter counts a request, so the fleet stays under the
// provider's limit even when every answer runs to max_tokens; nothing is
// refunded afterwards. Their burst is a tenth of the minute and a call
// above it books room on both sides of it (tpmLimit), so no 60 seconds see
// more tokens than the limit either; a call above the whole limit fails
// with a *TooLargeError. The concurrency cap is a sorted set of leases
// scored by their expiry: a worker that dies holding one frees it when the
// lease runs out. A short wait (MaxLocalWait, 1 s) is done in process; a
// longer one returns a *WaitError for when its place would come, so the task is
// rescheduled instead of holding a worker slot.
package resilience
