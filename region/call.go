package region

import (
	"context"
	"fmt"
	"time"
)

// call is one GetOrCreate call on a region, past its hit path: the parts
// of the dogpile lock on the key (lock.go), what it reads, locks and
// creates with.
type call struct {
	lock    lock
	r       *Region
	s       *regionState
	key     string // the caller's
	mkey    string // the backend's
	cs      callSettings
	creator func(context.Context) (any, error)
	// degraded: the backend could not be read; the call goes on without it
	// (failopen.go).
	degraded bool
}

// firstRead is the read a hit path made, handed on so that a miss is not
// read (or judged) twice.
type firstRead struct {
	mkey string // the key read: the backend's
	cv   CachedValue
	v    verdict
	err  error // the read failed
}

// getOrCreate is GetOrCreate past its hit path (creator is not nil), given
// the hit path's read:
// the dogpile lock on key, built from the region's pieces. It returns the
// payload as stored (possibly *Serialized) or as created.
func (r *Region) getOrCreate(ctx context.Context, s *regionState, key string, creator func(context.Context) (any, error), cs callSettings, first *firstRead) (any, error) {
	r.startDeadline(&cs)
	c := &call{r: r, s: s, key: key, mkey: first.mkey, cs: cs, creator: creator}
	c.lock = lock{parts: c, async: r.asyncRunner, flights: r.flights, flightKey: c.mkey, region: r.name, key: key}
	cv, v, err := c.judged(ctx, first.cv, first.v, first.err)
	if err != nil {
		return nil, err
	}
	return c.lock.get(ctx, &cv, v)
}

// createAs is GetOrCreateAs past its hit path: the dogpile lock, given the
// caller's first read.
func createAs[T any](ctx context.Context, r *Region, s *regionState, key string, creator func(context.Context) (T, error), cs callSettings, first *firstRead) (T, error) {
	if r.flights.serving(first.mkey, first.v) {
		return payloadAs[T](key, first.cv.Payload)
	}
	v, err := r.getOrCreate(ctx, s, key, func(ctx context.Context) (any, error) { return creator(ctx) }, cs, first)
	if err != nil {
		var zero T
		return zero, err
	}
	return payloadAs[T](key, v)
}

// fetch reads mkey: through the chain's fast path when it has one.
func (s *regionState) fetch(ctx context.Context, mkey string) (CachedValue, bool, error) {
	if s.fast != nil {
		if cv := s.fast.Lookup(mkey); cv != nil {
			return *cv, true, nil
		}
		return CachedValue{}, false, nil
	}
	return s.backend.Get(ctx, mkey)
}

// read reads the key and judges it, for the lock.
func (c *call) read(ctx context.Context) (CachedValue, verdict, error) {
	if c.degraded {
		return CachedValue{}, missing, nil
	}
	cv, ok, err := c.s.fetch(ctx, c.mkey)
	var v verdict
	if err == nil {
		f := c.s.freshness(c.s.maxAge(&c.cs))
		f.early = c.r.early
		v = f.judge(present(&cv, ok))
	}
	return c.judged(ctx, cv, v, err)
}

// judged checks a read of the key, judged v, before the lock acts on it. A
// read that failed fails open (see failOpen).
func (c *call) judged(ctx context.Context, cv CachedValue, v verdict, err error) (CachedValue, verdict, error) {
	if err != nil {
		return CachedValue{}, missing, c.failOpen(ctx, fmt.Errorf("region %q: get %q: %w", c.r.name, c.key, err))
	}
	return cv, v, c.regenerable(v)
}

// regenerable is dogpile's rule that a soft-invalidated value is
// regenerated only against an expiration time.
func (c *call) regenerable(v verdict) error {
	if v == stale && c.s.expirationFor(&c.cs) <= 0 {
		return fmt.Errorf("region %q: key %q: %w", c.r.name, c.key, ErrSoftInvalidationNeedsExpiration)
	}
	return nil
}

// softWithoutExpiration is dogpile's rule that a soft-invalidated region
// needs an expiration time for creation.
func (s *regionState) softWithoutExpiration(cs *callSettings) bool {
	inv := s.invalidator.LastInvalidation()
	return inv != nil && !inv.Hard && s.expirationFor(cs) <= 0
}

// mutex is the key's creation lock as the lock takes it: the backend's, or
// the region's in-process one, kept alive by a lease, timed for the
// Observer, failing open. None when the backend cannot be reached.
func (c *call) mutex() Mutex {
	if c.degraded {
		return nil
	}
	m := c.r.leased(c.r.mutexFor(c.s, c.mkey), c.key)
	return c.failingOpen(observed(m, c.s, c.key))
}

// create calls the creator and stores what it made (unless should-cache
// says no, or the backend is down). A creator error is returned as it is,
// storing nothing. A store error is returned by strict regions; others
// report it and return the value.
func (c *call) create(ctx context.Context) (any, error) {
	r, s := c.r, c.s
	if s.softWithoutExpiration(&c.cs) {
		return nil, fmt.Errorf("region %q: key %q: %w", r.name, c.key, ErrSoftInvalidationNeedsExpiration)
	}
	start := time.Now()
	v, err := callCreator(r, ctx, c.creator)
	took := time.Since(start)
	s.observeCreation(ctx, c.key, took, err)
	if err != nil {
		return nil, err
	}
	r.early.record(took)
	if c.degraded || (c.cs.shouldCache != nil && !c.cs.shouldCache(v)) {
		return v, nil
	}
	if err := s.backend.Set(ctx, c.mkey, newCachedValue(v)); err != nil {
		if err := r.backendFailure(ctx, c.key, fmt.Errorf("region %q: set %q: %w", r.name, c.key, err)); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (c *call) waited(ctx context.Context, d time.Duration) { c.s.observeLockWait(ctx, c.key, d) }

func (c *call) report(ctx context.Context, err error) { c.r.reportError(ctx, c.key, err) }
