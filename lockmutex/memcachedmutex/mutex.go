// Package memcachedmutex is dogpile.cache's and Keystone's memcached lock:
// a mutex held while the item "_lock" + key exists on the memcached
// servers, created with memcached's add, so it excludes every process that
// uses the same servers. It satisfies region.Mutex; backends/memcache and
// backends/gocache return it from GetMutex.
//
// The errors it returns match lockmutex's sentinels (lockmutex.ErrLockLost,
// lockmutex.ErrMaxLockAttempts, ...) with errors.Is; see package lockmutex
// for the rules every distributed mutex follows (tokens, lock timeouts,
// backoff, contexts).
package memcachedmutex

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/internal/memcacheutil"
	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/lockmutex/internal/distlock"
)

// Options configure a Mutex. The zero value gives the defaults.
type Options struct {
	// LockTimeout is how long the lock item lives at least: a holder that
	// dies without releasing blocks others for about this long. memcached
	// 1.6 keeps time in whole seconds with a clock (current_time) that its
	// timer samples about once a second, slightly late; when the lateness
	// crosses a second the clock jumps 2 s in one step (roughly every 10 to
	// 12 minutes per server). So an item stored for N seconds can vanish
	// after just over N-2 seconds. The mutex stores the item for
	// LockTimeout rounded up to whole seconds plus two, so the lock never
	// expires before LockTimeout has passed, even across such a step (a
	// holder may rely on it that long), and lasts at most about two
	// seconds longer. Zero means lockmutex.DefaultLockTimeout (5s).
	LockTimeout time.Duration

	// MaxLockAttempts bounds the attempts of a blocking Acquire; when they
	// are used up, Acquire fails with lockmutex.ErrMaxLockAttempts. Zero
	// means no limit (wait until the lock is free or ctx ends). Keystone's
	// default is 15.
	MaxLockAttempts int

	// RetryDelay is the first pause between two attempts of a blocking
	// Acquire; the pauses double up to MaxRetryDelay and are jittered.
	// Zero means lockmutex.DefaultRetryDelay (10ms).
	RetryDelay time.Duration

	// MaxRetryDelay caps the pause between two attempts. Zero means
	// lockmutex.DefaultMaxRetryDelay (500ms).
	MaxRetryDelay time.Duration

	// NoExpiry stores the lock item without an expiration, as
	// dogpile.cache's MemcachedLock does with its default lock_timeout of
	// 0: a holder that dies without releasing blocks others until the item
	// is deleted or evicted. LockTimeout is then ignored.
	NoExpiry bool

	// KeyProblem, when not nil, says why a lock item name cannot be sent
	// ("" when it can), replacing the default rule (printable non-space
	// ASCII, at most 250 bytes). The dogpile.cache memcached backends pass
	// their Python client's rule (python-memcached also allows bytes of
	// 0x80 and above), so a lock either side can take, the other can too.
	KeyProblem func(key string) string
}

// Mutex is a lock shared by every process that talks to the same
// memcached servers: dogpile.cache's and Keystone's memcached lock. It holds
// the lock while an item named "_lock" + key exists; the item holds a random
// token that identifies this holder, and expires after the lock timeout so
// that a crashed holder cannot block others forever.
//
// A Mutex value stands for one holder: it is not reentrant, and Release,
// Extend and Held refer to its own hold only. Its methods are safe to call
// from several goroutines, but a second Acquire while the value holds the
// lock (or is acquiring it) fails with lockmutex.ErrAlreadyHeld.
//
// gomemcache calls take no context: ctx is checked before every call to
// memcached and during the pauses of a blocking Acquire, and each call is
// bounded by the client's Timeout.
//
// After a memcached restart the client's pooled connections are dead. A
// command that fails on one of them (EOF, connection reset, broken pipe) is
// sent again on another connection, up to once per idle connection the
// client keeps plus once more, so a restart does not fail the next lock
// calls (the lock items themselves are gone with the old process: a held
// lock reads as lost). Timeouts and refused connections are not retried.
//
// A Mutex satisfies region.Mutex.
type Mutex struct {
	client   *memcache.Client
	key      string
	lockKey  string
	keyErr   error // non-nil: lockKey cannot be sent to memcached
	noExpiry bool
	s        distlock.Settings
	h        distlock.Holder
}

