package redismutex

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bsm/redislock"
	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/lockmutex/internal/distlock"
)

// This file holds the steps Mutex and PyLock share once they hold a lock
// item: releasing it, extending it, and asking whether it exists.

// heldLock is the redislock hold of a Holder's current hold; nil for a
// PyLock taken without expiry (a plain SET NX).
func heldLock(hold any) *redislock.Lock {
	l, _ := hold.(*redislock.Lock)
	return l
}

// releaseScript deletes KEYS[1] if it holds ARGV[1] (the token): the
// release of a lock without expiry, which redislock cannot take.
var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0
`)

// release deletes lockKey if it still holds h's token: through redislock
// when the hold was taken with it, else with releaseScript. A lock that
// no longer holds the token is lost; a server error leaves the hold in
// place, so release can be tried again.
func release(ctx context.Context, client redis.UniversalClient, h *distlock.Holder, lockKey string) error {
	token, hold, err := h.CurrentHold(lockKey, "release")
	if err != nil {
		return err
	}
	released := true
	if held := heldLock(hold); held != nil {
		err = held.Release(ctx)
		if errors.Is(err, redislock.ErrLockNotHeld) {
			released, err = false, nil
		}
	} else {
		var n int64
		n, err = releaseScript.Run(ctx, client, []string{lockKey}, token).Int64()
		released = n == 1
	}
	if err != nil {
		return fmt.Errorf("redismutex: release %q: redis: %w", lockKey, err)
	}
	h.Forget(token)
	if !released {
		return distlock.LockLost(lockKey, "release")
	}
	return nil
}

// extend gives lockKey ttl more from now if it still holds h's token (a
// hold without expiry has nothing to extend: it is only checked to be
// held). A lock that no longer holds the token is lost and forgotten.
func extend(ctx context.Context, h *distlock.Holder, lockKey string, ttl time.Duration) error {
	token, hold, err := h.CurrentHold(lockKey, "extend")
	held := heldLock(hold)
	if err != nil || held == nil {
		return err
	}
	err = held.Refresh(ctx, ttl, nil)
	if errors.Is(err, redislock.ErrNotObtained) {
		h.Forget(token)
		return distlock.LockLost(lockKey, "extend")
	}
	if err != nil {
		return fmt.Errorf("redismutex: extend %q: redis: %w", lockKey, err)
	}
	return nil
}

// locked reports whether lockKey exists: whether anyone holds the lock.
func locked(ctx context.Context, client redis.UniversalClient, lockKey string) (bool, error) {
	n, err := client.Exists(ctx, lockKey).Result()
	if err != nil {
		return false, fmt.Errorf("redismutex: redis EXISTS %q: %w", lockKey, err)
	}
	return n > 0, nil
}
