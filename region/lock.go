package region

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// This file is the dogpile lock, dogpile.cache's lock.Lock in Go. The
// region's features wrap it: GetOrCreate builds it (call.go), the fail-safe
// runs around its creation (failsafe.go), its mutex comes with a lease
// (lease.go), timed for the Observer (observer.go) and failing open
// (failopen.go), and GetOrCreateMulti is built of its pieces (multi.go).

// verdict is what the freshness rule makes of a key's value.
type verdict uint8

const (
	missing verdict = iota // no usable value: wait for a creator
	stale                  // expired or soft-invalidated: serve it while one caller regenerates
	early                  // fresh, but picked for early refresh: likewise
	fresh                  // serve it
)

// freshness is the rule a call judges values by.
type freshness struct {
	maxAge      time.Duration // values older than this are stale; 0: age does not matter
	invalidated *Invalidation // values created before the last invalidation are invalidated; nil: none
	early       *earlyRefresh // nil: no early refresh (reads, or a region without it)
	timeless    bool          // neither invalidation nor age matters
}

// judge is the freshness rule, written once: every value read is judged
// here, on the hit paths too, into which it is inlined (keep it inlinable:
// a value that cannot expire is then judged without a call). byTime is the
// rest of it, for values that can.
func (f *freshness) judge(cv *CachedValue) verdict {
	if cv == nil || cv.Metadata.Version != ValueVersion {
		return missing
	}
	if f.timeless {
		return fresh
	}
	return f.byTime(cv)
}

func (f *freshness) byTime(cv *CachedValue) verdict {
	created := cv.Metadata.CreatedAt
	if inv := f.invalidated; inv != nil && created.Before(inv.At) {
		if inv.Hard {
			return missing
		}
		return stale
	}
	if f.maxAge <= 0 {
		return fresh
	}
	age := time.Since(created)
	switch {
	case age > f.maxAge:
		return stale
	case f.early != nil && f.early.pick(age, f.maxAge):
		return early
	}
	return fresh
}

// lock is the dogpile lock on one key for one call. Like dogpile's, it is
// given a mutex, a function reading the value, a creator and an async
// runner. Go adds a flight per key (flight.go): callers of this process
// with no value to serve wait for one creation and share its result, rather
// than queueing on the mutex.
type lock struct {
	mutex   func() Mutex                                        // the key's mutex; nil: go on without one
	read    func(context.Context) (CachedValue, verdict, error) // read and judge the value; an error ends the call
	creator func(context.Context) (any, error)                  // create a value and store it
	async   AsyncCreationRunner                                 // nil: the caller regenerates

	flights   *flightGroup
	flightKey string // the backend key

	// Where the region's features plug in (call.go): the fail-safe runs
	// around the creation (a job, see creation.job) and bounds the waits of
	// callers with no value (ending them with its context's cause); the
	// Observer hears of waits, the ErrorHandler of errors no caller gets.
	around func(ctx context.Context, old *CachedValue, v verdict, job func(context.Context) (any, error)) (any, error)
	bound  func(context.Context) (context.Context, context.CancelFunc)
	waited func(context.Context, time.Duration)
	report func(context.Context, error)

	region, key string // for the async runner and for messages
}

// get returns the key's value, as lock.py's Lock.__enter__ does. cv,
// judged v, is what the caller has read; nil: nothing yet.
func (l *lock) get(ctx context.Context, cv *CachedValue, v verdict) (any, error) {
	for {
		if cv == nil {
			now, nv, err := l.read(ctx)
			if err != nil {
				return nil, err
			}
			cv, v = &now, nv
		}
		if v == fresh {
			return cv.Payload, nil
		}
		var old *CachedValue // a value to serve meanwhile
		if v != missing {
			old = cv
		}
		f, leader := l.flights.join(l.flightKey)
		switch {
		case leader:
			return l.lead(ctx, f, old, v)
		case old != nil:
			return old.Payload, nil // being regenerated in this process
		}
		if err := l.follow(ctx, f); err != nil {
			return nil, err
		}
		if !f.retry {
			return f.value, f.err
		}
		cv = nil // the leader gave up: start over
	}
}

// follow waits for another caller's creation of the key in this process.
func (l *lock) follow(ctx context.Context, f *flight) error {
	wctx, stop := l.bound(ctx)
	defer stop()
	start := time.Now()
	select {
	case <-f.done:
		l.waited(ctx, time.Since(start))
		return nil
	case <-wctx.Done():
		return waitEnded(ctx, wctx)
	}
}

