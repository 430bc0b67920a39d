package region

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// getOrCreateMulti is dogpile's get_or_create_multi, on the pieces of the
// single-key lock (lock.go): one backend read for all keys, each judged by
// the freshness rule; the creation lock of every key that needs a value
// (taken in sorted order of the backend keys, waiting only for keys with
// no usable value); a second read of the keys it waited for; then one
// creator call for the keys whose lock this caller holds. Keys that mangle
// to the same backend key are one key.
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
	calls := make(map[string]*call, len(mkeys)) // each key's view of the region, as GetOrCreate's
	for _, mk := range mkeys {
		calls[mk] = &call{r: r, s: s, key: callerKey[mk], mkey: mk, cs: *cs}
	}
	// A failed read fails open, as GetOrCreate's: every key's call is
	// degraded, and the backend is neither locked, read nor written again.
	degrade := func(mk string, err error) error {
		if err := r.backendFailure(ctx, callerKey[mk], fmt.Errorf("region %q: get_multi: %w", r.name, err)); err != nil {
			return err
		}
		for _, c := range calls {
			c.degraded = true
		}
		return nil
	}
	found, err := s.backend.GetMulti(ctx, mkeys)
	if err != nil {
		if err := degrade(mkeys[0], err); err != nil {
			return nil, err
		}
		found = nil // everything is missing
	}
	results := make(map[string]any, len(mkeys)) // by backend key
	var held []heldLock
	defer func() {
		for _, h := range held {
			if err := h.m.Release(context.WithoutCancel(ctx)); err != nil {
				h.c.report(ctx, fmt.Errorf("releasing creation lock: %w", err))
			}
		}
	}()
	var toCreate, waited []string // backend keys
	var old map[string]oldValue   // of the keys being regenerated, for the fail-safe
	rule := s.freshness(s.maxAge(cs))
	rule.early = r.early
	for _, mk := range mkeys {
		c := calls[mk]
		cv, ok := found[mk]
		v := rule.judge(present(&cv, ok))
		if err := c.regenerable(v); err != nil {
			return nil, err
		}
		switch {
		case v == fresh:
			results[mk] = cv.Payload
		case c.degraded:
			toCreate = append(toCreate, mk)
		case v == stale || v == early:
			results[mk] = cv.Payload // served if someone else is regenerating
			m := c.mutex()
			if got, _ := take(ctx, m, false, c.bound); got {
				held = append(held, heldLock{c, m})
				toCreate = append(toCreate, mk)
				if old == nil {
					old = make(map[string]oldValue)
				}
				old[mk] = oldValue{cv, v == early}
			}
		default: // missing
			m := c.mutex()
			if _, err := take(ctx, m, true, c.bound); err != nil {
				return nil, err
			}
			held = append(held, heldLock{c, m})
			toCreate = append(toCreate, mk)
			waited = append(waited, mk)
		}
	}
	if len(waited) > 0 {
		// Another caller may have created these while we waited.
		again, err := s.backend.GetMulti(ctx, waited)
		if err != nil {
			if err := degrade(waited[0], err); err != nil {
				return nil, err
			}
		}
		toCreate = slices.DeleteFunc(toCreate, func(mk string) bool {
			cv, ok := again[mk]
			if v := rule.judge(present(&cv, ok)); v == fresh || v == early {
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
		values, err := r.createMulti(ctx, s, ask, creator)
		switch {
		case err == nil:
			if err := r.storeCreated(ctx, s, toCreate, ask, values, results, cs, calls); err != nil {
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
// results and writes those that should be cached in one SetMulti, except
// those whose call is degraded (the backend failed in this call).
func (r *Region) storeCreated(ctx context.Context, s *regionState, mkeys, keys []string, values []any, results map[string]any, cs *callSettings, calls map[string]*call) error {
	now := time.Now()
	store := make(map[string]CachedValue, len(values))
	for i, mk := range mkeys {
		results[mk] = values[i]
		if !calls[mk].degraded && (cs.shouldCache == nil || cs.shouldCache(values[i])) {
			store[mk] = CachedValue{Payload: values[i], Metadata: Metadata{CreatedAt: now, Version: ValueVersion}}
		}
	}
	if len(store) == 0 {
		return nil
	}
	if err := s.backend.SetMulti(ctx, store); err != nil {
		return r.backendFailure(ctx, keys[0], fmt.Errorf("region %q: set_multi: %w", r.name, err))
	}
	return nil
}

// heldLock is a creation lock GetOrCreateMulti holds.
type heldLock struct {
	c *call
	m Mutex
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
		if !ok || !(o.early || r.withinGrace(s, &o.cv, cs)) {
			return false
		}
	}
	return true
}

// createMulti calls a multi-key creator for keys and checks its answer.
func (r *Region) createMulti(ctx context.Context, s *regionState, keys []string, creator func(context.Context, []string) ([]any, error)) ([]any, error) {
	start := time.Now()
	values, err := callCreator(r, ctx, func(ctx context.Context) ([]any, error) { return creator(ctx, slices.Clone(keys)) })
	took := time.Since(start)
	s.observeCreation(ctx, strings.Join(keys, " "), took, err)
	if err != nil {
		return nil, err
	}
	r.early.record(took)
	if len(values) != len(keys) {
		return nil, fmt.Errorf("region %q: creator returned %d values for %d keys", r.name, len(values), len(keys))
	}
	return values, nil
}
