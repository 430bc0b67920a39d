package region

import (
	"context"
	"fmt"
	"time"
)

type noValue struct{}

func (noValue) String() string { return "<NoValue>" }

// NoValue stands in GetMulti's result for keys with no usable value.
var NoValue any = noValue{}

// Get returns key's value. ok is false when the key is absent, expired or
// invalidated. Values from byte backends are decoded into generic Go values
// (maps become map[string]any); use GetAs to decode into a type.
func (r *Region) Get(ctx context.Context, key string, opts ...CallOption) (any, bool, error) {
	payload, ok, err := r.getPayload(ctx, key, opts)
	if !ok || err != nil {
		return nil, false, err
	}
	v, err := decodePayload(payload)
	if err != nil {
		return nil, false, fmt.Errorf("region %q: key %q: %w", r.name, key, err)
	}
	return v, true, nil
}

// getPayload is the read of Get and GetAs: on a backend with a fast path
// it reads through a pointer, copying nothing but the payload.
func (r *Region) getPayload(ctx context.Context, key string, opts []CallOption) (any, bool, error) {
	s, err := r.load()
	if err != nil {
		return nil, false, err
	}
	cs := collect(opts)
	if s.fast != nil {
		cv, v := s.lookup(s.mangle(key), s.maxAge(&cs), nil)
		if !readable(v, &cs) {
			return nil, false, nil
		}
		return cv.Payload, true, nil
	}
	cv, ok, err := s.backend.Get(ctx, s.mangle(key))
	if err != nil {
		return nil, false, fmt.Errorf("region %q: get %q: %w", r.name, key, err)
	}
	return cv.Payload, ok && s.judgeRead(&cv, &cs), nil
}

// lookup is the hit path on a region whose chain reads by pointer
// (s.fast): mkey's value (nil when absent) and its verdict, by the age limit
// of the call (a call without options: the region's expiration time) and
// with early refresh when early is not nil.
func (s *regionState) lookup(mkey string, maxAge time.Duration, early *earlyRefresh) (*CachedValue, verdict) {
	cv := s.fast.Lookup(mkey)
	f := s.freshness(maxAge)
	f.early = early
	return cv, f.judge(cv)
}

// readable reports whether a read call returns a value judged v: a fresh
// one, or with IgnoreExpiration an expired one.
func readable(v verdict, cs *callSettings) bool {
	return v == fresh || cs.ignoreExp && v == stale
}

// judgeRead reports whether a read call returns cv.
func (s *regionState) judgeRead(cv *CachedValue, cs *callSettings) bool {
	f := s.freshness(s.maxAge(cs))
	return readable(f.judge(cv), cs)
}

func (r *Region) get(ctx context.Context, key string, opts []CallOption) (CachedValue, bool, error) {
	s, err := r.load()
	if err != nil {
		return CachedValue{}, false, err
	}
	cv, ok, err := s.backend.Get(ctx, s.mangle(key))
	if err != nil {
		return CachedValue{}, false, fmt.Errorf("region %q: get %q: %w", r.name, key, err)
	}
	cs := collect(opts)
	if !ok || !s.judgeRead(&cv, &cs) {
		return CachedValue{}, false, nil
	}
	return cv, true, nil
}

// GetMulti returns the values of keys in key order, with NoValue where a key
// has no usable value.
func (r *Region) GetMulti(ctx context.Context, keys []string, opts ...CallOption) ([]any, error) {
	payloads, found, err := r.readMulti(ctx, keys, opts)
	if err != nil {
		return nil, err
	}
	for i := range payloads {
		if !found[i] {
			payloads[i] = NoValue
		} else if payloads[i], err = decodePayload(payloads[i]); err != nil {
			return nil, fmt.Errorf("region %q: key %q: %w", r.name, keys[i], err)
		}
	}
	return payloads, nil
}

// readMulti is the read of GetMulti and GetMultiAs: one backend call, then
// the payloads of the keys with a usable value (found[i]), still encoded.
func (r *Region) readMulti(ctx context.Context, keys []string, opts []CallOption) (payloads []any, found []bool, err error) {
	s, err := r.load()
	if err != nil {
		return nil, nil, err
	}
	payloads, found = make([]any, len(keys)), make([]bool, len(keys))
	if len(keys) == 0 {
		return payloads, found, nil
	}
	mkeys := s.mangleAll(keys)
	cs := collect(opts)
	f := s.freshness(s.maxAge(&cs))
	if sb, ok := s.backend.(*SerializedBackend); ok {
		// A byte backend without proxies: read in key order, no map.
		cvs, got, err := sb.getMultiOrdered(ctx, mkeys)
		if err != nil {
			return nil, nil, fmt.Errorf("region %q: get_multi: %w", r.name, err)
		}
		for i := range cvs {
			if got[i] && readable(f.judge(&cvs[i]), &cs) {
				payloads[i], found[i] = cvs[i].Payload, true
			}
		}
		return payloads, found, nil
	}
	got, err := s.backend.GetMulti(ctx, mkeys)
	if err != nil {
		return nil, nil, fmt.Errorf("region %q: get_multi: %w", r.name, err)
	}
	for i, mk := range mkeys {
		if cv, ok := got[mk]; ok && readable(f.judge(&cv), &cs) {
			payloads[i], found[i] = cv.Payload, true
		}
	}
	return payloads, found, nil
}

