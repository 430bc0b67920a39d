package region

import (
	"context"
	"time"
)

// ValueVersion is the version of the cached-value format written in every
// CachedValue's Metadata. A value read back with another version is treated
// as absent, so a format change never serves values it cannot understand.
const ValueVersion = 1

// Metadata is what the region records next to every cached payload.
type Metadata struct {
	// CreatedAt is when the value was created; expiration and invalidation
	// are measured from it.
	CreatedAt time.Time
	// Version is the value format version (ValueVersion when written).
	Version int
}

// CachedValue is a payload with its metadata, as stored by a Backend.
//
// For object backends Payload is the Go value the caller stored. For byte
// backends reached through the serialization envelope, Payload read back is
// a *Serialized holding the encoded bytes until the caller's type is known.
type CachedValue struct {
	Payload  any
	Metadata Metadata
}

// Backend is what the region and every proxy talk to. Implementations must be
// safe for concurrent use.
//
// Get reports a missing key with ok == false and a nil error; errors are for
// failures of the store. GetMulti returns only the keys it found. Deleting an
// absent key is not an error.
type Backend interface {
	Get(ctx context.Context, key string) (CachedValue, bool, error)
	GetMulti(ctx context.Context, keys []string) (map[string]CachedValue, error)
	Set(ctx context.Context, key string, v CachedValue) error
	SetMulti(ctx context.Context, m map[string]CachedValue) error
	Delete(ctx context.Context, key string) error
	DeleteMulti(ctx context.Context, keys []string) error
	// GetMutex returns the mutex guarding creation of key's value, or nil
	// to let the region use its in-process per-key mutex.
	GetMutex(key string) Mutex
}

// BytesBackend is what a byte store (memcached, Redis, ...) implements. The
// region reaches it through NewSerializedBackend, which adds the
// serialization envelope and presents it as a Backend.
type BytesBackend interface {
	GetSerialized(ctx context.Context, key string) ([]byte, bool, error)
	GetSerializedMulti(ctx context.Context, keys []string) (map[string][]byte, error)
	SetSerialized(ctx context.Context, key string, data []byte) error
	SetSerializedMulti(ctx context.Context, m map[string][]byte) error
	Delete(ctx context.Context, key string) error
	DeleteMulti(ctx context.Context, keys []string) error
	GetMutex(key string) Mutex
}

// Mutex is a lock guarding the creation of one key's value. The region's
// in-process mutex, a memcached add-lock and a Redis lock all implement it.
type Mutex interface {
	// Acquire takes the lock. With wait == false it tries once and reports
	// whether it got the lock; with wait == true it blocks until it gets the
	// lock or ctx ends (then it returns ctx.Err()).
	Acquire(ctx context.Context, wait bool) (bool, error)
	// Release gives the lock back.
	Release(ctx context.Context) error
	// Locked reports whether anyone holds the lock, without taking it.
	Locked(ctx context.Context) (bool, error)
}

// OrderedBytesReader is an optional fast path for byte backends that can
// read many keys straight into a slice in key order, cheaper than into
// GetSerializedMulti's map (the Redis backends: one command per key or
// hash tag, answered in order). SerializedBackend reads every set of keys
// with it: its GetMulti (so GetOrCreateMulti, and any region whose byte
// backend is wrapped in proxies) and the region's GetMulti and GetMultiAs.
type OrderedBytesReader interface {
	// GetSerializedOrdered reads keys: values[i] holds keys[i]'s value,
	// nil when the key is absent (a value that is present is never nil,
	// even when empty).
	GetSerializedOrdered(ctx context.Context, keys []string) (values [][]byte, err error)
}

// ValueReader is an optional fast path for in-process backends: Lookup
// returns a pointer to the stored CachedValue, or nil when key is absent.
// The region only reads through the pointer. It saves copying the value
// through each call layer; the memory backend implements it.
//
// The region uses Lookup on the hit path when every layer of the chain
// implements it: the actual backend and each proxy. ProxyBackend does not,
// so a proxy that overrides Get is never bypassed; a proxy that wants the
// fast path implements Lookup itself, doing what its Get does and reaching
// the next layer through its own Lookup (see the metrics proxy).
type ValueReader interface {
	Lookup(key string) *CachedValue
}

// BackendFactory builds a backend from its configuration arguments. It must
// not modify args.
type BackendFactory func(args Arguments) (Backend, error)

// SerializerSetter is implemented by backends whose stored format depends
// on the region's serializer (SerializedBackend, and backends that store
// values in a client's own format unless the region names a serializer, as
// dogpile.cache's memcached backends do). Configure calls SetSerializer
// with the region's serializer (WithSerializer), or with nil when it has
// none: the backend then keeps its default.
type SerializerSetter interface {
	SetSerializer(Serializer)
}

// KeyManglerSetter is implemented by backends that want to know the key
// mangler their region uses (for example to recompute keys they treat
// specially). The region calls SetKeyMangler during Configure and whenever
// the mangler changes.
type KeyManglerSetter interface {
	SetKeyMangler(func(string) string)
}

// KeyMangler is implemented by backends that suggest a key mangler of their
// own (dogpile's backend.key_mangler). A region configured without an
// explicit mangler uses it.
type KeyMangler interface {
	KeyMangler() func(string) string
}

func newCachedValue(payload any) CachedValue {
	return CachedValue{Payload: payload, Metadata: Metadata{CreatedAt: time.Now(), Version: ValueVersion}}
}