// lead is the way of the caller that leads the key's flight, lock.py's
// _enter_create: take the mutex (with a value to serve, only if it is
// free), look again (another process may have made a value meanwhile: one
// expiry should cost one creation), then hand the creation to the async
// runner, or create.
func (l *lock) lead(ctx context.Context, f *flight, old *CachedValue, v verdict) (any, error) {
	c := &creation{lock: l, flight: f, ctx: ctx}
	c.holders.Add(1)
	defer c.letGo()
	if m := l.mutex(); m != nil { // none: the flight is the only lock
		got, err := take(ctx, m, old == nil, l.bound)
		if err != nil {
			return nil, err
		}
		if !got {
			return old.Payload, nil // someone else is regenerating it
		}
		c.mutex = m
	}
	cv, nv, err := l.read(ctx)
	if err == nil && (nv == fresh || nv == early) && (old == nil || cv.Metadata.CreatedAt.After(old.Metadata.CreatedAt)) {
		c.settle(cv.Payload, nil)
		return cv.Payload, nil
	}
	if err != nil && old == nil {
		c.settle(nil, err)
		return nil, err
	}
	if serve := old; l.async != nil {
		if serve == nil && err == nil && nv != missing {
			serve = &cv // an expired value appeared: like lock.py, serve it meanwhile
		}
		if serve != nil {
			l.handOff(ctx, c)
			return serve.Payload, nil
		}
	}
	return l.around(ctx, old, v, c.job())
}

// handOff passes the creation to the async runner, as lock.py passes it
// the mutex. The job runs at most once, however often the runner calls it;
// a runner that panics before running it lets go of the creation.
func (l *lock) handOff(ctx context.Context, c *creation) {
	bg := context.WithoutCancel(ctx)
	create := c.job()
	var once sync.Once
	job := func() {
		once.Do(func() {
			if _, err := create(bg); err != nil {
				l.report(bg, fmt.Errorf("background regeneration: %w", err))
			}
		})
	}
	defer func() {
		if p := recover(); p != nil {
			l.report(ctx, fmt.Errorf("region %q: async creation runner panicked: %v", l.region, p))
			once.Do(c.letGo) // the job's hold, for it will not run
		}
	}()
	l.async(l.key, job)
}

// take takes m: waiting for it, within bound, or trying once (false:
// someone else has it).
func take(ctx context.Context, m Mutex, wait bool, bound func(context.Context) (context.Context, context.CancelFunc)) (bool, error) {
	wctx := ctx
	if wait {
		var stop context.CancelFunc
		wctx, stop = bound(ctx)
		defer stop()
	}
	got, err := m.Acquire(wctx, wait)
	switch {
	case err != nil && wctx.Err() != nil:
		return false, waitEnded(ctx, wctx)
	case err == nil && wait && !got:
		return false, errors.New("region: a mutex refused a waiting Acquire without an error")
	}
	return got && err == nil, err
}

// waitEnded is the error of a wait whose context ended: the caller's, or
// else the bound's cause.
func waitEnded(ctx, wctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.Cause(wctx)
}

// creation is the leading caller's hold on the key: its flight and, once
// taken, the mutex. It ends when the last of its holders lets go: the
// leader, and the job running the creator, which may outlive the leader
// (past a fail-safe timeout, in the async runner). end, the one place that
// releases the mutex and ends the flight, so runs once whatever happens.
type creation struct {
	lock    *lock
	flight  *flight
	ctx     context.Context // the leader's
	mutex   Mutex           // held; nil: none
	holders atomic.Int32
	// settled: the flight has a result for its waiters (if not, they start
	// over). It is settled before the job is made, or by the job.
	settled bool
}

// job returns the creation's work, holding the creation until it has run
// (once): the creator, then settling the flight with its result.
func (c *creation) job() func(context.Context) (any, error) {
	c.holders.Add(1)
	return c.create
}

func (c *creation) create(ctx context.Context) (value any, err error) {
	defer c.letGo()
	defer func() {
		if p := recover(); p != nil {
			c.settle(nil, fmt.Errorf("region %q: creator for key %q panicked: %v", c.lock.region, c.lock.key, p))
			panic(p)
		}
	}()
	value, err = c.lock.creator(ctx)
	if err == nil || ctx.Err() == nil {
		// A creation that ended with its caller's context is no answer for
		// the others: they start over with a leader of their own.
		c.settle(value, err)
	}
	return value, err
}

func (c *creation) settle(value any, err error) {
	c.settled, c.flight.value, c.flight.err = true, value, err
}

func (c *creation) letGo() {
	if c.holders.Add(-1) == 0 {
		c.end()
	}
}

func (c *creation) end() {
	if c.mutex != nil {
		if err := c.mutex.Release(context.WithoutCancel(c.ctx)); err != nil {
			c.lock.report(c.ctx, fmt.Errorf("releasing creation lock: %w", err))
		}
	}
	c.flight.retry = !c.settled
	c.lock.flights.finish(c.lock.flightKey, c.flight)
}
