package redismutex

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/bsm/redislock"
	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/lockmutex/internal/distlock"
)

// DefaultPyLockSleep is how often a waiting PyLock.Acquire polls
// when PyLockOptions.Sleep is zero: redis-py's default sleep of 0.1
// seconds, which dogpile.cache's lock_sleep defaults to as well.
const DefaultPyLockSleep = 100 * time.Millisecond

// PyLockOptions configure a PyLock. They are redis-py's Lock
// arguments as dogpile.cache's Redis backends pass them: the zero value
// gives redis-py's defaults.
type PyLockOptions struct {
	// Timeout is the lifetime of the lock key (dogpile.cache's
	// lock_timeout, redis-py's timeout). Zero means none: the key lives
	// until it is released, as with redis-py's timeout=None, so a holder
	// that dies without releasing blocks the key's creation until someone
	// deletes the lock key. Redis expires keys with millisecond precision;
	// the timeout is truncated to whole milliseconds as redis-py does, and
	// a positive timeout below 1ms counts as 1ms.
	Timeout time.Duration

	// Sleep is the pause between two attempts of a waiting Acquire
	// (dogpile.cache's lock_sleep). Zero means DefaultPyLockSleep.
	Sleep time.Duration

	// BlockingTimeout bounds how long a waiting Acquire tries
	// (dogpile.cache's lock_blocking_timeout, redis-py's
	// blocking_timeout): once another attempt would start after it, Acquire
	// gives up and reports false with a nil error, as redis-py's acquire
	// returns False. Zero means no bound (wait until the lock is free or
	// ctx ends), as redis-py's blocking_timeout=None. A negative value
	// means a single attempt, as redis-py's blocking_timeout=0 (or
	// negative): redis-py gives up before its first pause.
	BlockingTimeout time.Duration
}

// PyLock is the lock of dogpile.cache's Redis backends: redis-py's
// Lock, which their get_mutex returns. Python and Go processes that use the
// same Redis (or Redis Cluster, or Sentinel master) exclude each other with
// it:
//
//   - the lock for key is the Redis key "_lock" + key, holding a random
//     token that identifies the holder;
//   - Acquire sets it with SET NX, with PX <timeout> when a Timeout is
//     set (no expiry otherwise, redis-py's default);
//   - Release deletes it only if it still holds this holder's token (a Lua
//     compare-and-delete, as redis-py's), so a lock taken by someone else
//     after this one expired, a Python process's included, is never
//     removed;
//   - Locked reports whether the key exists (redis-py's locked());
//   - a waiting Acquire tries again every Sleep.
//
// With a Timeout, taking, extending and releasing the lock go through
// github.com/bsm/redislock, whose lock item is the same: a token under the
// key with a millisecond TTL. That library cannot express a lock without
// expiry (its scripts always set PX), so without a Timeout the lock is
// taken with a plain SET NX and released with this package's
// compare-and-delete script.
//
// A PyLock value stands for one holder, like Mutex: it is not reentrant (a
// second Acquire while held fails with lockmutex.ErrAlreadyHeld), and Release
// and Extend refer to its own hold only. Its methods are safe for concurrent
// use. It satisfies region.Mutex, and region.WithLockLeases extends it while
// a creator runs when it has a Timeout.
type PyLock struct {
	client  redis.UniversalClient
	locks   *redislock.Client
	key     string
	lockKey string
	opts    PyLockOptions
	err     error // non-nil: the lock is unusable (nil client)
	// h records the current hold: its token and, when taken through
	// redislock (with a Timeout), its *redislock.Lock.
	h distlock.Holder
}

// NewPyLock returns the lock for key on the Redis server behind
// client (a *redis.Client, *redis.ClusterClient, a Sentinel failover
// client, ...). locks is the redislock client to take timed locks with;
// nil makes one for client (a backend shares one between its locks).
// Nothing is sent until Acquire.
func NewPyLock(client redis.UniversalClient, locks *redislock.Client, key string, opts PyLockOptions) *PyLock {
	if opts.Sleep <= 0 {
		opts.Sleep = DefaultPyLockSleep
	}
	if opts.Timeout < 0 {
		opts.Timeout = 0
	}
	l := &PyLock{client: client, locks: locks, key: key, lockKey: lockmutex.LockKeyPrefix + key, opts: opts}
	if client == nil {
		l.err = fmt.Errorf("%w: redis lock for %q", lockmutex.ErrNilClient, l.lockKey)
	} else if l.locks == nil {
		l.locks = redislock.New(client)
	}
	return l
}