// mangleAll returns the backend keys of keys.
func (s *regionState) mangleAll(keys []string) []string {
	mkeys := make([]string, len(keys))
	for i, k := range keys {
		mkeys[i] = s.mangle(k)
	}
	return mkeys
}

// GetValueMetadata returns key's value with its metadata (creation time,
// format version), or nil when the key has no usable value.
func (r *Region) GetValueMetadata(ctx context.Context, key string, opts ...CallOption) (*CachedValue, error) {
	cv, ok, err := r.get(ctx, key, opts)
	if !ok || err != nil {
		return nil, err
	}
	if cv.Payload, err = decodePayload(cv.Payload); err != nil {
		return nil, fmt.Errorf("region %q: key %q: %w", r.name, key, err)
	}
	return &cv, nil
}

// GetOrCreate returns key's value, creating it with creator when there is
// no usable value. This is the dogpile lock: one creator runs per key at a
// time (per process with the in-process mutex, across processes with a
// backend mutex). With no usable value, callers wait for that creator and
// share its result or error; with an expired value, the caller that wins the
// lock regenerates while the others return the old value at once (or all
// return it while the async runner regenerates). A waiting caller gives up
// with ctx.Err() when its ctx ends.
//
// Callers that shared one creation get the very value the creator
// returned; treat it as read-only. On byte backends a value read back is
// decoded afresh for each caller, and untyped reads decode maps as
// map[string]any, so use GetOrCreateAs for one type on every path.
func (r *Region) GetOrCreate(ctx context.Context, key string, creator func(context.Context) (any, error), opts ...CallOption) (any, error) {
	s, err := r.load()
	if err != nil {
		return nil, err
	}
	if creator == nil {
		return nil, nilCreator(key)
	}
	cs := collect(opts)
	v, first, hit := r.lookupForCreate(ctx, s, s.mangle(key), &cs)
	switch {
	case hit:
	case r.flights.serving(first.mkey, first.v):
		v = first.cv.Payload
	default:
		v, err = r.getOrCreate(ctx, s, key, creator, cs, &first)
	}
	if err != nil {
		return nil, err
	}
	if v, err = decodePayload(v); err != nil {
		return nil, fmt.Errorf("region %q: key %q: %w", r.name, key, err)
	}
	return v, nil
}

// lookupForCreate is the hit path of a create call: the payload under mkey
// when it is fresh (hit), else what was read, for the dogpile lock.
func (r *Region) lookupForCreate(ctx context.Context, s *regionState, mkey string, cs *callSettings) (payload any, first firstRead, hit bool) {
	first.mkey = mkey
	if s.fast != nil {
		cv, v := s.lookup(mkey, s.maxAge(cs), r.early)
		if v == fresh {
			return cv.Payload, first, true
		}
		if cv != nil {
			first.cv = *cv
		}
		first.v = v
		return nil, first, false
	}
	cv, ok, err := s.backend.Get(ctx, mkey)
	if err != nil {
		first.err = err
		return nil, first, false
	}
	f := s.freshness(s.maxAge(cs))
	f.early = r.early
	if first.v = f.judge(present(&cv, ok)); first.v != fresh {
		first.cv = cv
		return nil, first, false
	}
	return cv.Payload, first, true
}

// GetOrCreateMulti returns the values of keys in key order, calling creator
// once with the keys (sorted, without duplicates) that need a value and
// whose creation lock this caller won. creator must return one value per
// key it is given, in that order.
func (r *Region) GetOrCreateMulti(ctx context.Context, keys []string, creator func(ctx context.Context, keys []string) ([]any, error), opts ...CallOption) ([]any, error) {
	out, err := r.getOrCreateMultiState(ctx, keys, creator, opts)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i], err = decodePayload(out[i]); err != nil {
			return nil, fmt.Errorf("region %q: key %q: %w", r.name, keys[i], err)
		}
	}
	return out, nil
}

