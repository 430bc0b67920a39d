package region

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The fail-safe, around the dogpile lock's creation: old values served when
// regeneration fails (Grace) or is slow (SoftTimeout), bounded waits for
// callers with no value (HardTimeout), bounded creators (CreatorTimeout).

// FailSafe configures serving old values when regeneration fails or is
// slow, as FusionCache's fail-safe does. The zero value turns it off.
type FailSafe struct {
	// Grace is how long past its expiration an expired value may still be
	// served when its regeneration fails: the caller gets the old value
	// instead of the creator's error, which goes to the ErrorHandler. For
	// GetOrCreateMulti this holds when every key given to the failing
	// creator had such a value; otherwise the call returns the error.
	Grace time.Duration
	// SoftTimeout bounds how long the caller regenerating an expired value
	// waits for the creator. Past it the caller gets the old value; the
	// creation goes on in the background and stores its value when done.
	// It applies to single-key calls (GetOrCreate, GetOrCreateAs and the
	// functions of CacheOnArguments): a multi-key creator serves keys with
	// and without old values at once, so it is always waited for.
	SoftTimeout time.Duration
	// HardTimeout bounds how long any caller with no value to fall back on
	// waits for a creator (its own or another caller's). Past it the call
	// returns an error wrapping ErrCreationTimeout; the creation goes on in
	// the background.
	HardTimeout time.Duration
	// CreatorTimeout bounds one creator call, in the foreground or left
	// running in the background by SoftTimeout or HardTimeout: the
	// creator's context ends this long after the call starts. The creation
	// then fails with an error wrapping ErrCreationTimeout (so do callers
	// waiting for it), stores nothing and frees the key's creation lock.
	// The creator must honour its context for this to stop it. Zero: a
	// background creation runs until its creator returns.
	CreatorTimeout time.Duration
}

// WithFailSafe turns on serving old values when regeneration fails or is
// slow, and bounds how long callers wait for creators.
func WithFailSafe(f FailSafe) Option {
	return func(r *Region) { r.failSafe = f }
}

// startDeadline starts the call's FailSafe.HardTimeout clock.
func (r *Region) startDeadline(cs *callSettings) {
	if r.failSafe.HardTimeout > 0 && cs.deadline.IsZero() {
		cs.deadline = time.Now().Add(r.failSafe.HardTimeout)
	}
}

// remaining is how long the call may still wait (0: no bound).
func (cs *callSettings) remaining() time.Duration {
	if cs.deadline.IsZero() {
		return 0
	}
	return max(time.Until(cs.deadline), time.Nanosecond)
}

// bound bounds a wait of a caller with no value by the call's hard
// timeout: the returned context ends with an ErrCreationTimeout cause.
func (c *call) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.cs.deadline.IsZero() {
		return ctx, func() {}
	}
	return context.WithDeadlineCause(ctx, c.cs.deadline, c.r.timeoutError(c.key))
}

func (r *Region) timeoutError(key string) error {
	return fmt.Errorf("%w: region %q, key %q, after %v", ErrCreationTimeout, r.name, key, r.failSafe.HardTimeout)
}

// around runs create for the lock and waits for it. A caller with no value
// (old == nil) waits within its hard timeout. A caller regenerating an old
// value waits at most SoftTimeout, then serves the old value, and serves it
// too when the creator fails: always after an early refresh (the old value
// has not even expired), and within Grace after its expiry.
func (c *call) around(ctx context.Context, old *CachedValue, v verdict, create func(context.Context) (any, error)) (any, error) {
	if old == nil {
		value, err := c.r.within(ctx, c.cs.remaining(), c.key, create)
		if err == errLeftRunning {
			return nil, c.r.timeoutError(c.key)
		}
		return value, err
	}
	value, err := c.r.within(ctx, c.r.failSafe.SoftTimeout, c.key, create)
	switch {
	case err == errLeftRunning:
		return old.Payload, nil
	case err != nil && v == early:
		c.report(ctx, fmt.Errorf("early refresh failed; serving the current value: %w", err))
		return old.Payload, nil
	case err != nil && ctx.Err() == nil && c.r.withinGrace(c.s, old, &c.cs):
		c.report(ctx, fmt.Errorf("regeneration failed; serving the expired value: %w", err))
		return old.Payload, nil
	}
	return value, err
}

// withinGrace reports whether an expired value may still be served under
// the fail-safe grace period.
func (r *Region) withinGrace(s *regionState, old *CachedValue, cs *callSettings) bool {
	if r.failSafe.Grace <= 0 {
		return false
	}
	exp := s.expirationFor(cs)
	return exp > 0 && time.Since(old.Metadata.CreatedAt) <= exp+r.failSafe.Grace
}

// errLeftRunning: within stopped waiting for a creation that goes on.
var errLeftRunning = errors.New("creation left running")

// within runs create, waiting at most limit (0: no limit, create runs on
// the caller's goroutine and context). Past the limit, or when ctx ends, it
// stops waiting and returns errLeftRunning or ctx.Err(); the creation goes
// on in the background, and then reports its own error, which no one else
// will see.
func (r *Region) within(ctx context.Context, limit time.Duration, key string, create func(context.Context) (any, error)) (any, error) {
	if limit <= 0 {
		return create(ctx)
	}
	type result struct {
		value any
		err   error
	}
	done := make(chan result, 1)
	var mu sync.Mutex
	left := false
	deliver := func(res result) {
		mu.Lock()
		defer mu.Unlock()
		if left {
			if res.err != nil {
				r.reportError(context.WithoutCancel(ctx), key, fmt.Errorf("background creation: %w", res.err))
			}
			return
		}
		done <- res
	}
	leave := func(why error) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		left = true
		select {
		case res := <-done: // came in just now
			return res.value, res.err
		default:
			return nil, why
		}
	}
	bg := context.WithoutCancel(ctx)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				deliver(result{nil, fmt.Errorf("region %q: creator for key %q panicked: %v", r.name, key, p)})
			}
		}()
		v, err := create(bg)
		deliver(result{v, err})
	}()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case res := <-done:
		return res.value, res.err
	case <-t.C:
		return leave(errLeftRunning)
	case <-ctx.Done():
		return leave(ctx.Err())
	}
}

// callCreator calls create within FailSafe.CreatorTimeout, if set.
func callCreator[T any](r *Region, ctx context.Context, create func(context.Context) (T, error)) (T, error) {
	d := r.failSafe.CreatorTimeout
	if d <= 0 {
		return create(ctx)
	}
	cctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	v, err := create(cctx)
	if err != nil && ctx.Err() == nil && cctx.Err() != nil {
		err = fmt.Errorf("%w: region %q: creator ran past FailSafe.CreatorTimeout (%v): %w", ErrCreationTimeout, r.name, d, err)
	}
	return v, err
}
