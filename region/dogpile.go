package region

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/lockmutex"
)

// freshness is how usable a cached value is for GetOrCreate.
type freshness int

const (
	missing freshness = iota // no usable value: wait for a creator
	stale                    // expired or soft-invalidated: serve while one caller regenerates
	early                    // fresh, but chosen for early refresh: serve, and one caller regenerates
	fresh                    // serve
)

// expirationFor is the expiration a call uses: the call's own
// (WithExpiration; 0 means every value is expired, negative means never),
// else the region's (0: never).
func (s *regionState) expirationFor(cs *callSettings) time.Duration {
	if !cs.setExp {
		return s.expiration
	}
	switch {
	case cs.expiration == 0:
		return time.Nanosecond // dogpile's expiration_time=0: always expired
	case cs.expiration < 0:
		return 0
	}
	return cs.expiration
}

// maybeInvalidated is InvalidationStrategy.IsInvalidated with the latest
// invalidation mark read inline (one atomic load on the hit path); only a
// strategy whose mark is not known (marksLazy) is asked.
func (s *regionState) maybeInvalidated(created time.Time) bool {
	if m := s.marks.Load(); m != nil {
		return created.UnixNano() < m.at
	}
	return s.marksLazy && s.invalidator.IsInvalidated(created)
}

// readable reports whether a value read by Get-style calls is returned.
func (s *regionState) readable(cv *CachedValue, cs *callSettings) bool {
	if cv.Metadata.Version != ValueVersion {
		return false
	}
	ct := cv.Metadata.CreatedAt
	if s.maybeInvalidated(ct) && (!cs.ignoreExp || s.invalidator.IsHardInvalidated(ct)) {
		return false
	}
	if cs.ignoreExp {
		return true
	}
	exp := s.expirationFor(cs)
	return exp <= 0 || time.Since(ct) <= exp
}

// freshness judges a value read by GetOrCreate-style calls.
func (s *regionState) freshness(cv *CachedValue, cs *callSettings) (freshness, error) {
	state, _, err := s.classify(cv, cs)
	return state, err
}

// classify is freshness that also returns the value's age when it had to
// measure it (-1 otherwise), so early refresh needs no second clock read.
// cv is nil when the key is absent.
func (s *regionState) classify(cv *CachedValue, cs *callSettings) (freshness, time.Duration, error) {
	if cv == nil || cv.Metadata.Version != ValueVersion {
		return missing, -1, nil
	}
	ct := cv.Metadata.CreatedAt
	exp := s.expirationFor(cs)
	if s.maybeInvalidated(ct) {
		if s.invalidator.IsHardInvalidated(ct) {
			return missing, -1, nil
		}
		if exp <= 0 {
			return missing, -1, ErrSoftInvalidationNeedsExpiration
		}
		return stale, -1, nil
	}
	if cs.ignoreExp || exp <= 0 {
		return fresh, -1, nil
	}
	age := time.Since(ct)
	if age <= exp {
		return fresh, age, nil
	}
	return stale, age, nil
}

// present returns cv when ok, else nil.
func present(cv *CachedValue, ok bool) *CachedValue {
	if ok {
		return cv
	}
	return nil
}

// readResult is one read of a key, handed from a fast path to the full one
// so a miss is not read twice.
type readResult struct {
	cv  CachedValue
	ok  bool
	err error
	// judged: state is the value's freshness as the fast path found it
	// (early refresh draws at most once per call).
	judged bool
	state  freshness
}

// read reads mkey through the backend's fast path when it has one.
func (s *regionState) read(ctx context.Context, mkey string) readResult {
	if s.fast != nil {
		if cv := s.fast.Lookup(mkey); cv != nil {
			return readResult{cv: *cv, ok: true}
		}
		return readResult{}
	}
	cv, ok, err := s.backend.Get(ctx, mkey)
	return readResult{cv: cv, ok: ok, err: err}
}

