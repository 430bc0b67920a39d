// Package memory provides the in-process backends, registered under these
// names when the package is imported:
//
//	memory                values kept as they are (no copies); optional bound and hard TTL
//	memory_serialized     values kept as serialized bytes, so every read is an isolated copy
//	null                  stores nothing; its mutex never blocks (dogpile's null backend)
//	openstack.kvs.Memory  Keystone's in-memory KVS backend: isolated copies, no expiry
//
// The memory backend takes these optional arguments:
//
//	max_size          the most values kept: past it the backend evicts the values
//	                  least likely to be used again (W-TinyLFU, served by
//	                  github.com/maypok86/otter/v2; see Bounded)
//	max_weight        instead of max_size, the largest total weight of the values
//	                  kept, as measured by
//	weigher           a func(key string, value any) uint32 (a Weigher), given in code
//	expiration_time   a hard time-to-live after which the backend itself drops
//	                  a value, independent of the region's expiration (seconds
//	                  or a Go duration); served by github.com/patrickmn/go-cache,
//	                  or by otter with a bound
//	cleanup_interval  how often expired values are swept out (default: the
//	                  expiration_time); 0 sweeps only on read. Only with
//	                  expiration_time, and not with a bound: otter removes
//	                  them itself
//
// A process that caches more keys than it has memory for should set
// max_size: without it the backend grows without bound, like dogpile's
// dict-based memory backend.
//
// Every in-process backend also accepts distributed_lock and lock_timeout,
// which Keystone's KVS passes to whatever backend it configures; in one
// process they have no meaning and are ignored. Any other argument is
// refused (region.UnknownArgumentError).
//
// Without a bound or expiration_time values live until deleted, in a
// concurrent hash map (github.com/puzpuzpuz/xsync), which reads without
// locks, faster than go-cache, and scales across cores (see
// docs/PERFORMANCE.md).
package memory

import (
	"context"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"github.com/puzpuzpuz/xsync/v4"

	"github.com/dogpile-go/dogpile/region"
)

// lockArguments are accepted by every in-process backend without effect:
// Keystone's KVS passes them to the backend it configures.
var lockArguments = []string{"distributed_lock", "lock_timeout"}

func init() {
	region.RegisterBackend("memory", func(args region.Arguments) (region.Backend, error) {
		known := append([]string{"expiration_time", "cleanup_interval"}, lockArguments...)
		if err := args.CheckKnown("memory", append(known, boundedArguments...)...); err != nil {
			return nil, err
		}
		if wantsBound(args) {
			return boundedFrom(args)
		}
		opts, err := optionsFrom(args)
		if err != nil {
			return nil, err
		}
		return New(opts), nil
	})
	registerBytes := func(name string) {
		region.RegisterBackend(name, func(args region.Arguments) (region.Backend, error) {
			if err := args.CheckKnown(name, lockArguments...); err != nil {
				return nil, err
			}
			return region.NewSerializedBackend(NewBytes(), nil), nil
		})
	}
	registerBytes("memory_serialized")
	registerBytes("openstack.kvs.Memory")
	region.RegisterBackend("null", func(args region.Arguments) (region.Backend, error) {
		if err := args.CheckKnown("null", lockArguments...); err != nil {
			return nil, err
		}
		return Null{}, nil
	})
}

// Options configure a memory Backend.
type Options struct {
	// TTL is a hard time-to-live: the backend drops values older than this
	// whatever the region's expiration. Zero keeps values until deleted.
	TTL time.Duration
	// CleanupInterval is how often expired values are swept out when TTL is
	// set. Zero means the TTL; a negative value disables the sweep (expired
	// values are then dropped when read).
	CleanupInterval time.Duration
}

func optionsFrom(args region.Arguments) (Options, error) {
	ttl, err := args.Duration("expiration_time", 0)
	if err != nil {
		return Options{}, err
	}
	cleanup, err := args.Duration("cleanup_interval", 0)
	if err != nil {
		return Options{}, err
	}
	if args.Has("cleanup_interval") {
		if ttl <= 0 {
			return Options{}, &region.ArgumentError{Name: "cleanup_interval", Value: args["cleanup_interval"], Want: "a setting with expiration_time (without it values never expire, so there is nothing to sweep)"}
		}
		if cleanup == 0 {
			cleanup = -1
		}
	}
	return Options{TTL: ttl, CleanupInterval: cleanup}, nil
}

// Backend keeps values in the process as they are: a reader gets the very
// value that was stored, so callers must not modify shared values (use
// memory_serialized for isolated copies). Safe for concurrent use.
type Backend struct {
	values *xsync.Map[string, *region.CachedValue] // when there is no TTL
	ttl    *gocache.Cache                          // when there is a TTL; values are *region.CachedValue

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New returns a memory backend. With a TTL it starts a cleanup goroutine,
// stopped by Close.
func New(opts Options) *Backend {
	b := &Backend{}
	if opts.TTL <= 0 {
		b.values = xsync.NewMap[string, *region.CachedValue]()
		return b
	}
	b.ttl = gocache.New(opts.TTL, 0) // no janitor: go-cache only stops its own on GC
	interval := opts.CleanupInterval
	if interval == 0 {
		interval = opts.TTL
	}
	if interval > 0 {
		b.stop = make(chan struct{})
		b.wg.Add(1)
		go b.sweep(interval)
	}
	return b
}

func (b *Backend) sweep(every time.Duration) {
	defer b.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.ttl.DeleteExpired()
		case <-b.stop:
			return
		}
	}
}

