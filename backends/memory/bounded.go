package memory

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/dogpile-go/dogpile/region"
)

// Weigher gives the weight of one cached value for BoundedOptions.MaxWeight
// (for example its size in bytes). key is the stored (mangled) key and
// payload the value the region stored. It runs under a lock of the cache
// and must not call the region. A weight of 0 exempts the value from
// size-based eviction.
type Weigher func(key string, payload any) uint32

// BoundedOptions configure a Bounded backend. Exactly one of MaxSize and
// MaxWeight is set.
type BoundedOptions struct {
	// MaxSize is the most values the backend keeps.
	MaxSize int
	// MaxWeight is the largest total weight of the values kept, as Weigher
	// measures them. It needs a Weigher.
	MaxWeight uint64
	// Weigher measures a value for MaxWeight.
	Weigher Weigher
	// TTL, when positive, is a hard time-to-live counted from each write,
	// after which the backend drops a value whatever the region's
	// expiration (as the unbounded backend's expiration_time does).
	TTL time.Duration
}

// Bounded is the memory backend with a bound: it keeps Go values as they
// are (no copies, like Backend) in a github.com/maypok86/otter/v2 cache,
// which evicts by W-TinyLFU (admission by a frequency sketch, a small LRU
// window and a segmented LRU main space) to stay within MaxSize values or
// MaxWeight. Build it with NewBounded, or configure "memory" with max_size
// or max_weight.
//
// The region's expiration is judged by the region from each value's
// creation time (CachedValue.Metadata), as on every backend, so the cache
// keeps no clock of its own unless TTL is set. A value past the region's
// expiration stays until it is overwritten or evicted: the dogpile lock
// serves it to the callers that wait while one caller regenerates it.
//
// Evictions counts the values dropped to stay within the bound; the metrics
// proxy exports it (see ReportEvictions). Safe for concurrent use.
type Bounded struct {
	cache     *otter.Cache[string, *region.CachedValue]
	evictions atomic.Uint64
	report    atomic.Pointer[func(uint64)]
}

var (
	_ region.Backend     = (*Bounded)(nil)
	_ region.ValueReader = (*Bounded)(nil)
)

// ErrBadBound is returned by NewBounded for options that set no bound, two
// bounds, or a weight bound without a Weigher.
var ErrBadBound = errors.New("memory: bounded backend needs exactly one of a maximum size or a maximum weight with a weigher")

// NewBounded returns a bounded memory backend. Close it to stop the clean-up
// goroutine a TTL starts.
func NewBounded(opts BoundedOptions) (*Bounded, error) {
	switch {
	case opts.MaxSize < 0:
		return nil, fmt.Errorf("%w: maximum size %d", ErrBadBound, opts.MaxSize)
	case opts.MaxSize > 0 && opts.MaxWeight > 0:
		return nil, fmt.Errorf("%w: both a maximum size (%d) and a maximum weight (%d)", ErrBadBound, opts.MaxSize, opts.MaxWeight)
	case opts.MaxSize == 0 && opts.MaxWeight == 0:
		return nil, fmt.Errorf("%w: neither is set", ErrBadBound)
	case opts.MaxWeight > 0 && opts.Weigher == nil:
		return nil, fmt.Errorf("%w: maximum weight %d without a weigher", ErrBadBound, opts.MaxWeight)
	case opts.MaxWeight == 0 && opts.Weigher != nil:
		return nil, fmt.Errorf("%w: a weigher without a maximum weight", ErrBadBound)
	}
	b := &Bounded{}
	o := &otter.Options[string, *region.CachedValue]{
		MaximumSize:      opts.MaxSize,
		MaximumWeight:    opts.MaxWeight,
		OnAtomicDeletion: b.deleted,
	}
	if w := opts.Weigher; w != nil {
		o.Weigher = func(key string, v *region.CachedValue) uint32 { return w(key, v.Payload) }
	}
	if opts.TTL > 0 {
		o.ExpiryCalculator = otter.ExpiryWriting[string, *region.CachedValue](opts.TTL)
	}
	c, err := otter.New(o)
	if err != nil {
		return nil, fmt.Errorf("memory: bounded backend: %w", err)
	}
	b.cache = c
	return b, nil
}

// deleted counts the values the cache evicted to stay within its bound
// (not those deleted, replaced or past the TTL). It runs under a lock of
// the cache.
func (b *Bounded) deleted(e otter.DeletionEvent[string, *region.CachedValue]) {
	if e.Cause != otter.CauseOverflow {
		return
	}
	b.evictions.Add(1)
	if f := b.report.Load(); f != nil {
		(*f)(1)
	}
}

// Evictions returns how many values the backend has evicted to stay within
// its bound since it was built. Values deleted, overwritten or dropped by
// the TTL are not evictions (as in memcached's "evictions" statistic). The
// count is exact once CleanUp has returned; between clean-ups, evictions
// of recent writes may still be pending.
func (b *Bounded) Evictions() uint64 { return b.evictions.Load() }

// ReportEvictions makes the backend call f with the number of values it
// evicts, each time it evicts some, from now on (nil: stop). One function
// at a time: a later call replaces the earlier one. f runs under a lock of
// the cache and must be quick (an atomic add); the metrics proxy installs
// one to export the count per region.
func (b *Bounded) ReportEvictions(f func(n uint64)) {
	if f == nil {
		b.report.Store(nil)
		return
	}
	b.report.Store(&f)
}