// New returns a mutex for key on the memcached servers behind client.
// Nothing is sent until Acquire. When "_lock" + key is not a legal
// memcached key (over 250 bytes, or containing anything but printable
// non-space ASCII: spaces, control characters and bytes of 0x80 or more
// are refused, as by the memcached backend's CheckKey), every method
// returns an error wrapping lockmutex.ErrInvalidKey; callers are expected
// to mangle keys (for example with a SHA-1 key mangler) first. A nil
// client gives a mutex whose every method returns lockmutex.ErrNilClient.
func New(client *memcache.Client, key string, opts Options) *Mutex {
	m := &Mutex{
		client:   client,
		key:      key,
		lockKey:  lockmutex.LockKeyPrefix + key,
		s:        distlock.NewSettings(opts.LockTimeout, opts.MaxLockAttempts, opts.RetryDelay, opts.MaxRetryDelay),
		noExpiry: opts.NoExpiry,
	}
	switch {
	case client == nil:
		m.keyErr = fmt.Errorf("%w: memcached mutex for %q", lockmutex.ErrNilClient, m.lockKey)
	case opts.KeyProblem != nil:
		if reason := opts.KeyProblem(m.lockKey); reason != "" {
			m.keyErr = fmt.Errorf("%w: memcached key %q: %s", lockmutex.ErrInvalidKey, m.lockKey, reason)
		}
	default:
		m.keyErr = checkMemcachedKey(m.lockKey)
	}
	return m
}

// checkMemcachedKey reports why k is not a legal memcached key, if it is
// not (memcacheutil.KeyProblem: the memcached backend's rules).
func checkMemcachedKey(k string) error {
	if reason := memcacheutil.KeyProblem(k); reason != "" {
		return fmt.Errorf("%w: memcached key %q: %s", lockmutex.ErrInvalidKey, k, reason)
	}
	return nil
}

// Key returns the key the mutex guards.
func (m *Mutex) Key() string { return m.key }

// LockKey returns the name of the lock item: "_lock" + Key().
func (m *Mutex) LockKey() string { return m.lockKey }

// LockTimeout returns the lifetime of the lock item, as configured (before
// memcached's rounding up to whole seconds), or zero for an item without
// expiry (Options.NoExpiry; region lock leases then have nothing
// to extend).
func (m *Mutex) LockTimeout() time.Duration {
	if m.noExpiry {
		return 0 // the item never expires: nothing to extend
	}
	return m.s.LockTimeout
}

// Held reports whether this mutex acquired the lock and has not released it
// since. It does not ask the server, so the lock may have expired meanwhile;
// Extend checks.
func (m *Mutex) Held() bool { return m.h.Held() }

// clockStepMargin is what a lock item's lifetime adds to the lock timeout:
// memcached's clock can advance 2 s in one step (see
// Options.LockTimeout).
const clockStepMargin = 2

// expiration is the memcached expiration for a new or extended lock item:
// the lock timeout rounded up to whole seconds, plus two seconds for
// memcached's clock, which can step 2 s at once (see
// Options.LockTimeout).
func (m *Mutex) expiration() int32 {
	if m.noExpiry {
		return 0
	}
	// Longer than memcached's relative range: an absolute time.
	return memcacheutil.Expiration(int64(memcacheutil.Seconds(m.s.LockTimeout)) + clockStepMargin)
}

// Acquire takes the lock with memcached's add, which stores the lock item
// only when it does not exist. With wait == false it makes one attempt and
// reports whether it got the lock. With wait == true it retries, with
// jittered exponential backoff, until it gets the lock, ctx ends (returning
// ctx.Err()) or MaxLockAttempts attempts have failed (returning an error
// wrapping lockmutex.ErrMaxLockAttempts). Server errors are returned at
// once, wrapped with the lock key.
func (m *Mutex) Acquire(ctx context.Context, wait bool) (bool, error) {
	if m.keyErr != nil {
		return false, m.keyErr
	}
	return m.h.Acquire(ctx, m.s, m.lockKey, wait, func(ctx context.Context, token string) (bool, error) {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		item := &memcache.Item{Key: m.lockKey, Value: []byte(token), Expiration: m.expiration()}
		retried, err := m.retry(func() error { return m.client.Add(item) })
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, memcache.ErrNotStored):
			if retried {
				// An add that failed on a broken connection may have
				// reached the server before the connection broke: then
				// the item holds our own token, and the lock is ours.
				if it, _, err := m.get(); err == nil && string(it.Value) == token {
					return true, nil
				}
			}
			return false, nil
		default:
			return false, fmt.Errorf("memcachedmutex: memcached add %q: %w", m.lockKey, err)
		}
	})
}

// retry runs call, repeating it while it fails on a stale pooled
// connection (memcacheutil.Retry): at most once per idle connection the
// client may keep, plus once on a new connection (after a server restart
// every pooled connection is dead). Timeouts and refused connections are
// not repeated. retried reports whether call was repeated, so that callers
// can allow for a first attempt that reached the server after all.
func (m *Mutex) retry(call func() error) (retried bool, err error) {
	return memcacheutil.Retry(memcacheutil.Attempts(m.client.MaxIdleConns), call)
}

