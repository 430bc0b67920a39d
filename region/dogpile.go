package region

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// freshness is how usable a cached value is for GetOrCreate.
type freshness int

const (
	missing freshness = iota // no usable value: wait for a creator
	stale                    // expired or soft-invalidated: serve while one caller regenerates
	fresh                    // serve
)

func (s *regionState) expirationFor(cs *callSettings) time.Duration {
	if cs.setExp {
		return cs.expiration
	}
	return s.expiration
}

// readable reports whether a value read by Get-style calls is returned.
func (s *regionState) readable(cv CachedValue, cs *callSettings) bool {
	if cv.Metadata.Version != ValueVersion {
		return false
	}
	ct := cv.Metadata.CreatedAt
	if s.invalidator.IsInvalidated(ct) && (!cs.ignoreExp || s.invalidator.IsHardInvalidated(ct)) {
		return false
	}
	if cs.ignoreExp {
		return true
	}
	exp := s.expirationFor(cs)
	return exp <= 0 || time.Since(ct) <= exp
}

// freshness judges a value read by GetOrCreate-style calls.
func (s *regionState) freshness(cv CachedValue, ok bool, cs *callSettings) (freshness, error) {
	if !ok || cv.Metadata.Version != ValueVersion {
		return missing, nil
	}
	ct := cv.Metadata.CreatedAt
	exp := s.expirationFor(cs)
	if s.invalidator.IsInvalidated(ct) {
		if s.invalidator.IsHardInvalidated(ct) {
			return missing, nil
		}
		if exp <= 0 {
			return missing, ErrSoftInvalidationNeedsExpiration
		}
		return stale, nil
	}
	if cs.ignoreExp || exp <= 0 || time.Since(ct) <= exp {
		return fresh, nil
	}
	return stale, nil
}