// Len returns the number of values held, an estimate while maintenance is
// pending (exact after CleanUp).
func (b *Bounded) Len() int { return b.cache.EstimatedSize() }

// CleanUp performs the cache's pending maintenance now: evictions for
// recent writes and removal of values past the TTL. The cache does this on
// its own as it is used; CleanUp makes Len and Evictions exact.
func (b *Bounded) CleanUp() { b.cache.CleanUp() }

// Close stops the goroutine that removes values past the TTL, if any.
func (b *Bounded) Close() error {
	b.cache.StopAllGoroutines()
	return nil
}

// Get returns key's value.
func (b *Bounded) Get(_ context.Context, key string) (region.CachedValue, bool, error) {
	if v, ok := b.cache.GetIfPresent(key); ok {
		return *v, true, nil
	}
	return region.CachedValue{}, false, nil
}

// Lookup is the region's fast path (region.ValueReader): a pointer to the
// stored value, or nil. Stored values are never modified in place. A read
// counts as a use of the key for the eviction policy.
func (b *Bounded) Lookup(key string) *region.CachedValue {
	v, _ := b.cache.GetIfPresent(key)
	return v
}

// GetMulti returns the values of the keys present.
func (b *Bounded) GetMulti(_ context.Context, keys []string) (map[string]region.CachedValue, error) {
	out := make(map[string]region.CachedValue, len(keys))
	for _, k := range keys {
		if v, ok := b.cache.GetIfPresent(k); ok {
			out[k] = *v
		}
	}
	return out, nil
}

// Set stores v under key. When the cache is full, storing a value evicts
// one: the coldest value, or the new one itself when the policy finds it
// less likely to be used again than that (TinyLFU admission).
func (b *Bounded) Set(_ context.Context, key string, v region.CachedValue) error {
	b.cache.Set(key, &v)
	return nil
}

// SetMulti stores every value of m.
func (b *Bounded) SetMulti(_ context.Context, m map[string]region.CachedValue) error {
	for k, v := range m {
		b.cache.Set(k, &v)
	}
	return nil
}

// Delete removes key.
func (b *Bounded) Delete(_ context.Context, key string) error {
	b.cache.Invalidate(key)
	return nil
}

// DeleteMulti removes keys.
func (b *Bounded) DeleteMulti(_ context.Context, keys []string) error {
	for _, k := range keys {
		b.cache.Invalidate(k)
	}
	return nil
}

// GetMutex returns nil: the region's in-process mutex is the right one.
func (b *Bounded) GetMutex(string) region.Mutex { return nil }

// boundedArguments are the memory backend's arguments that make it a
// Bounded one.
var boundedArguments = []string{"max_size", "max_weight", "weigher"}

// wantsBound reports whether the memory backend's args ask for a bound.
func wantsBound(args region.Arguments) bool {
	for _, name := range boundedArguments {
		if args.Has(name) {
			return true
		}
	}
	return false
}

// boundedFrom builds the memory backend configured with a bound: max_size,
// or max_weight with a weigher given in Go code, and an optional
// expiration_time (a hard TTL from each write).
func boundedFrom(args region.Arguments) (*Bounded, error) {
	var opts BoundedOptions
	size, err := args.Int("max_size", 0)
	if err != nil {
		return nil, err
	}
	if args.Has("max_size") && size <= 0 {
		return nil, &region.ArgumentError{Name: "max_size", Value: args["max_size"], Want: "a positive number of values (leave max_size out for no bound)"}
	}
	weight, err := args.Int("max_weight", 0)
	if err != nil {
		return nil, err
	}
	if args.Has("max_weight") && weight <= 0 {
		return nil, &region.ArgumentError{Name: "max_weight", Value: args["max_weight"], Want: "a positive total weight"}
	}
	if size > 0 && weight > 0 {
		return nil, &region.ArgumentError{Name: "max_weight", Value: args["max_weight"], Want: "a bound together with max_size (give one of them)"}
	}
	switch w := args["weigher"].(type) {
	case nil:
		if weight > 0 {
			return nil, &region.ArgumentError{Name: "max_weight", Value: args["max_weight"], Want: "a bound without a weigher (give weigher, a Go func(key string, value any) uint32, in code)"}
		}
	case Weigher:
		opts.Weigher = w
	case func(string, any) uint32:
		opts.Weigher = w
	default:
		return nil, &region.ArgumentError{Name: "weigher", Value: fmt.Sprintf("%T", w), Want: "a func(key string, value any) uint32"}
	}
	if opts.Weigher != nil && weight == 0 {
		return nil, &region.ArgumentError{Name: "weigher", Value: "a weigher", Want: "a setting without max_weight (the weigher measures values for max_weight)"}
	}
	if args.Has("cleanup_interval") {
		return nil, &region.ArgumentError{Name: "cleanup_interval", Value: args["cleanup_interval"], Want: "a setting with max_size or max_weight (the bounded cache removes values past expiration_time itself)"}
	}
	ttl, err := args.Duration("expiration_time", 0)
	if err != nil {
		return nil, err
	}
	opts.MaxSize, opts.MaxWeight, opts.TTL = size, uint64(weight), ttl
	return NewBounded(opts)
}
