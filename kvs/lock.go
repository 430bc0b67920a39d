package kvs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/region"
)

// Lock is a lock on one key of a store, Keystone's KeyValueStoreLock. Get
// one from KeyValueStore.GetLock (or NewLock), Acquire it, pass it to Set or
// Delete for that key, and Release it:
//
//	lock := s.GetLock(key)
//	if err := lock.Acquire(ctx); err != nil { ... }
//	defer lock.Release(ctx)
//	err := s.Set(ctx, key, value, lock)
//
// or let KeyValueStore.WithLock do the acquiring and releasing.
//
// A lock has a timeout: once it has been held for longer than the timeout
// minus LockWindow, Expired is true and Set and Delete refuse it with
// ErrLockTimeout, because the backend's lock (which lives timeout plus
// LockWindow) may soon be taken by someone else. A zero timeout never
// expires.
//
// As in Keystone, a lock stays Active after Release, and a disabled lock
// (enabled == false) takes no mutex at all but is still marked active and
// still expires. Methods are safe for concurrent use, but a Lock is meant
// for one holder: acquiring it again while it holds its mutex fails
// (lockmutex.ErrAlreadyHeld), and so does releasing it when it does not
// (lockmutex.ErrNotHeld). Two Locks on one key (two GetLock calls) exclude
// each other.
type Lock struct {
	mutex   region.Mutex
	key     string
	enabled bool
	timeout time.Duration
	err     error // returned by Acquire: the lock could not be made

	mu       sync.Mutex
	active   bool
	held     bool // this lock holds its mutex (enabled locks only)
	acquired time.Time
}

// NewLock returns an unacquired lock on key, taken with m when enabled.
// timeout is the lock timeout (0: never expires). Most programs use
// KeyValueStore.GetLock instead, which picks the store's mutex, locking
// setting and timeout.
func NewLock(m region.Mutex, key string, enabled bool, timeout time.Duration) *Lock {
	if timeout < 0 {
		timeout = 0
	}
	return &Lock{mutex: m, key: key, enabled: enabled, timeout: timeout}
}

// Key returns the key the lock guards.
func (l *Lock) Key() string { return l.key }

// Enabled reports whether Acquire and Release use the mutex (the store's
// locking setting).
func (l *Lock) Enabled() bool { return l.enabled }

// Timeout returns the lock timeout (0: the lock never expires).
func (l *Lock) Timeout() time.Duration { return l.timeout }

// Acquire takes the lock, waiting until the mutex is free or ctx ends
// (then it returns an error wrapping ctx.Err()). A disabled lock takes no
// mutex. Either way the lock is then active and its time starts.
// Acquiring a lock that this Lock already holds is an error wrapping
// lockmutex.ErrAlreadyHeld (Keystone deadlocked).
func (l *Lock) Acquire(ctx context.Context) error {
	if l.err != nil {
		return l.err
	}
	if l.enabled {
		if l.mutex == nil {
			return fmt.Errorf("kvs: lock %q has no mutex", l.key)
		}
		l.mu.Lock()
		held := l.held
		l.mu.Unlock()
		if held {
			return fmt.Errorf("kvs: acquire lock %q: %w", l.key, lockmutex.ErrAlreadyHeld)
		}
		ok, err := l.mutex.Acquire(ctx, true)
		if err != nil {
			return fmt.Errorf("kvs: acquire lock %q: %w", l.key, err)
		}
		if !ok {
			return fmt.Errorf("%w: %q", ErrLockNotAcquired, l.key)
		}
	}
	l.mu.Lock()
	l.active = true
	l.held = l.enabled
	l.acquired = time.Now()
	l.mu.Unlock()
	slog.DebugContext(ctx, "kvs: lock acquired", "key", l.key)
	return nil
}

// Release gives the lock back (a disabled lock has nothing to give back).
// A lock released after it expired is logged as a warning. Releasing a
// Lock that does not hold its mutex (never acquired, or released already)
// is an error wrapping lockmutex.ErrNotHeld and leaves the mutex alone, so
// a stale Lock can never release the lock another holder took since.
// Other errors are the mutex's (a distributed mutex reports a lock that
// expired and may have been taken by someone else).
func (l *Lock) Release(ctx context.Context) error {
	if !l.enabled {
		return nil
	}
	l.mu.Lock()
	held := l.held
	l.mu.Unlock()
	if !held {
		return fmt.Errorf("kvs: release lock %q: %w", l.key, lockmutex.ErrNotHeld)
	}
	if err := l.mutex.Release(ctx); err != nil {
		// A lost lock is gone; any other failure (a server that did not
		// answer) leaves the lock held so Release can be tried again.
		if errors.Is(err, lockmutex.ErrNotHeld) {
			l.setHeld(false)
		}
		return fmt.Errorf("kvs: release lock %q: %w", l.key, err)
	}
	l.setHeld(false)
	if l.Expired() {
		slog.WarnContext(ctx, "KVS lock released (timeout reached) for: "+l.key, "key", l.key)
	} else {
		slog.DebugContext(ctx, "KVS lock released for: "+l.key, "key", l.key)
	}
	return nil
}

func (l *Lock) setHeld(held bool) {
	l.mu.Lock()
	l.held = held
	l.mu.Unlock()
}

// Active reports whether the lock has been acquired. As in Keystone it
// stays true after Release.
func (l *Lock) Active() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active
}

// Expired reports whether the lock has been held too long to be used:
// with a non-zero timeout, once the time since Acquire plus LockWindow
// exceeds the timeout. With the default 5 s that is after 4 s. A lock that
// was never acquired counts from the zero time, so it is expired unless its
// timeout is zero.
func (l *Lock) Expired() bool {
	if l.timeout == 0 {
		return false
	}
	l.mu.Lock()
	acquired := l.acquired
	l.mu.Unlock()
	// elapsed + LockWindow > timeout, without overflowing for the zero time.
	return time.Since(acquired) > l.timeout-LockWindow
}

// check is Keystone's _action_with_lock: the checks a lock passed to Set or
// Delete must pass, once, before the action. A nil lock means no locking.
func (l *Lock) check(key string) error {
	if l == nil {
		return nil
	}
	if l.key != key {
		return fmt.Errorf("%w: %s != %s", ErrLockKeyMismatch, l.key, key)
	}
	if !l.Active() {
		return fmt.Errorf("%w: key %s", ErrLockNotActive, key)
	}
	if l.Expired() {
		return &LockTimeoutError{Key: key}
	}
	return nil
}

// withLock acquires l, runs fn and releases l, even when fn fails or
// panics. A release error is joined to fn's.
func withLock(ctx context.Context, l *Lock, fn func(*Lock) error) (err error) {
	if err := l.Acquire(ctx); err != nil {
		return err
	}
	defer func() {
		// Release with a context that is not cancelled, so a cancelled
		// caller does not leave a distributed lock behind until it expires.
		if rerr := l.Release(context.WithoutCancel(ctx)); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	return fn(l)
}
