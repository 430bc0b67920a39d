// Package redismutex holds the Redis locks behind the region's dogpile
// lock, each held while the key "_lock" + key exists on the Redis server
// (or cluster, or Sentinel master), so they exclude every process that uses
// it:
//
//   - Mutex: a github.com/bsm/redislock lock (a random token under the key,
//     with a millisecond TTL; released and extended only while the key
//     holds the token) with this module's backoff and attempt limit
//     (backends/gocache's gocache.redis);
//   - PyLock: redis-py's Lock, as dogpile.cache's Redis backends use it
//     (optional expiry, a fixed polling interval), so that Go and Python
//     processes share one creation lock per key (backends/redis).
//
// Both satisfy region.Mutex. The errors they return match lockmutex's
// sentinels (lockmutex.ErrLockLost, lockmutex.ErrMaxLockAttempts, ...)
// with errors.Is; see package lockmutex for the rules every distributed
// mutex follows (tokens, lock timeouts, backoff, contexts).
package redismutex

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bsm/redislock"
	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/lockmutex/internal/distlock"
)

// Options configure a Mutex. The zero value gives the defaults.
type Options struct {
	// LockTimeout is how long the lock key lives: a holder that dies
	// without releasing blocks others for at most this long. Redis expires
	// keys with millisecond precision (at least 1ms). Zero means
	// lockmutex.DefaultLockTimeout (5s).
	LockTimeout time.Duration

	// MaxLockAttempts bounds the attempts of a blocking Acquire; when they
	// are used up, Acquire fails with lockmutex.ErrMaxLockAttempts. Zero
	// means no limit (wait until the lock is free or ctx ends).
	MaxLockAttempts int

	// RetryDelay is the first pause between two attempts of a blocking
	// Acquire; the pauses double up to MaxRetryDelay and are jittered.
	// Zero means lockmutex.DefaultRetryDelay (10ms).
	RetryDelay time.Duration

	// MaxRetryDelay caps the pause between two attempts. Zero means
	// lockmutex.DefaultMaxRetryDelay (500ms).
	MaxRetryDelay time.Duration
}

// Mutex is a lock shared by every process that talks to the same Redis
// server (or cluster): the lock is held while the key "_lock" + key exists.
// The key holds a random token that identifies this holder and expires after
// the lock timeout, so that a crashed holder cannot block others forever.
// Taking, releasing and extending the lock go through
// github.com/bsm/redislock, whose scripts compare the token and delete or
// re-expire the key in one step, so a holder whose lock expired can never
// remove or extend the next holder's lock. The attempts of a blocking
// Acquire are this module's (jittered backoff, MaxLockAttempts).
//
// A Mutex value stands for one holder: it is not reentrant, and
// Release, Extend and Held refer to its own hold only. Its methods are safe
// to call from several goroutines, but a second Acquire while the value
// holds the lock (or is acquiring it) fails with lockmutex.ErrAlreadyHeld.
//
// A Mutex satisfies region.Mutex.
type Mutex struct {
	client  redis.UniversalClient
	locks   *redislock.Client
	key     string
	lockKey string
	err     error // non-nil: the mutex is unusable (nil client)
	s       distlock.Settings
	h       distlock.Holder
}

// New returns a mutex for key on the Redis server behind client
// (a *redis.Client, *redis.ClusterClient, *redis.Ring, ...). Nothing is sent
// until Acquire.
func New(client redis.UniversalClient, key string, opts Options) *Mutex {
	m := &Mutex{
		client:  client,
		key:     key,
		lockKey: lockmutex.LockKeyPrefix + key,
		s:       distlock.NewSettings(opts.LockTimeout, opts.MaxLockAttempts, opts.RetryDelay, opts.MaxRetryDelay),
	}
	if client == nil {
		m.err = fmt.Errorf("%w: redis mutex for %q", lockmutex.ErrNilClient, m.lockKey)
	} else {
		m.locks = redislock.New(client)
	}
	return m
}

