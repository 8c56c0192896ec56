package redisconn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/startstop"
)

// Follower hands each message of one Redis pub/sub channel to a function,
// and optionally calls another at a fixed interval (to catch up on
// messages a subscriber can miss), from Start until Stop.
type Follower struct {
	rdb       redis.UniversalClient
	channel   string
	onMessage func(ctx context.Context, payload string)
	every     time.Duration
	onTick    func(ctx context.Context)

	life startstop.StartStop
}

// NewFollower returns a Follower of channel on rdb.
func NewFollower(rdb redis.UniversalClient, channel string, onMessage func(ctx context.Context, payload string)) *Follower {
	return &Follower{rdb: rdb, channel: channel, onMessage: onMessage}
}

// Every makes the follower also call fn every d; call it before Start.
func (f *Follower) Every(d time.Duration, fn func(ctx context.Context)) *Follower {
	f.every, f.onTick = d, fn
	return f
}

// Start subscribes, waits for Redis to confirm the subscription (so no
// message published after Start returns is missed), and follows the
// channel until ctx is done or Stop is called.
func (f *Follower) Start(ctx context.Context) error {
	err := f.life.StartWith(ctx, func(ctx context.Context) (func(), error) {
		sub := f.rdb.Subscribe(ctx, f.channel)
		if _, err := sub.Receive(ctx); err != nil {
			_ = sub.Close()
			return nil, fmt.Errorf("subscribe to %s: %w", f.channel, err)
		}
		return func() { f.follow(ctx, sub) }, nil
	})
	if errors.Is(err, startstop.ErrStarted) {
		return fmt.Errorf("follow %s: %w", f.channel, err)
	}
	return err
}

func (f *Follower) follow(ctx context.Context, sub *redis.PubSub) {
	defer func() { _ = sub.Close() }()
	msgs := sub.Channel()
	var tick <-chan time.Time
	if f.every > 0 && f.onTick != nil {
		t := time.NewTicker(f.every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			f.onMessage(ctx, m.Payload)
		case <-tick:
			f.onTick(ctx)
		}
	}
}

// Stop ends what Start began and waits for the follower to finish; it is
// safe to call twice, and before Start.
func (f *Follower) Stop() { f.life.Stop() }
