package region

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// This file is the dogpile lock, dogpile.cache's lock.Lock in Go. The
// region's features wrap it from files of their own (docs/architecture.md
// lists them in reading order).

// verdict is what the freshness rule makes of a key's value.
type verdict uint8

const (
	missing verdict = iota // no usable value: wait for a creator
	stale                  // expired or soft-invalidated: serve it while one caller regenerates
	early                  // fresh, but picked for early refresh: likewise
	fresh                  // serve it
)

// lock is the dogpile lock on one key for one call. Like dogpile's, it is
// given a mutex, a function reading the value and a creator (its parts)
// and an async runner. Go adds flights: callers of this process with no
// value to serve wait for one creation and share its result, as with
// singleflight, rather than queueing on the mutex.
type lock struct {
	parts
	async     AsyncCreationRunner // nil: the caller regenerates
	flights   *flights
	flightKey string // the backend key
	region    string // for messages
	key       string // the caller's, for the async runner and for messages
}

// parts are what a lock is given for one key (call.go has GetOrCreate's).
type parts interface {
	mutex() Mutex                                       // the key's mutex; nil: go on without one
	read(context.Context) (CachedValue, verdict, error) // read and judge the value; an error ends the call
	create(context.Context) (any, error)                // create a value and store it

	// Where the region's features plug in: the fail-safe (failsafe.go)
	// runs around a creation job and bounds the waits of callers with no
	// value (ending them with its context's cause); the Observer hears of
	// waits, the ErrorHandler of errors no caller gets.
	around(ctx context.Context, old *CachedValue, v verdict, job func(context.Context) (any, error)) (any, error)
	bound(context.Context) (context.Context, context.CancelFunc)
	waited(context.Context, time.Duration)
	report(context.Context, error)
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
		wctx, stop := l.bound(ctx)
		start := time.Now()
		select {
		case <-f.done:
			stop()
			l.waited(ctx, time.Since(start))
		case <-wctx.Done():
			stop()
			return nil, waitEnded(ctx, wctx)
		}
		if !f.retry {
			return f.value, f.err
		}
		cv = nil // the leader gave up: start over
	}
}

// lead is the way of the flight's leader, lock.py's _enter_create: take
// the mutex (with a value to serve, only if it is free), look again
// (another process may have made a value meanwhile: one expiry should cost
// one creation), then hand the creation to the async runner, or create.
func (l *lock) lead(ctx context.Context, f *flight, old *CachedValue, v verdict) (any, error) {
	f.lock, f.ctx = l, ctx
	defer f.letGo()
	if m := l.mutex(); m != nil { // none: the flight is the only lock
		got, err := take(ctx, m, old == nil, l.bound)
		if err != nil {
			return nil, err
		}
		if !got {
			return old.Payload, nil // someone else is regenerating it
		}
		f.mutex = m
	}
	cv, nv, err := l.read(ctx)
	if err == nil && (nv == fresh || nv == early) && (old == nil || cv.Metadata.CreatedAt.After(old.Metadata.CreatedAt)) {
		f.settle(cv.Payload, nil)
		return cv.Payload, nil
	}
	if err != nil && old == nil {
		f.settle(nil, err)
		return nil, err
	}
	if serve := old; l.async != nil {
		if serve == nil && err == nil && nv != missing {
			serve = &cv // an expired value appeared: like lock.py, serve it meanwhile
		}
		if serve != nil {
			l.handOff(ctx, f)
			return serve.Payload, nil
		}
	}
	return l.around(ctx, old, v, f.job())
}

// handOff passes the creation to the async runner, as lock.py passes it
// the mutex. The job runs at most once, however often the runner calls it;
// a runner that panics before running it lets go of the flight.
func (l *lock) handOff(ctx context.Context, f *flight) {
	bg := context.WithoutCancel(ctx)
	create := f.job()
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
			once.Do(f.letGo) // the job's hold, for it will not run
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
	got, err := m.Acquire(wctx, wait) // a failOpenMutex: never (false, nil) when waiting
	if err != nil && wctx.Err() != nil {
		return false, waitEnded(ctx, wctx)
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

// A flight is one creation of a key's value in this process: what its
// followers wait for, and what its leader holds (the mutex, once taken). It
// ends when the last of its holders lets go: the leader, and the job
// running the creator, which may outlive the leader (past a fail-safe
// timeout, in the async runner). end, the one place that releases the
// mutex and ends the flight, so runs once whatever happens.
type flight struct {
	done chan struct{}
	// The result, final when done closes: the payload or the error; or, as
	// long as the flight is not settled, retry: no answer, and the
	// followers start over. It is settled before the job is made, or by
	// the job.
	value any
	err   error
	retry bool

	lock    *lock
	ctx     context.Context // the leader's
	mutex   Mutex           // held; nil: none
	holders atomic.Int32
}

// job returns the flight's creation, holding the flight until it has run
// (once): the creator, then settling the flight with its result.
func (f *flight) job() func(context.Context) (any, error) {
	f.holders.Add(1)
	return f.create
}

func (f *flight) create(ctx context.Context) (value any, err error) {
	defer f.letGo()
	defer func() {
		if p := recover(); p != nil {
			f.settle(nil, fmt.Errorf("region %q: creator for key %q panicked: %v", f.lock.region, f.lock.key, p))
			panic(p)
		}
	}()
	value, err = f.lock.create(ctx)
	if err == nil || ctx.Err() == nil {
		// A creation that ended with its caller's context is no answer for
		// the others: they start over with a leader of their own.
		f.settle(value, err)
	}
	return value, err
}

func (f *flight) settle(value any, err error) { f.value, f.err, f.retry = value, err, false }

func (f *flight) letGo() {
	if f.holders.Add(-1) == 0 {
		f.end()
	}
}

func (f *flight) end() {
	if f.mutex != nil {
		if err := f.mutex.Release(context.WithoutCancel(f.ctx)); err != nil {
			f.lock.report(f.ctx, fmt.Errorf("releasing creation lock: %w", err))
		}
	}
	f.lock.flights.remove(f.lock.flightKey, f)
	close(f.done)
}