// Key returns the key the mutex guards.
func (m *Mutex) Key() string { return m.key }

// LockKey returns the name of the lock key: "_lock" + Key().
func (m *Mutex) LockKey() string { return m.lockKey }

// LockTimeout returns the lifetime of the lock key.
func (m *Mutex) LockTimeout() time.Duration { return m.s.LockTimeout }

// Held reports whether this mutex acquired the lock and has not released it
// since. It does not ask the server, so the lock may have expired meanwhile;
// Extend checks.
func (m *Mutex) Held() bool { return m.h.Held() }

// ttl is the lock timeout as sent to Redis: rounded up to whole
// milliseconds.
func (m *Mutex) ttl() time.Duration {
	return (m.s.LockTimeout + time.Millisecond - 1).Truncate(time.Millisecond)
}

// Acquire takes the lock (SET "_lock"+key token NX PX timeout). With
// wait == false it makes one attempt and reports whether it got the lock.
// With wait == true it retries, with jittered exponential backoff, until it
// gets the lock, ctx ends (returning ctx.Err()) or MaxLockAttempts attempts
// have failed (returning an error wrapping lockmutex.ErrMaxLockAttempts).
// Server errors are returned at once, wrapped with the lock key.
func (m *Mutex) Acquire(ctx context.Context, wait bool) (bool, error) {
	if m.err != nil {
		return false, m.err
	}
	return m.h.Run(ctx, m.lockKey, wait, distlock.Loop{
		Try: func(ctx context.Context, token string) (any, bool, error) {
			held, got, err := obtain(ctx, m.locks, m.lockKey, m.ttl(), token)
			return held, got, err
		},
		Next: m.s.Next(m.lockKey),
	})
}

// obtain makes one attempt to take lockKey with token through locks.
func obtain(ctx context.Context, locks *redislock.Client, lockKey string, ttl time.Duration, token string) (*redislock.Lock, bool, error) {
	// With no retry strategy redislock makes exactly one attempt. On a
	// context without a deadline it would set one of now + ttl, which for
	// a short timeout could end the attempt before the server answers:
	// give such a context a roomier one.
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, max(ttl, time.Minute))
		defer cancel()
	}
	held, err := locks.Obtain(ctx, lockKey, ttl, &redislock.Options{Token: token})
	switch {
	case err == nil:
		return held, true, nil
	case errors.Is(err, redislock.ErrNotObtained):
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("redismutex: redis SET NX PX %q: %w", lockKey, err)
}

// Release gives the lock up: the lock key is deleted only if it still
// holds this mutex's token. If it does not (the lock expired, and
// perhaps another holder took it), nothing is changed and Release returns an
// error matching lockmutex.ErrLockLost (and lockmutex.ErrNotHeld). Release on
// a mutex that does not hold the lock returns lockmutex.ErrNotHeld. When the
// server cannot be reached the error is returned and the mutex still counts
// as holding the lock, so Release can be tried again (the key expires by
// itself anyway).
func (m *Mutex) Release(ctx context.Context) error {
	if m.err != nil {
		return m.err
	}
	return release(ctx, m.client, &m.h, m.lockKey)
}

// Extend restarts the lock key's lifetime (LockTimeout from now) if this
// mutex still holds the lock, for holders that work longer than the lock
// timeout. The token is compared and the expiry set in one step, so
// Extend never extends another holder's lock. A lock that was lost returns
// an error matching lockmutex.ErrLockLost, and the mutex no longer counts as
// holding it; a mutex that does not hold the lock returns
// lockmutex.ErrNotHeld.
func (m *Mutex) Extend(ctx context.Context) error {
	if m.err != nil {
		return m.err
	}
	return extend(ctx, &m.h, m.lockKey, m.ttl())
}

// Locked reports whether anyone (this mutex or another) holds the lock,
// that is whether the lock key exists. It does not take the lock.
func (m *Mutex) Locked(ctx context.Context) (bool, error) {
	if m.err != nil {
		return false, m.err
	}
	return locked(ctx, m.client, m.lockKey)
}
