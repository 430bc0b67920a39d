package region

import (
	"context"
	"errors"
	"fmt"

	"github.com/dogpile-go/dogpile/lockmutex"
)

// Fail-open: by default GetOrCreate and GetOrCreateMulti go on without the
// cache when the backend cannot be read, written or locked, reporting the
// error to the ErrorHandler; WithStrictBackendErrors returns it instead.

// WithStrictBackendErrors makes GetOrCreate and GetOrCreateMulti return
// backend and lock errors. By default they fail open: when the backend
// cannot be read, written or locked, the creator's value is returned (and
// the error goes to the ErrorHandler), so a cache outage slows a service
// down instead of failing it.
//
// A creation lock that is busy, held by another caller for longer than
// the waiting caller's bound, is not a backend failure, and this option
// does not change what happens, on either kind of region:
//
//   - a mutex that gives up with an error (lockmutex.ErrMaxLockAttempts,
//     after max_lock_attempts) fails the call with that error: no second
//     creator runs;
//   - a mutex that gives up reporting the lock not acquired, without an
//     error (redismutex.PyLock after its BlockingTimeout, as redis-py's
//     acquire returns False), lets the caller create the value without
//     the lock, as dogpile.cache does (it ignores what acquire returns).
//     Nothing is reported: that is the bound the lock was given.
func WithStrictBackendErrors() Option {
	return func(r *Region) { r.strict = true }
}

// backendFailure handles a backend or lock error in a create call: strict
// regions return it; others report it and go on without the cache. Errors
// that are the caller's doing (an illegal key, a value too large: anything
// matching ErrBadArgument or lockmutex.ErrInvalidKey) are always returned:
// failing open would hide them and cache nothing, or run without a lock.
func (r *Region) backendFailure(ctx context.Context, key string, err error) error {
	if r.strict || errors.Is(err, ErrBadArgument) || errors.Is(err, lockmutex.ErrInvalidKey) {
		return err
	}
	r.reportError(ctx, key, err)
	return nil
}

// failOpen handles a failed read of the key: unless the error is returned
// (see backendFailure), the rest of the call goes on without the backend,
// neither locking, reading nor writing it again, so a hung server costs the
// call one timeout.
func (c *call) failOpen(ctx context.Context, err error) error {
	if err := c.r.backendFailure(ctx, c.key, err); err != nil {
		return err
	}
	c.degraded = true
	return nil
}

// failingOpen returns m as the lock takes it. A caller with a value to
// serve tries m once: an error is reported and reads as "someone else has
// it". A caller without one waits for m: an error it cannot get past (its
// context ended, a lock busy past its attempts, a strict region, the
// caller's own mistake) is returned; any other is reported and the caller
// goes on without the lock, relying on the in-process flight. A waiting
// Acquire that gives up without an error (the mutex's bound on waiting)
// lets the caller go on without the lock, unreported (see
// WithStrictBackendErrors).
func (c *call) failingOpen(m Mutex) Mutex { return &failOpenMutex{Mutex: m, c: c} }

type failOpenMutex struct {
	Mutex
	c       *call
	without bool // acquired without the lock: nothing to release
}

func (m *failOpenMutex) Acquire(ctx context.Context, wait bool) (bool, error) {
	r, key := m.c.r, m.c.key
	got, err := m.Mutex.Acquire(ctx, wait)
	switch {
	case err == nil && (got || !wait):
		return got, nil
	case !wait:
		r.reportError(ctx, key, fmt.Errorf("creation lock: %w", err))
		return false, nil
	case err == nil:
		// The mutex's own bound on waiting (PyLock's BlockingTimeout):
		// dogpile goes on without the lock.
		m.without = true
		return true, nil
	case ctx.Err() != nil:
		return false, err
	case errors.Is(err, lockmutex.ErrMaxLockAttempts):
		// Busy, not broken: going on would run a second creator.
		return false, fmt.Errorf("region %q: key %q: %w", r.name, key, err)
	}
	if err := r.backendFailure(ctx, key, fmt.Errorf("creation lock: %w", err)); err != nil {
		return false, err
	}
	m.without = true
	return true, nil
}

func (m *failOpenMutex) Release(ctx context.Context) error {
	if m.without {
		return nil
	}
	return m.Mutex.Release(ctx)
}