// get reads the lock item with gets (value and CAS id), retrying on stale
// connections.
func (m *Mutex) get() (item *memcache.Item, retried bool, err error) {
	retried, err = m.retry(func() (err error) {
		item, err = m.client.Get(m.lockKey)
		return err
	})
	return item, retried, err
}

// Release gives the lock up, deleting the lock item only while it still
// holds this mutex's token.
//
// memcached's text protocol has no compare-and-delete, and a plain delete
// after checking the token would race with expiry: the item could expire
// and be added by another holder between the check and the delete. So
// Release reads the item with gets (value and CAS id) and, if the value is
// this mutex's token, replaces it with cas using a negative expiration,
// which memcached treats as "expired now": the item is gone at once, as if
// deleted, and the cas applies only if nobody changed the item since the
// gets. If the item is missing, holds another token, or changed in between,
// the lock was lost: Release changes nothing and returns an error matching
// lockmutex.ErrLockLost (and lockmutex.ErrNotHeld).
//
// Release on a mutex that does not hold the lock returns
// lockmutex.ErrNotHeld. When the server cannot be reached the error is
// returned and the mutex still counts as holding the lock, so Release can
// be tried again (the item expires by itself anyway).
func (m *Mutex) Release(ctx context.Context) error {
	if m.keyErr != nil {
		return m.keyErr
	}
	token, err := m.h.Current(m.lockKey, "release")
	if err != nil {
		return err
	}
	err = m.compareAndSwap(ctx, token, "release", -1)
	if err == nil || errors.Is(err, lockmutex.ErrLockLost) {
		m.h.Forget(token)
	}
	return err
}

// Extend restarts the lock item's lifetime (LockTimeout from now) if this
// mutex still holds the lock, for holders that work longer than the lock
// timeout. It uses the same gets / cas pair as Release, so it never extends
// another holder's lock. A lock that was lost returns an error matching
// lockmutex.ErrLockLost, and the mutex no longer counts as holding it; a
// mutex that does not hold the lock returns lockmutex.ErrNotHeld.
func (m *Mutex) Extend(ctx context.Context) error {
	if m.keyErr != nil {
		return m.keyErr
	}
	token, err := m.h.Current(m.lockKey, "extend")
	if err != nil {
		return err
	}
	err = m.compareAndSwap(ctx, token, "extend", m.expiration())
	if errors.Is(err, lockmutex.ErrLockLost) {
		m.h.Forget(token)
	}
	return err
}

// compareAndSwap rewrites the lock item with the given expiration if it
// still holds token. A negative expiration removes it.
//
// A cas that failed on a broken connection and, sent again, finds the
// item changed or gone is ambiguous: the first cas may have been applied
// before the connection broke. compareAndSwap then looks once more: if the
// item still holds the token, the lock is still ours and the cas is made
// again; if a release finds it gone, it is released.
func (m *Mutex) compareAndSwap(ctx context.Context, token, op string, expiration int32) error {
	ambiguous := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		item, _, err := m.get() // gets: fills in CasID
		switch {
		case errors.Is(err, memcache.ErrCacheMiss):
			if ambiguous && expiration < 0 {
				return nil // our earlier cas removed it
			}
			return distlock.LockLost(m.lockKey, op)
		case err != nil:
			return fmt.Errorf("memcachedmutex: %s %q: memcached gets: %w", op, m.lockKey, err)
		case string(item.Value) != token:
			return distlock.LockLost(m.lockKey, op)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		item.Expiration = expiration
		if expiration < 0 {
			item.Value = nil
		}
		retried, err := m.retry(func() error { return m.client.CompareAndSwap(item) })
		switch {
		case err == nil:
			return nil
		case errors.Is(err, memcache.ErrCASConflict), errors.Is(err, memcache.ErrNotStored), errors.Is(err, memcache.ErrCacheMiss):
			if retried && !ambiguous {
				ambiguous = true
				continue
			}
			// Changed, expired or evicted since the gets: someone else's now.
			return distlock.LockLost(m.lockKey, op)
		default:
			return fmt.Errorf("memcachedmutex: %s %q: memcached cas: %w", op, m.lockKey, err)
		}
	}
}

// Locked reports whether anyone (this mutex or another) holds the lock,
// that is whether the lock item exists. It does not take the lock.
func (m *Mutex) Locked(ctx context.Context) (bool, error) {
	if m.keyErr != nil {
		return false, m.keyErr
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	_, _, err := m.get()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, memcache.ErrCacheMiss):
		return false, nil
	default:
		return false, fmt.Errorf("memcachedmutex: memcached get %q: %w", m.lockKey, err)
	}
}