// Close stops the cleanup goroutine, if any.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		if b.stop != nil {
			close(b.stop)
			b.wg.Wait()
		}
	})
	return nil
}

// Get returns key's value.
func (b *Backend) Get(_ context.Context, key string) (region.CachedValue, bool, error) {
	if b.ttl == nil {
		if v, ok := b.values.Load(key); ok {
			return *v, true, nil
		}
		return region.CachedValue{}, false, nil
	}
	v, ok := b.ttl.Get(key)
	if !ok {
		return region.CachedValue{}, false, nil
	}
	return *v.(*region.CachedValue), true, nil
}

// Lookup is the region's fast path (region.ValueReader): a pointer to the
// stored value, or nil. Stored values are never modified in place.
func (b *Backend) Lookup(key string) *region.CachedValue {
	if b.ttl == nil {
		v, _ := b.values.Load(key)
		return v
	}
	if v, ok := b.ttl.Get(key); ok {
		return v.(*region.CachedValue)
	}
	return nil
}

// GetMulti returns the values of the keys present.
func (b *Backend) GetMulti(ctx context.Context, keys []string) (map[string]region.CachedValue, error) {
	out := make(map[string]region.CachedValue, len(keys))
	for _, k := range keys {
		if v, ok, _ := b.Get(ctx, k); ok {
			out[k] = v
		}
	}
	return out, nil
}

// Set stores v under key.
func (b *Backend) Set(_ context.Context, key string, v region.CachedValue) error {
	if b.ttl != nil {
		b.ttl.SetDefault(key, &v)
	} else {
		b.values.Store(key, &v)
	}
	return nil
}

// SetMulti stores every value of m.
func (b *Backend) SetMulti(ctx context.Context, m map[string]region.CachedValue) error {
	for k, v := range m {
		_ = b.Set(ctx, k, v)
	}
	return nil
}

// Delete removes key.
func (b *Backend) Delete(_ context.Context, key string) error {
	if b.ttl != nil {
		b.ttl.Delete(key)
	} else {
		b.values.Delete(key)
	}
	return nil
}

// DeleteMulti removes keys.
func (b *Backend) DeleteMulti(ctx context.Context, keys []string) error {
	for _, k := range keys {
		_ = b.Delete(ctx, k)
	}
	return nil
}

// GetMutex returns nil: the region's in-process mutex is the right one.
func (b *Backend) GetMutex(string) region.Mutex { return nil }

// Bytes is an in-process region.BytesBackend: it keeps serialized values,
// so every read decodes a fresh, isolated copy. It has no expiry of its own.
type Bytes struct {
	values *xsync.Map[string, []byte]
}

// NewBytes returns an empty byte store.
func NewBytes() *Bytes { return &Bytes{values: xsync.NewMap[string, []byte]()} }

// GetSerialized returns a copy of key's bytes.
func (b *Bytes) GetSerialized(_ context.Context, key string) ([]byte, bool, error) {
	v, ok := b.values.Load(key)
	if !ok {
		return nil, false, nil
	}
	return append([]byte(nil), v...), true, nil
}

// GetSerializedMulti returns copies of the bytes of the keys present.
func (b *Bytes) GetSerializedMulti(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if v, ok, _ := b.GetSerialized(ctx, k); ok {
			out[k] = v
		}
	}
	return out, nil
}

// SetSerialized stores a copy of data under key.
func (b *Bytes) SetSerialized(_ context.Context, key string, data []byte) error {
	b.values.Store(key, append([]byte(nil), data...))
	return nil
}

// SetSerializedMulti stores copies of every value of m.
func (b *Bytes) SetSerializedMulti(ctx context.Context, m map[string][]byte) error {
	for k, v := range m {
		_ = b.SetSerialized(ctx, k, v)
	}
	return nil
}

// Delete removes key.
func (b *Bytes) Delete(_ context.Context, key string) error {
	b.values.Delete(key)
	return nil
}

// DeleteMulti removes keys.
func (b *Bytes) DeleteMulti(_ context.Context, keys []string) error {
	for _, k := range keys {
		b.values.Delete(k)
	}
	return nil
}

// GetMutex returns nil: the region's in-process mutex is the right one.
func (b *Bytes) GetMutex(string) region.Mutex { return nil }

// Null is a backend that stores nothing: every read misses and every write
// is dropped. Its mutex never blocks, so creation is not serialized across
// processes; callers in one process that arrive while a creation runs still
// share it (the region's in-process flight). Useful to switch caching off
// by configuration.
type Null struct{}

// Get always misses.
func (Null) Get(context.Context, string) (region.CachedValue, bool, error) {
	return region.CachedValue{}, false, nil
}

// GetMulti finds nothing.
func (Null) GetMulti(context.Context, []string) (map[string]region.CachedValue, error) {
	return map[string]region.CachedValue{}, nil
}

// Set drops the value.
func (Null) Set(context.Context, string, region.CachedValue) error { return nil }

// SetMulti drops the values.
func (Null) SetMulti(context.Context, map[string]region.CachedValue) error { return nil }

// Delete does nothing.
func (Null) Delete(context.Context, string) error { return nil }

// DeleteMulti does nothing.
func (Null) DeleteMulti(context.Context, []string) error { return nil }

// GetMutex returns a mutex that is always free.
func (Null) GetMutex(string) region.Mutex { return nullMutex{} }

type nullMutex struct{}

func (nullMutex) Acquire(context.Context, bool) (bool, error) { return true, nil }
func (nullMutex) Release(context.Context) error               { return nil }
func (nullMutex) Locked(context.Context) (bool, error)        { return false, nil }