// Set stores value under key, created now.
func (r *Region) Set(ctx context.Context, key string, value any) error {
	s, err := r.load()
	if err != nil {
		return err
	}
	if err := s.backend.Set(ctx, s.mangle(key), newCachedValue(value)); err != nil {
		return fmt.Errorf("region %q: set %q: %w", r.name, key, err)
	}
	return nil
}

// SetMulti stores every key/value pair of m.
func (r *Region) SetMulti(ctx context.Context, m map[string]any) error {
	s, err := r.load()
	if err != nil {
		return err
	}
	if len(m) == 0 {
		return nil
	}
	values := make(map[string]CachedValue, len(m))
	md := newCachedValue(nil).Metadata
	for k, v := range m {
		values[s.mangle(k)] = CachedValue{Payload: v, Metadata: md}
	}
	if err := s.backend.SetMulti(ctx, values); err != nil {
		return fmt.Errorf("region %q: set_multi: %w", r.name, err)
	}
	return nil
}

// Delete removes key. Deleting an absent key is not an error.
func (r *Region) Delete(ctx context.Context, key string) error {
	s, err := r.load()
	if err != nil {
		return err
	}
	if err := s.backend.Delete(ctx, s.mangle(key)); err != nil {
		return fmt.Errorf("region %q: delete %q: %w", r.name, key, err)
	}
	return nil
}

// DeleteMulti removes keys; absent keys are not an error.
func (r *Region) DeleteMulti(ctx context.Context, keys []string) error {
	s, err := r.load()
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	if err := s.backend.DeleteMulti(ctx, s.mangleAll(keys)); err != nil {
		return fmt.Errorf("region %q: delete_multi: %w", r.name, err)
	}
	return nil
}

// GetAs returns key's value as a T. Values from byte backends are decoded
// straight into T. ok is false when the key has no usable value; a value of
// another type is a *TypeError.
func GetAs[T any](ctx context.Context, r *Region, key string, opts ...CallOption) (T, bool, error) {
	var zero T
	var payload any
	var ok bool
	var err error
	if s := r.state.Load(); s != nil && s.fast != nil && len(opts) == 0 {
		// The hit path, lookup written out: a call shorter.
		cv := s.fast.Lookup(s.mangle(key))
		if f := s.freshness(s.expiration); f.judge(cv) == fresh {
			payload, ok = cv.Payload, true
		}
	} else {
		payload, ok, err = r.getPayload(ctx, key, opts)
	}
	if !ok || err != nil {
		return zero, false, err
	}
	if v, ok := plainAs[T](payload); ok {
		return v, true, nil
	}
	v, err := payloadAs[T](key, payload)
	if err != nil {
		return zero, false, err
	}
	return v, true, nil
}

// GetMultiAs returns the values of keys as Ts in key order, in one backend
// call; found[i] tells whether keys[i] had a usable value.
func GetMultiAs[T any](ctx context.Context, r *Region, keys []string, opts ...CallOption) (values []T, found []bool, err error) {
	payloads, found, err := r.readMulti(ctx, keys, opts)
	if err != nil {
		return nil, nil, err
	}
	values = make([]T, len(keys))
	for i, p := range payloads {
		if found[i] {
			if values[i], err = payloadAs[T](keys[i], p); err != nil {
				return nil, nil, err
			}
		}
	}
	return values, found, nil
}

// GetOrCreateAs is GetOrCreate with a typed creator and result.
func GetOrCreateAs[T any](ctx context.Context, r *Region, key string, creator func(context.Context) (T, error), opts ...CallOption) (T, error) {
	var zero T
	s, err := r.load()
	if err != nil {
		return zero, err
	}
	if creator == nil {
		return zero, nilCreator(key)
	}
	// The hit path needs no closure (and so no allocation). What it read
	// and judged is handed on, so a miss is not read or judged twice (and
	// early refresh draws once).
	if s.fast != nil && len(opts) == 0 {
		mkey := s.mangle(key)
		cv := s.fast.Lookup(mkey) // lookup written out: a call shorter
		f := s.freshness(s.expiration)
		f.early = r.early
		v := f.judge(cv)
		if v == fresh {
			if v, ok := plainAs[T](cv.Payload); ok {
				return v, nil
			}
			return payloadAs[T](key, cv.Payload)
		}
		first := firstRead{mkey: mkey, v: v}
		if cv != nil {
			first.cv = *cv
		}
		return createAs(ctx, r, s, key, creator, callSettings{}, &first)
	}
	cs := collect(opts)
	payload, first, hit := r.lookupForCreate(ctx, s, s.mangle(key), &cs)
	if hit {
		return payloadAs[T](key, payload)
	}
	return createAs(ctx, r, s, key, creator, cs, &first)
}