// Key returns the key the lock guards.
func (l *PyLock) Key() string { return l.key }

// LockKey returns the name of the lock key: "_lock" + Key().
func (l *PyLock) LockKey() string { return l.lockKey }

// LockTimeout returns the lifetime of the lock key; zero means no expiry.
func (l *PyLock) LockTimeout() time.Duration { return l.opts.Timeout }

// Held reports whether this lock acquired the lock and has not released it
// since. It does not ask the server.
func (l *PyLock) Held() bool { return l.h.Held() }

// ttl is the lock timeout as redis-py sends it: whole milliseconds, at
// least one.
func (l *PyLock) ttl() time.Duration {
	return max(l.opts.Timeout.Truncate(time.Millisecond), time.Millisecond)
}

// newPyToken returns a token shaped like redis-py's (32 hex digits, as
// uuid1().hex), so that lock keys look alike whichever side took them.
func newPyToken() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// Acquire takes the lock. With wait == false it makes one attempt and
// reports whether it got the lock. With wait == true it tries every Sleep
// until it gets the lock, ctx ends (returning ctx.Err()) or the next
// attempt would start after BlockingTimeout (returning false and a nil
// error, as redis-py does; after the first attempt when BlockingTimeout is
// negative). Server errors are returned at once, naming the lock key.
func (l *PyLock) Acquire(ctx context.Context, wait bool) (bool, error) {
	if l.err != nil {
		return false, l.err
	}
	var stopAt time.Time
	if wait && l.opts.BlockingTimeout != 0 {
		stopAt = time.Now().Add(l.opts.BlockingTimeout)
	}
	return l.h.Run(ctx, l.lockKey, wait, distlock.Loop{
		NewToken: newPyToken,
		Try: func(ctx context.Context, token string) (any, bool, error) {
			held, got, err := l.try(ctx, token)
			if held == nil {
				return nil, got, err // no *redislock.Lock(nil) in an any
			}
			return held, got, err
		},
		// Every Sleep until the next attempt would start after stopAt.
		Next: func(int) (time.Duration, bool, error) {
			stop := !stopAt.IsZero() && time.Now().Add(l.opts.Sleep).After(stopAt)
			return l.opts.Sleep, stop, nil
		},
	})
}

// try makes one attempt to set the lock key to token.
func (l *PyLock) try(ctx context.Context, token string) (*redislock.Lock, bool, error) {
	if l.opts.Timeout <= 0 {
		// No expiry: SET NX without PX, which redislock cannot send.
		err := l.client.SetArgs(ctx, l.lockKey, token, redis.SetArgs{Mode: "NX"}).Err()
		switch {
		case err == nil:
			return nil, true, nil
		case errors.Is(err, redis.Nil):
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("redismutex: redis SET NX %q: %w", l.lockKey, err)
	}
	return obtain(ctx, l.locks, l.lockKey, l.ttl(), token)
}

// Release gives the lock up: the lock key is deleted only if it still holds
// this lock's token. If it does not (the lock expired, and perhaps another
// holder, in Go or Python, took it), nothing is changed and the error matches
// lockmutex.ErrLockLost (and lockmutex.ErrNotHeld), as redis-py raises
// LockNotOwnedError. Release on a lock that is not held returns
// lockmutex.ErrNotHeld. When the server cannot be reached the error is
// returned and the lock still counts as held, so Release can be tried again.
func (l *PyLock) Release(ctx context.Context) error {
	if l.err != nil {
		return l.err
	}
	return release(ctx, l.client, &l.h, l.lockKey)
}

// Extend restarts the lock key's lifetime (Timeout from now) if this lock
// still holds it, for creators that run longer than the timeout (see
// region.WithLockLeases). The token is compared and the expiry set in one
// step, so another holder's lock is never extended; a lost lock returns an
// error matching lockmutex.ErrLockLost and no longer counts as held. A lock
// without a Timeout never expires, so there is nothing to extend: Extend only
// checks that the lock is held.
func (l *PyLock) Extend(ctx context.Context) error {
	if l.err != nil {
		return l.err
	}
	return extend(ctx, &l.h, l.lockKey, l.ttl())
}

// Locked reports whether anyone holds the lock, that is whether the lock
// key exists, as redis-py's locked() does. It does not take the lock.
func (l *PyLock) Locked(ctx context.Context) (bool, error) {
	if l.err != nil {
		return false, l.err
	}
	return locked(ctx, l.client, l.lockKey)
}