// getOrCreate is the dogpile lock for one key. It returns the payload as
// stored (possibly *Serialized) or as created.
func (r *Region) getOrCreate(ctx context.Context, s *regionState, key string, creator func(context.Context) (any, error), cs *callSettings) (any, error) {
	if creator == nil {
		return nil, errNilCreator
	}
	mkey := s.mangle(key)
	for {
		cv, ok, err := s.backend.Get(ctx, mkey)
		if err != nil {
			return nil, fmt.Errorf("region %q: get %q: %w", r.name, key, err)
		}
		state, err := s.freshness(cv, ok, cs)
		if err != nil {
			return nil, fmt.Errorf("region %q: key %q: %w", r.name, key, err)
		}
		switch state {
		case fresh:
			return cv.Payload, nil
		case stale:
			return r.regenerateStale(ctx, s, key, mkey, cv, creator, cs)
		}
		f, leader := r.flights.join(mkey)
		if !leader {
			select {
			case <-f.done:
				if f.retry {
					continue
				}
				return f.value, f.err
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		v, err, retry := r.createMissing(ctx, s, key, mkey, f, creator, cs)
		if retry {
			continue
		}
		return v, err
	}
}

// regenerateStale handles an expired value: the caller that wins the
// creation lock regenerates (or hands the job to the async runner); every
// other caller returns the old value at once.
func (r *Region) regenerateStale(ctx context.Context, s *regionState, key, mkey string, old CachedValue, creator func(context.Context) (any, error), cs *callSettings) (any, error) {
	f, leader := r.flights.join(mkey)
	if !leader {
		return old.Payload, nil // being regenerated in this process
	}
	m := r.mutexFor(s, mkey)
	got, err := m.Acquire(ctx, false)
	if err != nil || !got {
		if err != nil {
			r.reportError(ctx, key, fmt.Errorf("creation lock: %w", err))
		}
		r.flights.finish(mkey, f, nil, nil, true)
		return old.Payload, nil // being regenerated elsewhere
	}
	if r.asyncRunner != nil {
		r.startAsync(ctx, s, key, mkey, m, f, creator, cs)
		return old.Payload, nil
	}
	return r.create(ctx, s, key, mkey, m, f, creator, cs)
}

// createMissing is the flight leader's path when there is no usable value:
// wait for the creation lock, check again (another process may have
// created the value meanwhile), then create.
func (r *Region) createMissing(ctx context.Context, s *regionState, key, mkey string, f *flight, creator func(context.Context) (any, error), cs *callSettings) (value any, err error, retry bool) {
	m := r.mutexFor(s, mkey)
	got, err := m.Acquire(ctx, true)
	if err == nil && !got {
		err = fmt.Errorf("region %q: creation lock for %q not acquired", r.name, key)
	}
	if err != nil {
		r.flights.finish(mkey, f, nil, nil, true)
		return nil, err, false
	}
	cv, ok, err := s.backend.Get(ctx, mkey)
	if err != nil {
		r.release(ctx, key, m)
		err = fmt.Errorf("region %q: get %q: %w", r.name, key, err)
		r.flights.finish(mkey, f, nil, err, false)
		return nil, err, false
	}
	state, err := s.freshness(cv, ok, cs)
	switch {
	case err != nil:
		r.release(ctx, key, m)
		err = fmt.Errorf("region %q: key %q: %w", r.name, key, err)
		r.flights.finish(mkey, f, nil, err, false)
		return nil, err, false
	case state == fresh:
		r.release(ctx, key, m)
		r.flights.finish(mkey, f, cv.Payload, nil, false)
		return cv.Payload, nil, false
	case state == stale && r.asyncRunner != nil:
		r.startAsync(ctx, s, key, mkey, m, f, creator, cs)
		return cv.Payload, nil, false
	}
	v, err := r.create(ctx, s, key, mkey, m, f, creator, cs)
	return v, err, false
}

// create runs the creator while holding m, stores the value, releases m and
// ends the flight with the result. A creator that panics still releases the
// lock and ends the flight (waiters get an error) before the panic goes on.
func (r *Region) create(ctx context.Context, s *regionState, key, mkey string, m Mutex, f *flight, creator func(context.Context) (any, error), cs *callSettings) (value any, err error) {
	finished := false
	defer func() {
		if finished {
			return
		}
		p := recover()
		r.release(ctx, key, m)
		r.flights.finish(mkey, f, nil, fmt.Errorf("region %q: creator for key %q panicked: %v", r.name, key, p), false)
		if p != nil { // nil: runtime.Goexit, which goes on by itself
			panic(p)
		}
	}()
	value, err = r.createAndStore(ctx, s, key, mkey, creator, cs)
	finished = true
	r.release(ctx, key, m)
	// A leader cancelled by its own context gives no answer for the others:
	// they start over with a leader of their own.
	retry := err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err())
	r.flights.finish(mkey, f, value, err, retry)
	return value, err
}

// startAsync hands regeneration to the async runner; the job releases the
// lock and ends the flight.
func (r *Region) startAsync(ctx context.Context, s *regionState, key, mkey string, m Mutex, f *flight, creator func(context.Context) (any, error), cs *callSettings) {
	bg := context.WithoutCancel(ctx)
	settings := *cs
	r.asyncRunner(key, func() {
		v, err := r.create(bg, s, key, mkey, m, f, creator, &settings)
		if err != nil {
			r.reportError(bg, key, fmt.Errorf("background regeneration: %w", err))
		}
		_ = v
	})
}

// createAndStore calls the creator and stores what it made (unless
// should-cache says no). A creator error is returned as it is, storing
// nothing.
func (r *Region) createAndStore(ctx context.Context, s *regionState, key, mkey string, creator func(context.Context) (any, error), cs *callSettings) (any, error) {
	v, err := creator(ctx)
	if err != nil {
		return nil, err
	}
	if cs.shouldCache == nil || cs.shouldCache(v) {
		cv := CachedValue{Payload: v, Metadata: Metadata{CreatedAt: time.Now(), Version: ValueVersion}}
		if err := s.backend.Set(ctx, mkey, cv); err != nil {
			return nil, fmt.Errorf("region %q: set %q: %w", r.name, key, err)
		}
	}
	return v, nil
}

func (r *Region) release(ctx context.Context, key string, m Mutex) {
	if err := m.Release(context.WithoutCancel(ctx)); err != nil {
		r.reportError(ctx, key, fmt.Errorf("releasing creation lock: %w", err))
	}
}

// getOrCreateMulti is dogpile's get_or_create_multi: one backend read for
// all keys, the creation lock of every key that needs a value (taken in
// sorted order, waiting only for keys with no usable value), then one
// creator call for the keys whose lock this caller holds.
func (r *Region) getOrCreateMulti(ctx context.Context, s *regionState, keys []string, creator func(context.Context, []string) ([]any, error), cs *callSettings) ([]any, error) {
	if creator == nil {
		return nil, errNilCreator
	}
	out := make([]any, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	unique := slices.Clone(keys)
	slices.Sort(unique)
	unique = slices.Compact(unique)
	mangled := make(map[string]string, len(unique))
	mkeys := make([]string, len(unique))
	for i, k := range unique {
		mkeys[i] = s.mangle(k)
		mangled[k] = mkeys[i]
	}
	found, err := s.backend.GetMulti(ctx, mkeys)
	if err != nil {
		return nil, fmt.Errorf("region %q: get_multi: %w", r.name, err)
	}
	results := make(map[string]any, len(unique))
	var held []Mutex
	defer func() {
		for _, m := range held {
			r.release(ctx, "", m)
		}
	}()
	var toCreate, waited []string
	for _, k := range unique {
		cv, ok := found[mangled[k]]
		state, err := s.freshness(cv, ok, cs)
		if err != nil {
			return nil, fmt.Errorf("region %q: key %q: %w", r.name, k, err)
		}
		switch state {
		case fresh:
			results[k] = cv.Payload
		case stale:
			results[k] = cv.Payload // served if someone else is regenerating
			m := r.mutexFor(s, mangled[k])
			got, err := m.Acquire(ctx, false)
			if err != nil {
				r.reportError(ctx, k, fmt.Errorf("creation lock: %w", err))
			}
			if got {
				held = append(held, m)
				toCreate = append(toCreate, k)
			}
		case missing:
			m := r.mutexFor(s, mangled[k])
			got, err := m.Acquire(ctx, true)
			if err == nil && !got {
				err = fmt.Errorf("creation lock for %q not acquired", k)
			}
			if err != nil {
				return nil, err
			}
			held = append(held, m)
			toCreate = append(toCreate, k)
			waited = append(waited, k)
		}
	}
	if len(waited) > 0 {
		// Another caller may have created these while we waited.
		wm := make([]string, len(waited))
		for i, k := range waited {
			wm[i] = mangled[k]
		}
		again, err := s.backend.GetMulti(ctx, wm)
		if err != nil {
			return nil, fmt.Errorf("region %q: get_multi: %w", r.name, err)
		}
		toCreate = slices.DeleteFunc(toCreate, func(k string) bool {
			cv, ok := again[mangled[k]]
			if st, _ := s.freshness(cv, ok, cs); st == fresh {
				results[k] = cv.Payload
				return true
			}
			return false
		})
	}
	if len(toCreate) > 0 {
		values, err := creator(ctx, slices.Clone(toCreate))
		if err != nil {
			return nil, err
		}
		if len(values) != len(toCreate) {
			return nil, fmt.Errorf("region %q: creator returned %d values for %d keys", r.name, len(values), len(toCreate))
		}
		now := time.Now()
		store := make(map[string]CachedValue, len(values))
		for i, k := range toCreate {
			results[k] = values[i]
			if cs.shouldCache == nil || cs.shouldCache(values[i]) {
				store[mangled[k]] = CachedValue{Payload: values[i], Metadata: Metadata{CreatedAt: now, Version: ValueVersion}}
			}
		}
		if len(store) > 0 {
			if err := s.backend.SetMulti(ctx, store); err != nil {
				return nil, fmt.Errorf("region %q: set_multi: %w", r.name, err)
			}
		}
	}
	for i, k := range keys {
		out[i] = results[k]
	}
	return out, nil
}