// judge is freshness plus early refresh: a fresh value may be chosen for
// regeneration a little before it expires (WithEarlyRefresh).
func (r *Region) judge(s *regionState, cv *CachedValue, cs *callSettings) (freshness, error) {
	state, age, err := s.classify(cv, cs)
	if state == fresh && age >= 0 && r.earlyBeta > 0 && r.refreshEarly(age, s.expirationFor(cs)) {
		return early, nil
	}
	return state, err
}

// refreshEarly is XFetch's test: refresh when
// age - delta*beta*ln(rand) >= expiration, delta being how long creation
// takes.
func (r *Region) refreshEarly(age, exp time.Duration) bool {
	delta := r.creationEWMA.Load()
	if delta <= 0 {
		return false
	}
	scale := float64(delta) * r.earlyBeta
	// -ln(u) exceeds 20 with probability e^-20: far from expiry, skip the
	// random draw.
	if float64(age)+20*scale < float64(exp) {
		return false
	}
	u := rand.Float64()
	if u == 0 {
		return true
	}
	return float64(age)+scale*-math.Log(u) >= float64(exp)
}

// recordCreation feeds the creator-duration average.
func (r *Region) recordCreation(took time.Duration) {
	old := r.creationEWMA.Load()
	if old == 0 {
		r.creationEWMA.Store(int64(took))
		return
	}
	r.creationEWMA.Store(old + (int64(took)-old)/8)
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

// getOrCreate is the dogpile lock for one key. It returns the payload as
// stored (possibly *Serialized) or as created. first, when not nil, is a
// read the caller already made.
func (r *Region) getOrCreate(ctx context.Context, s *regionState, key string, creator func(context.Context) (any, error), cs *callSettings, first *readResult) (any, error) {
	if creator == nil {
		return nil, nilCreator(key)
	}
	r.startDeadline(cs)
	mkey := s.mangle(key)
	for {
		var rr readResult
		if first != nil {
			rr, first = *first, nil
		} else {
			rr = s.read(ctx, mkey)
		}
		degraded := false
		if rr.err != nil {
			if err := r.backendFailure(ctx, key, fmt.Errorf("region %q: get %q: %w", r.name, key, rr.err)); err != nil {
				return nil, err
			}
			rr.ok, degraded = false, true // fail open: treat as missing
		}
		state := rr.state
		if !rr.judged {
			var err error
			if state, err = r.judge(s, present(&rr.cv, rr.ok), cs); err != nil {
				return nil, fmt.Errorf("region %q: key %q: %w", r.name, key, err)
			}
		}
		switch state {
		case fresh:
			return rr.cv.Payload, nil
		case stale, early:
			return r.regenerateStale(ctx, s, key, mkey, rr.cv, creator, cs, state == early)
		}
		f, leader := r.flights.join(mkey)
		var v any
		var err error
		var retry bool
		if leader {
			v, err, retry = r.createMissing(ctx, s, key, mkey, f, creator, cs, degraded)
		} else {
			v, err, retry = r.waitFlight(ctx, s, key, f, cs)
		}
		if !retry {
			return v, err
		}
	}
}

// waitFlight waits for another caller's creation of key in this process.
func (r *Region) waitFlight(ctx context.Context, s *regionState, key string, f *flight, cs *callSettings) (value any, err error, retry bool) {
	start := time.Now()
	var timeout <-chan time.Time
	if d := cs.remaining(); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-f.done:
		s.observeLockWait(ctx, key, time.Since(start))
		if f.retry {
			return nil, nil, true
		}
		return f.value, f.err, false
	case <-ctx.Done():
		return nil, ctx.Err(), false
	case <-timeout:
		return nil, r.timeoutError(key), false
	}
}

func (r *Region) timeoutError(key string) error {
	return fmt.Errorf("%w: region %q, key %q, after %v", ErrCreationTimeout, r.name, key, r.failSafe.HardTimeout)
}

// regenerateStale handles an expired value (or one chosen for early
// refresh): the caller that wins the creation lock regenerates (or hands
// the job to the async runner); every other caller returns the old value
// at once.
func (r *Region) regenerateStale(ctx context.Context, s *regionState, key, mkey string, old CachedValue, creator func(context.Context) (any, error), cs *callSettings, isEarly bool) (any, error) {
	f, leader := r.flights.join(mkey)
	if !leader {
		return old.Payload, nil // being regenerated in this process
	}
	lead := leadGuard{r: r, ctx: ctx, key: key, mkey: mkey, f: f}
	defer lead.abandon()
	lock := r.mutexFor(s, mkey)
	got, err := lock.Acquire(ctx, false)
	if err != nil || !got {
		if err != nil {
			r.reportError(ctx, key, fmt.Errorf("creation lock: %w", err))
		}
		return old.Payload, nil // being regenerated elsewhere, or the lock is unreachable
	}
	m := lock
	lead.m = m
	// Another process may have stored a new value between our read and our
	// winning the lock: read again so one expiry costs one creation.
	if rr := s.read(ctx, mkey); rr.err == nil && rr.ok && rr.cv.Metadata.CreatedAt.After(old.Metadata.CreatedAt) {
		if state, _ := s.freshness(&rr.cv, cs); state == fresh {
			lead.handedOff = true
			r.release(ctx, key, m)
			r.flights.finish(mkey, f, rr.cv.Payload, nil, false)
			return rr.cv.Payload, nil
		}
	}
	lead.handedOff = true
	if r.asyncRunner != nil {
		r.startAsync(ctx, s, key, mkey, m, f, creator, cs)
		return old.Payload, nil
	}
	v, err, timedOut := r.createWithin(ctx, r.failSafe.SoftTimeout, s, key, mkey, m, f, creator, cs)
	switch {
	case timedOut:
		return old.Payload, nil // the creation goes on in the background
	case err != nil && isEarly:
		// The old value has not even expired: keep serving it.
		r.reportError(ctx, key, fmt.Errorf("early refresh failed; serving the current value: %w", err))
		return old.Payload, nil
	case err != nil && ctx.Err() == nil && r.withinGrace(s, old, cs):
		r.reportError(ctx, key, fmt.Errorf("regeneration failed; serving the expired value: %w", err))
		return old.Payload, nil
	}
	return v, err
}

// leadGuard is a flight leader's safety net: whatever happens before the
// creation takes over the lock and the flight (a panicking proxy or
// observer, say), abandon releases the lock and lets the waiters start
// over. finish is a no-op once the flight has ended.
type leadGuard struct {
	r         *Region
	ctx       context.Context
	key, mkey string
	f         *flight
	m         Mutex // the creation lock, once held
	handedOff bool  // the creation (or an explicit finish) owns lock and flight
}

func (l *leadGuard) abandon() {
	if l.handedOff {
		return
	}
	if l.m != nil {
		l.r.release(l.ctx, l.key, l.m)
	}
	l.r.flights.finish(l.mkey, l.f, nil, nil, true)
}

// withinGrace reports whether an expired value may still be served under
// the fail-safe grace period.
func (r *Region) withinGrace(s *regionState, old CachedValue, cs *callSettings) bool {
	if r.failSafe.Grace <= 0 {
		return false
	}
	exp := s.expirationFor(cs)
	return exp > 0 && time.Since(old.Metadata.CreatedAt) <= exp+r.failSafe.Grace
}

// createMissing is the flight leader's path when there is no usable value:
// wait for the creation lock, check again (another process may have
// created the value meanwhile), then create.
//
// degraded: the first read failed (fail-open); the backend is not read,
// locked or written again in this call, so a hung server costs one timeout.
func (r *Region) createMissing(ctx context.Context, s *regionState, key, mkey string, f *flight, creator func(context.Context) (any, error), cs *callSettings, degraded bool) (value any, err error, retry bool) {
	var m Mutex
	lead := leadGuard{r: r, ctx: ctx, key: key, mkey: mkey, f: f}
	defer lead.abandon()
	if degraded {
		settings := *cs
		settings.noStore = true
		cs = &settings
	} else if m, err = r.acquireForCreation(ctx, s, key, mkey, cs); err != nil {
		return nil, err, false
	}
	lead.m = m
	var rr readResult
	if !degraded {
		if rr = s.read(ctx, mkey); rr.err != nil {
			err := fmt.Errorf("region %q: get %q: %w", r.name, key, rr.err)
			if err := r.backendFailure(ctx, key, err); err != nil {
				r.flights.finish(mkey, f, nil, err, false)
				return nil, err, false
			}
			rr.ok = false
		}
	}
	state, err := s.freshness(present(&rr.cv, rr.ok), cs)
	switch {
	case err != nil:
		err = fmt.Errorf("region %q: key %q: %w", r.name, key, err)
		r.flights.finish(mkey, f, nil, err, false)
		return nil, err, false
	case state == fresh:
		r.flights.finish(mkey, f, rr.cv.Payload, nil, false)
		return rr.cv.Payload, nil, false
	case state == stale && r.asyncRunner != nil && m != nil:
		lead.handedOff = true
		r.startAsync(ctx, s, key, mkey, m, f, creator, cs)
		return rr.cv.Payload, nil, false
	}
	lead.handedOff = true
	v, err, timedOut := r.createWithin(ctx, cs.remaining(), s, key, mkey, m, f, creator, cs)
	if timedOut {
		return nil, r.timeoutError(key), false
	}
	return v, err, false
}

// acquireForCreation waits for key's creation lock, within the call's hard
// timeout. A lock that cannot be reached is an error in strict regions;
// others go on without it (nil mutex), relying on the in-process flight. A
// lock that is merely busy (ErrMaxLockAttempts) is always an error: going
// on would run a second creator.
func (r *Region) acquireForCreation(ctx context.Context, s *regionState, key, mkey string, cs *callSettings) (Mutex, error) {
	m := r.mutexFor(s, mkey)
	got, err := m.Acquire(ctx, false)
	if err == nil && !got {
		start := time.Now()
		wctx := ctx
		if d := cs.remaining(); d > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		got, err = m.Acquire(wctx, true)
		s.observeLockWait(ctx, key, time.Since(start))
		if err != nil && ctx.Err() == nil && wctx.Err() != nil {
			return nil, r.timeoutError(key)
		}
		if err == nil && !got {
			err = fmt.Errorf("region %q: creation lock for %q not acquired", r.name, key)
		}
	}
	switch {
	case err == nil:
		return m, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, lockmutex.ErrMaxLockAttempts):
		return nil, fmt.Errorf("region %q: key %q: %w", r.name, key, err)
	}
	if err := r.backendFailure(ctx, key, fmt.Errorf("creation lock: %w", err)); err != nil {
		return nil, err
	}
	return nil, nil
}

// createWithin runs create, waiting at most limit (0: no limit). Past the
// limit it returns timedOut and the creation goes on in the background,
// finishing the flight and storing the value when done.
func (r *Region) createWithin(ctx context.Context, limit time.Duration, s *regionState, key, mkey string, m Mutex, f *flight, creator func(context.Context) (any, error), cs *callSettings) (value any, err error, timedOut bool) {
	if limit <= 0 {
		value, err = r.create(ctx, s, key, mkey, m, f, creator, cs)
		return value, err, false
	}
	type result struct {
		value any
		err   error
	}
	done := make(chan result, 1)
	// left: the caller stopped waiting; the creation then reports its own
	// error, which no one else will see.
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
	leave := func() (result, bool) {
		mu.Lock()
		defer mu.Unlock()
		left = true
		select {
		case res := <-done: // came in just now
			return res, true
		default:
			return result{}, false
		}
	}
	bg := context.WithoutCancel(ctx)
	settings := *cs
	go func() {
		defer func() {
			if p := recover(); p != nil {
				deliver(result{nil, fmt.Errorf("region %q: creator for key %q panicked: %v", r.name, key, p)})
			}
		}()
		v, err := r.create(bg, s, key, mkey, m, f, creator, &settings)
		deliver(result{v, err})
	}()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case res := <-done:
		return res.value, res.err, false
	case <-t.C:
		if res, ok := leave(); ok {
			return res.value, res.err, false
		}
		return nil, nil, true
	case <-ctx.Done():
		if res, ok := leave(); ok {
			return res.value, res.err, false
		}
		return nil, ctx.Err(), false
	}
}

// create runs the creator while holding m (nil: no lock could be had),
// stores the value, releases m and ends the flight with the result. A
// creator that panics still releases the lock and ends the flight (waiters
// get an error) before the panic goes on.
func (r *Region) create(ctx context.Context, s *regionState, key, mkey string, m Mutex, f *flight, creator func(context.Context) (any, error), cs *callSettings) (value any, err error) {
	stopLease := r.startLease(ctx, key, m)
	finished := false
	defer func() {
		if finished {
			return
		}
		p := recover()
		stopLease()
		if m != nil {
			r.release(ctx, key, m)
		}
		r.flights.finish(mkey, f, nil, fmt.Errorf("region %q: creator for key %q panicked: %v", r.name, key, p), false)
		if p != nil { // nil: runtime.Goexit, which goes on by itself
			panic(p)
		}
	}()
	value, err = r.createAndStore(ctx, s, key, mkey, creator, cs)
	finished = true
	stopLease()
	if m != nil {
		r.release(ctx, key, m)
	}
	// A creation that ended with its caller's context gives no answer for
	// the others, whatever its error says: they start over with a leader of
	// their own.
	retry := err != nil && ctx.Err() != nil
	r.flights.finish(mkey, f, value, err, retry)
	return value, err
}

// startLease keeps m alive while a creator runs (WithLockLeases), for
// mutexes that can be extended. The returned function stops it.
func (r *Region) startLease(ctx context.Context, key string, m Mutex) (stop func()) {
	l, ok := m.(interface {
		Extend(context.Context) error
		LockTimeout() time.Duration
	})
	if !r.leases || !ok || l.LockTimeout() <= 0 {
		return func() {}
	}
	bg := context.WithoutCancel(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(l.LockTimeout() / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := l.Extend(bg); err != nil {
					r.reportError(bg, key, fmt.Errorf("extending the creation lock: %w", err))
					if errors.Is(err, lockmutex.ErrNotHeld) {
						return // lost: someone else may hold it now
					}
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}

// startAsync hands regeneration to the async runner; the job releases the
// lock and ends the flight. The job runs at most once however often the
// runner calls it; a runner that panics before running it gives the lock
// and the flight back.
func (r *Region) startAsync(ctx context.Context, s *regionState, key, mkey string, m Mutex, f *flight, creator func(context.Context) (any, error), cs *callSettings) {
	bg := context.WithoutCancel(ctx)
	settings := *cs
	var once sync.Once
	var started atomic.Bool
	job := func() {
		once.Do(func() {
			started.Store(true)
			if _, err := r.create(bg, s, key, mkey, m, f, creator, &settings); err != nil {
				r.reportError(bg, key, fmt.Errorf("background regeneration: %w", err))
			}
		})
	}
	defer func() {
		if p := recover(); p != nil {
			r.reportError(ctx, key, fmt.Errorf("region %q: async creation runner panicked: %v", r.name, p))
			if !started.Load() {
				once.Do(func() {}) // the job must not run any more
				r.release(ctx, key, m)
				r.flights.finish(mkey, f, nil, nil, true)
			}
		}
	}()
	r.asyncRunner(key, job)
}

// softWithoutExpiration is dogpile's rule that a soft-invalidated region
// needs an expiration time for creation.
func (s *regionState) softWithoutExpiration(cs *callSettings) bool {
	return s.expirationFor(cs) <= 0 && s.invalidator.WasSoftInvalidated()
}

// createAndStore calls the creator and stores what it made (unless
// should-cache says no). A creator error is returned as it is, storing
// nothing. A store error is returned by strict regions; others report it
// and return the value.
func (r *Region) createAndStore(ctx context.Context, s *regionState, key, mkey string, creator func(context.Context) (any, error), cs *callSettings) (any, error) {
	if s.softWithoutExpiration(cs) {
		return nil, fmt.Errorf("region %q: key %q: %w", r.name, key, ErrSoftInvalidationNeedsExpiration)
	}
	start := time.Now()
	v, err := callCreator(r, ctx, creator)
	took := time.Since(start)
	s.observeCreation(ctx, key, took, err)
	if err != nil {
		return nil, err
	}
	r.recordCreation(took)
	if !cs.noStore && (cs.shouldCache == nil || cs.shouldCache(v)) {
		cv := CachedValue{Payload: v, Metadata: Metadata{CreatedAt: time.Now(), Version: ValueVersion}}
		if err := s.backend.Set(ctx, mkey, cv); err != nil {
			if err := r.backendFailure(ctx, key, fmt.Errorf("region %q: set %q: %w", r.name, key, err)); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
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

func (r *Region) release(ctx context.Context, key string, m Mutex) {
	if err := m.Release(context.WithoutCancel(ctx)); err != nil {
		r.reportError(ctx, key, fmt.Errorf("releasing creation lock: %w", err))
	}
}

// heldLock is a creation lock GetOrCreateMulti holds.
type heldLock struct {
	key string
	m   Mutex
}

// getOrCreateMulti is dogpile's get_or_create_multi: one backend read for
// all keys, the creation lock of every key that needs a value (taken in
// sorted order of the backend keys, waiting only for keys with no usable
// value), then one creator call for the keys whose lock this caller holds.
// Keys that mangle to the same backend key are one key.
func (r *Region) getOrCreateMulti(ctx context.Context, s *regionState, keys []string, creator func(context.Context, []string) ([]any, error), cs *callSettings) ([]any, error) {
	if creator == nil {
		return nil, nilCreator(strings.Join(keys, " "))
	}
	r.startDeadline(cs)
	out := make([]any, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	// One entry per backend key; its caller's key is the first (in sorted
	// order) that mangles to it.
	callerKey := make(map[string]string, len(keys))
	for _, k := range keys {
		mk := s.mangle(k)
		if prev, ok := callerKey[mk]; !ok || k < prev {
			callerKey[mk] = k
		}
	}
	mkeys := make([]string, 0, len(callerKey))
	for mk := range callerKey {
		mkeys = append(mkeys, mk)
	}
	slices.Sort(mkeys)
	found, err := s.backend.GetMulti(ctx, mkeys)
	noStore := false
	if err != nil {
		if err := r.backendFailure(ctx, callerKey[mkeys[0]], fmt.Errorf("region %q: get_multi: %w", r.name, err)); err != nil {
			return nil, err
		}
		found, noStore = nil, true // fail open: everything is missing, and nothing is locked or written
	}
	results := make(map[string]any, len(mkeys)) // by backend key
	var held []heldLock
	defer func() {
		for _, h := range held {
			r.release(ctx, h.key, h.m)
		}
	}()
	var toCreate, waited []string // backend keys
	var old map[string]oldValue   // of the keys being regenerated, for FailSafe
	for _, mk := range mkeys {
		k := callerKey[mk]
		cv, ok := found[mk]
		state, err := r.judge(s, present(&cv, ok), cs)
		if err != nil {
			return nil, fmt.Errorf("region %q: key %q: %w", r.name, k, err)
		}
		switch {
		case state == fresh:
			results[mk] = cv.Payload
		case noStore:
			toCreate = append(toCreate, mk)
		case state == stale || state == early:
			results[mk] = cv.Payload // served if someone else is regenerating
			m := r.mutexFor(s, mk)
			got, err := m.Acquire(ctx, false)
			if err != nil {
				r.reportError(ctx, k, fmt.Errorf("creation lock: %w", err))
			}
			if got {
				held = append(held, heldLock{k, m})
				toCreate = append(toCreate, mk)
				if old == nil {
					old = make(map[string]oldValue)
				}
				old[mk] = oldValue{cv, state == early}
			}
		default: // missing
			m, err := r.acquireForCreation(ctx, s, k, mk, cs)
			if err != nil {
				return nil, err
			}
			if m != nil {
				held = append(held, heldLock{k, m})
			}
			toCreate = append(toCreate, mk)
			waited = append(waited, mk)
		}
	}
	if len(waited) > 0 {
		// Another caller may have created these while we waited.
		again, err := s.backend.GetMulti(ctx, waited)
		if err != nil {
			if err := r.backendFailure(ctx, callerKey[waited[0]], fmt.Errorf("region %q: get_multi: %w", r.name, err)); err != nil {
				return nil, err
			}
		}
		toCreate = slices.DeleteFunc(toCreate, func(mk string) bool {
			cv, ok := again[mk]
			if st, _ := s.freshness(present(&cv, ok), cs); st == fresh {
				results[mk] = cv.Payload
				return true
			}
			return false
		})
	}
	if len(toCreate) > 0 {
		if s.softWithoutExpiration(cs) {
			return nil, fmt.Errorf("region %q: %w", r.name, ErrSoftInvalidationNeedsExpiration)
		}
		// The creator gets the caller's keys sorted, as in dogpile (locks
		// were taken in backend-key order, the same for every caller).
		slices.SortFunc(toCreate, func(a, b string) int { return strings.Compare(callerKey[a], callerKey[b]) })
		ask := make([]string, len(toCreate))
		for i, mk := range toCreate {
			ask[i] = callerKey[mk]
		}
		values, err := r.createMulti(ctx, s, held, ask, creator)
		switch {
		case err == nil:
			if err := r.storeCreated(ctx, s, toCreate, ask, values, results, cs, noStore); err != nil {
				return nil, err
			}
		case ctx.Err() == nil && r.oldValuesServable(s, toCreate, old, cs):
			// Every key asked for still has a value to serve (unexpired
			// under early refresh, or expired within FailSafe.Grace): results
			// holds them already.
			r.reportError(ctx, ask[0], fmt.Errorf("regeneration of %d keys failed; serving their current values: %w", len(ask), err))
		default:
			return nil, err
		}
	}
	for i, k := range keys {
		out[i] = results[s.mangle(k)]
	}
	return out, nil
}

// storeCreated records the created values of mkeys (asked for as keys) in
// results and writes those that should be cached in one SetMulti.
func (r *Region) storeCreated(ctx context.Context, s *regionState, mkeys, keys []string, values []any, results map[string]any, cs *callSettings, noStore bool) error {
	now := time.Now()
	store := make(map[string]CachedValue, len(values))
	for i, mk := range mkeys {
		results[mk] = values[i]
		if cs.shouldCache == nil || cs.shouldCache(values[i]) {
			store[mk] = CachedValue{Payload: values[i], Metadata: Metadata{CreatedAt: now, Version: ValueVersion}}
		}
	}
	if len(store) == 0 || noStore {
		return nil
	}
	if err := s.backend.SetMulti(ctx, store); err != nil {
		return r.backendFailure(ctx, keys[0], fmt.Errorf("region %q: set_multi: %w", r.name, err))
	}
	return nil
}

// oldValue is a value GetOrCreateMulti is regenerating.
type oldValue struct {
	cv    CachedValue
	early bool // not expired: chosen for early refresh
}

// oldValuesServable reports whether a failed regeneration of mkeys may
// serve their old values instead of the error: every key had one, unexpired
// (early refresh) or expired within FailSafe.Grace.
func (r *Region) oldValuesServable(s *regionState, mkeys []string, old map[string]oldValue, cs *callSettings) bool {
	for _, mk := range mkeys {
		o, ok := old[mk]
		if !ok || !(o.early || r.withinGrace(s, o.cv, cs)) {
			return false
		}
	}
	return true
}

// createMulti calls a multi-key creator for keys, keeping the held locks
// alive meanwhile (WithLockLeases), and checks its answer.
func (r *Region) createMulti(ctx context.Context, s *regionState, held []heldLock, keys []string, creator func(context.Context, []string) ([]any, error)) ([]any, error) {
	for _, h := range held {
		defer r.startLease(ctx, h.key, h.m)()
	}
	start := time.Now()
	values, err := callCreator(r, ctx, func(ctx context.Context) ([]any, error) { return creator(ctx, slices.Clone(keys)) })
	took := time.Since(start)
	s.observeCreation(ctx, strings.Join(keys, " "), took, err)
	if err != nil {
		return nil, err
	}
	r.recordCreation(took)
	if len(values) != len(keys) {
		return nil, fmt.Errorf("region %q: creator returned %d values for %d keys", r.name, len(values), len(keys))
	}
	return values, nil
}
