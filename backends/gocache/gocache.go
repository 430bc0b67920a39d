// Package gocache puts any eko/gocache v4 store (github.com/eko/gocache/lib/v4)
// behind a dogpile region, and a region inside gocache's chains and loadable
// caches.
//
// Importing the package registers these backends:
//
//	gocache             any store.StoreInterface, passed as Arguments{"store": s}
//	gocache.go_cache    patrickmn/go-cache in this process, Go values kept as they are
//	gocache.ristretto   dgraph-io/ristretto in this process, bounded by max_cost
//	gocache.redis       Redis (go-redis), values as bytes, Redis lock across processes
//	gocache.memcache    memcached (gomemcache), values as bytes, memcached lock across processes
//
// # Objects or bytes
//
// In-process stores keep the region's values as Go values (a
// region.CachedValue per key): nothing is copied or encoded, so readers
// share the very value that was stored and must not modify it. Shared
// stores keep bytes: the region's serialization envelope (metadata header
// and serialized payload, see region.NewSerializedBackend), which other
// processes can read back.
//
// Which of the two a store gets is decided by its GetType(): "go-cache" and
// "ristretto" keep Go values; every other type ("redis", "rueidis",
// "memcache", "bigcache", "freecache", "chain", ...) gets bytes, which every
// gocache store can hold. The "serialize" argument (Options.Mode in Go)
// overrides the choice: serialize=true gives isolated copies in an
// in-process store, serialize=false keeps Go values in a store of another
// in-process type.
//
// # Misses and errors
//
// A miss is recognised from the store's own not-found error: gocache's
// store.NotFound (which every bundled store returns, wrapping redis.Nil,
// memcache.ErrCacheMiss or its own cause), and the bare redis.Nil and
// memcache.ErrCacheMiss of stores that return them unwrapped (and
// bigcache's unwrapped "Entry not found", by its message). Every other
// store error is returned wrapped with the store type, the operation and
// the key (a *StoreError; errors.Is and errors.As reach the store's error).
// A value the region did not write (put in a shared store by other code)
// reads as absent: bytes that are not a valid envelope are reported to the
// region's error handler, values of another type are logged with log/slog
// (or, in ObjectMode, told to Backend.SetCorruptionHandler's function).
//
// # In-process stores built by name
//
// gocache.go_cache and gocache.ristretto own their go-cache or ristretto
// cache, and call it directly rather than through the store they wrap
// (with the same semantics): the StoreInterface takes keys as any, which
// costs an allocation per call, and reports each miss with two allocated
// errors. A store passed to the "gocache" backend is always used through
// its StoreInterface.
//
// # Multi-key calls
//
// gocache's StoreInterface has no batch operations. When the backend knows
// the client under the store (the named gocache.redis and gocache.memcache
// backends, which build it, or a "client" argument / Options.RedisClient /
// Options.MemcacheClient), GetMulti uses MGET (a pipeline on Redis cluster
// and ring clients) or memcached's multi-get, SetMulti a pipeline of SET
// commands on Redis, and DeleteMulti one DEL; otherwise they make one store
// call per key.
//
// # Locks
//
// gocache.redis and gocache.memcache hold the dogpile lock in the shared
// store by default (distributed_lock=true): the backend's GetMutex returns a
// redismutex.Mutex or memcachedmutex.Mutex, so one value is created
// by one caller across every process using the server. In-process stores
// return nil and the region uses its own in-process mutex.
//
// # Expiration
//
// A store's own expiration ("expiration", "default_expiration") is a hard
// limit after which the store forgets a value. Keep it longer than the
// region's expiration time: the region serves expired values to other
// callers while one caller regenerates, which needs the expired value to be
// still there.
//
// # The other direction
//
// NewStore and NewStoreOf return a store.StoreInterface reading and writing
// through a region (its key mangler, proxies, expiration and invalidation),
// to use in gocache's cache.New, cache.NewChain and cache.NewLoadable.
package gocache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/eko/gocache/lib/v4/store"
	gocache "github.com/patrickmn/go-cache"
	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/memcacheutil"
	"github.com/dogpile-go/dogpile/region"
)

// Store types (GetType values) of the stores bundled with eko/gocache v4
// that the package treats specially.
const (
	TypeGoCache   = "go-cache"
	TypeRistretto = "ristretto"
	TypeRedis     = "redis"
	TypeMemcache  = "memcache"
)

// Mode says how a backend keeps values in its store.
type Mode int

const (
	// AutoMode decides by the store's type: Go values for "go-cache" and
	// "ristretto", bytes for every other type.
	AutoMode Mode = iota
	// ObjectMode keeps region.CachedValue Go values in the store, as they
	// are. Only for stores in this process that accept any value.
	ObjectMode
	// BytesMode keeps the region's serialization envelope ([]byte) in the
	// store: isolated copies, readable by other processes.
	BytesMode
)

// String returns "auto", "objects" or "bytes".
func (m Mode) String() string {
	switch m {
	case AutoMode:
		return "auto"
	case ObjectMode:
		return "objects"
	case BytesMode:
		return "bytes"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Options configure New.
type Options struct {
	// Mode says whether the store keeps Go values or bytes; AutoMode (the
	// zero value) decides by the store's type.
	Mode Mode

	// Expiration is passed to the store with every Set
	// (store.WithExpiration): the store forgets values after it. Zero
	// leaves the store's default.
	Expiration time.Duration

	// Cost weighs a value for stores that bound their size by cost
	// (ristretto): it is passed with every Set (store.WithCost). In
	// ObjectMode it gets the region.CachedValue, in BytesMode the []byte
	// stored. Nil passes no cost (ristretto then uses its own Config.Cost,
	// if any). Set errors of a ristretto store mean the value was dropped
	// by its admission policy and are not reported.
	Cost func(value any) int64

	// Mutex, if set, returns the mutex guarding creation of key's value
	// (a new mutex value for every call: the distributed mutexes are not
	// reentrant). Nil lets the region use its in-process mutex.
	Mutex func(key string) region.Mutex

	// RedisClient, when the store is a Redis store over this client, lets
	// GetMulti, SetMulti and DeleteMulti use batch commands. SetMulti
	// writes with Expiration, so with Expiration zero (the store's own
	// default, which the backend cannot see) it goes through the store key
	// by key instead. It is not closed by Close.
	RedisClient redis.UniversalClient

	// MemcacheClient, when the store is a memcache store over this client,
	// lets GetMulti use memcached's multi-get. It is not closed by Close.
	MemcacheClient *memcache.Client

	// OnClose, if set, is called once by the backend's Close (to close a
	// client or stop a goroutine the caller started for the store).
	OnClose func() error

	// ownStore: this package built the store, with Expiration as its
	// default, so batch writes may use Expiration even when it is zero.
	ownStore bool

	// memcacheSel: the selector under MemcacheClient, when this package
	// built it, so that a failed multi-get names the failing server's keys.
	memcacheSel memcache.ServerSelector
}

// New returns a region backend over s: a *Backend (Go values) or a
// *region.SerializedBackend over a *Bytes (bytes through the region's
// envelope), as opts.Mode and the store's type decide. The store is not
// closed by the backend's Close (use Options.OnClose for that).
func New(s store.StoreInterface, opts Options) (region.Backend, error) {
	return newBackend(s, opts, nil, nil)
}

// newBackend is New, recording the client a named backend built (and, for
// in-process clients, the direct access to it).
func newBackend(s store.StoreInterface, opts Options, client any, direct directClient) (region.Backend, error) {
	if s == nil {
		return nil, &region.ArgumentError{Name: "store", Value: nil, Want: "a github.com/eko/gocache/lib/v4/store.StoreInterface"}
	}
	c := &core{
		store:   s,
		typ:     s.GetType(),
		exp:     opts.Expiration,
		cost:    opts.Cost,
		mutex:   opts.Mutex,
		client:  client,
		direct:  direct,
		onClose: opts.OnClose,
	}
	if g, ok := direct.(goCacheClient); ok {
		c.goc = g.c
	}
	if opts.Expiration < 0 {
		return nil, &region.ArgumentError{Name: "expiration", Value: opts.Expiration, Want: "a duration of zero or more"}
	}
	if c.exp > 0 {
		c.setOpts = append(c.setOpts, store.WithExpiration(c.exp))
	}
	c.ristretto = c.typ == TypeRistretto
	if c.ristretto {
		// Without it a value set now may not be readable yet: ristretto
		// applies sets asynchronously.
		c.setOpts = append(c.setOpts, store.WithSynchronousSet())
	}
	mode := opts.Mode
	if mode == AutoMode {
		mode = ModeFor(c.typ)
	}
	switch mode {
	case ObjectMode:
		return &Backend{core: c}, nil
	case BytesMode:
		b := &Bytes{core: c}
		switch {
		case opts.RedisClient != nil:
			rb := &redisBatch{client: opts.RedisClient, exp: c.exp}
			b.getter, b.deleter = rb, rb
			if c.exp > 0 || opts.ownStore {
				b.setter = rb // the pipeline writes the same expiry the store would
			}
		case opts.MemcacheClient != nil:
			b.getter = &memcacheBatch{client: opts.MemcacheClient, selector: opts.memcacheSel}
		}
		return region.NewSerializedBackend(b, nil), nil
	}
	return nil, &region.ArgumentError{Name: "serialize", Value: opts.Mode, Want: "AutoMode, ObjectMode or BytesMode"}
}

// ModeFor returns the mode AutoMode picks for a store type: ObjectMode for
// "go-cache" and "ristretto", BytesMode for everything else.
func ModeFor(storeType string) Mode {
	switch storeType {
	case TypeGoCache, TypeRistretto:
		return ObjectMode
	}
	return BytesMode
}

// core is what both kinds of backend share.
type core struct {
	store     store.StoreInterface
	typ       string
	exp       time.Duration
	setOpts   []store.Option
	cost      func(any) int64
	ristretto bool
	mutex     func(string) region.Mutex
	client    any            // the client the named backend built, if any
	direct    directClient   // the in-process client under the store, used directly
	goc       *gocache.Cache // direct's go-cache, if it is one: the hottest path
	onClose   func() error
	closeOnce sync.Once
	closeErr  error
}

// notFound is the target for errors.Is: store.NotFound's Is method
// matches any not-found error of the store package.
var notFound error = store.NotFound{}

// IsMiss reports whether err is a store's way of saying that a key is
// absent: gocache's store.NotFound, redis.Nil, memcache.ErrCacheMiss, or
// bigcache's "Entry not found" (which gocache's bigcache store returns
// unwrapped; recognised by its message, so that this package need not
// depend on bigcache).
func IsMiss(err error) bool {
	return err != nil && (errors.Is(err, notFound) || errors.Is(err, redis.Nil) || errors.Is(err, memcache.ErrCacheMiss) ||
		isBigcacheMiss(err))
}

// bigcacheNotFound is the message of bigcache's ErrEntryNotFound.
const bigcacheNotFound = "Entry not found"

func isBigcacheMiss(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e.Error() == bigcacheNotFound {
			return true
		}
	}
	return false
}

// StoreError is a store failure other than a miss, with the operation and
// key it happened on. Unwrap returns the store's error.
type StoreError struct {
	StoreType string // the store's GetType()
	Op        string // "get", "set", "delete", "get_multi", "set_multi", "delete_multi"
	Key       string // the (mangled) key; for multi calls the first key involved
	// Addr is the server that failed, when known (a memcached multi-get
	// names it, as the memcached backend's ServerError does); "" otherwise.
	Addr string
	// Keys is, for a multi call that failed on one server (Addr), how many
	// of the call's keys that server holds; Key is the first of them.
	Keys int
	Err  error
}

// Error names the store type, the operation, the key and, when known, the
// server.
func (e *StoreError) Error() string {
	if e.Addr != "" {
		return fmt.Sprintf("gocache %s store: %s %q (%d keys on server %s): %v", e.StoreType, e.Op, e.Key, e.Keys, e.Addr, e.Err)
	}
	return fmt.Sprintf("gocache %s store: %s %q: %v", e.StoreType, e.Op, e.Key, e.Err)
}

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }

func (c *core) fail(op, key string, err error) error {
	return &StoreError{StoreType: c.typ, Op: op, Key: key, Err: err}
}

func (c *core) set(ctx context.Context, key string, v any) error {
	if c.direct != nil {
		c.direct.set(key, v) // false: dropped by ristretto's policy, as a cache may
		return nil
	}
	opts := c.setOpts
	if c.cost != nil {
		opts = append(opts[:len(opts):len(opts)], store.WithCost(c.cost(v)))
	}
	if panicked, err := c.storeSet(ctx, key, v, opts); err != nil {
		if c.ristretto && !panicked {
			// Ristretto's only Set error: its buffers or its admission
			// policy dropped the value. A cache may do that.
			return nil
		}
		return c.fail("set", key, err)
	}
	return nil
}

// storeSet calls the store's Set, turning a panic into an error: gocache's
// stores type-assert values (the memcache store wants []byte, a
// ristretto store of another value type than any wants that type).
func (c *core) storeSet(ctx context.Context, key string, v any, opts []store.Option) (panicked bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the store cannot hold a %T (use serialize=true for stores of bytes): %v", v, p)
			panicked = true
		}
	}()
	return false, c.store.Set(ctx, key, v, opts...)
}

// get reads key: (value, true) when present, (nil, false) on a miss.
func (c *core) get(ctx context.Context, key string) (any, bool, error) {
	if c.goc != nil {
		v, ok := c.goc.Get(key)
		return v, ok, nil
	}
	if c.direct != nil {
		v, ok := c.direct.get(key)
		return v, ok, nil
	}
	v, err := c.store.Get(ctx, key)
	if err != nil {
		if IsMiss(err) {
			return nil, false, nil
		}
		return nil, false, c.fail("get", key, err)
	}
	return v, true, nil
}

func (c *core) delete(ctx context.Context, key string) error {
	if c.direct != nil {
		c.direct.delete(key)
		return nil
	}
	if err := c.store.Delete(ctx, key); err != nil && !IsMiss(err) {
		return c.fail("delete", key, err)
	}
	return nil
}

// deleteEach deletes keys one by one, going on after an error, except
// after one saying the server could not be reached or did not answer
// (memcacheutil.ConnError: refused, timed out, reset): the remaining keys
// then fail at once with that error, so a stopped or hung server costs
// about one socket timeout rather than one per key.
func (c *core) deleteEach(ctx context.Context, keys []string) error {
	var errs []error
	for i, k := range keys {
		err := c.delete(ctx, k)
		if err == nil {
			continue
		}
		errs = append(errs, err)
		if memcacheutil.ConnError(err) {
			var se *StoreError
			cause := err
			if errors.As(err, &se) {
				cause = se.Err
			}
			for _, k := range keys[i+1:] {
				errs = append(errs, c.fail("delete", k, cause))
			}
			break
		}
	}
	return errors.Join(errs...)
}

func (c *core) getMutex(key string) region.Mutex {
	if c.mutex == nil {
		return nil
	}
	return c.mutex(key)
}

func (c *core) close() error {
	c.closeOnce.Do(func() {
		if c.onClose != nil {
			c.closeErr = c.onClose()
		}
	})
	return c.closeErr
}

func foreignValue(ctx context.Context, typ, key string, v any) {
	slog.WarnContext(ctx, "dogpile: gocache store holds a value the region did not write; treating it as absent",
		"store", typ, "key", key, "type", fmt.Sprintf("%T", v))
}

// Backend keeps the region's values in an in-process gocache store as Go
// values (region.CachedValue), without copying or encoding them: readers
// share the stored value and must not modify it. It is what New returns
// in ObjectMode and what gocache.go_cache and gocache.ristretto are built
// on. Safe for concurrent use.
type Backend struct {
	*core
	onCorrupt atomic.Pointer[func(ctx context.Context, key string, err error)]
}

var _ region.Backend = (*Backend)(nil)

// Store returns the gocache store underneath, to share with gocache code.
func (b *Backend) Store() store.StoreInterface { return b.store }

// Client returns the client a named backend built under its store:
// *gocache.Cache (github.com/patrickmn/go-cache) for gocache.go_cache,
// *ristretto.Cache[string, any] for gocache.ristretto; nil for a backend
// made by New.
func (b *Backend) Client() any { return b.client }

// Close releases what the backend owns (a cleanup goroutine, a ristretto
// cache, Options.OnClose); a store given to New is left open. Safe to call
// more than once; the backend is unusable after.
func (b *Backend) Close() error { return b.close() }

// SetCorruptionHandler sets the function told about values of an
// unexpected type found in the store (they read as absent), as
// region.SerializedBackend's method of that name does for bytes. By default
// they are logged with log/slog.
// Safe to call while the backend is in use.
func (b *Backend) SetCorruptionHandler(f func(ctx context.Context, key string, err error)) {
	if f == nil {
		b.onCorrupt.Store(nil)
		return
	}
	b.onCorrupt.Store(&f)
}

func (b *Backend) decode(ctx context.Context, key string, v any) (region.CachedValue, bool) {
	switch cv := v.(type) {
	case *region.CachedValue:
		if cv != nil {
			return *cv, true
		}
	}
	if f := b.onCorrupt.Load(); f != nil {
		(*f)(ctx, key, fmt.Errorf("%w: gocache %s store holds a %T, not a region.CachedValue", region.ErrCorruptValue, b.typ, v))
	} else {
		foreignValue(ctx, b.typ, key, v)
	}
	return region.CachedValue{}, false
}

// Get returns key's value.
func (b *Backend) Get(ctx context.Context, key string) (region.CachedValue, bool, error) {
	var v any
	var ok bool
	var err error
	if b.goc != nil {
		v, ok = b.goc.Get(key)
	} else {
		v, ok, err = b.get(ctx, key)
	}
	if !ok || err != nil {
		return region.CachedValue{}, false, err
	}
	if cv, isCV := v.(region.CachedValue); isCV {
		return cv, true, nil
	}
	cv, ok := b.decode(ctx, key, v)
	return cv, ok, nil
}

// GetMulti returns the values of the keys present (one store call per key:
// in-process stores have no batch operation to gain from).
func (b *Backend) GetMulti(ctx context.Context, keys []string) (map[string]region.CachedValue, error) {
	out := make(map[string]region.CachedValue, len(keys))
	for _, k := range keys {
		cv, ok, err := b.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = cv
		}
	}
	return out, nil
}

// Set stores v under key.
func (b *Backend) Set(ctx context.Context, key string, v region.CachedValue) error {
	return b.set(ctx, key, v)
}

// SetMulti stores every value of m.
func (b *Backend) SetMulti(ctx context.Context, m map[string]region.CachedValue) error {
	for k, v := range m {
		if err := b.Set(ctx, k, v); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes key; an absent key is not an error.
func (b *Backend) Delete(ctx context.Context, key string) error { return b.delete(ctx, key) }

// DeleteMulti removes keys, trying every key even after an error, except
// one saying the store's server could not be reached (see deleteEach).
func (b *Backend) DeleteMulti(ctx context.Context, keys []string) error {
	return b.deleteEach(ctx, keys)
}

// GetMutex returns Options.Mutex(key), or nil (the region's in-process
// mutex) when there is none.
func (b *Backend) GetMutex(key string) region.Mutex { return b.getMutex(key) }

// Bytes keeps the region's serialized values ([]byte envelopes) in a
// gocache store: region.BytesBackend, reached through
// region.NewSerializedBackend (New does that). It is what gocache.redis and
// gocache.memcache are built on. Safe for concurrent use.
type Bytes struct {
	*core
	// Batch operations on the client under the store; nil: one store call
	// per key.
	getter  multiGetter
	setter  multiSetter
	deleter multiDeleter
}

var _ region.BytesBackend = (*Bytes)(nil)

// Store returns the gocache store underneath, to share with gocache code.
func (b *Bytes) Store() store.StoreInterface { return b.store }

// Client returns the client a named backend built under its store:
// *redis.Client for gocache.redis, *memcache.Client for gocache.memcache,
// *ristretto.Cache[string, any] for gocache.ristretto with serialize=true,
// *gocache.Cache for gocache.go_cache with serialize=true; nil for a
// backend made by New.
func (b *Bytes) Client() any { return b.client }

// Close releases what the backend owns (the client a named backend built,
// Options.OnClose); a store or client given to New is left open. Safe to
// call more than once; the backend is unusable after.
func (b *Bytes) Close() error { return b.close() }

func (b *Bytes) bytesOf(ctx context.Context, key string, v any) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, true
	case string: // the Redis and rueidis stores return strings
		return []byte(x), true
	}
	// Written by other code: read as absent.
	foreignValue(ctx, b.typ, key, v)
	return nil, false
}

// GetSerialized returns key's bytes.
func (b *Bytes) GetSerialized(ctx context.Context, key string) ([]byte, bool, error) {
	v, ok, err := b.get(ctx, key)
	if !ok || err != nil {
		return nil, false, err
	}
	data, ok := b.bytesOf(ctx, key, v)
	return data, ok, nil
}

// GetSerializedMulti returns the bytes of the keys present, in one batch
// call when the backend knows the client, else one call per key. When a
// memcached multi-get fails on one server, the values read from the other
// servers are returned with the error (a *StoreError naming the failing
// server and the first of its keys, as the memcached backend does).
func (b *Bytes) GetSerializedMulti(ctx context.Context, keys []string) (map[string][]byte, error) {
	if len(keys) == 0 {
		return map[string][]byte{}, nil
	}
	if b.getter != nil {
		out, err := b.getter.getMulti(ctx, keys)
		if err != nil {
			var sf *serverFailure
			if errors.As(err, &sf) {
				return out, &StoreError{StoreType: b.typ, Op: "get_multi", Key: sf.keys[0], Addr: sf.addr, Keys: len(sf.keys), Err: sf.err}
			}
			return out, b.fail("get_multi", keys[0], err)
		}
		return out, nil
	}
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		data, ok, err := b.GetSerialized(ctx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = data
		}
	}
	return out, nil
}

// SetSerialized stores data under key.
func (b *Bytes) SetSerialized(ctx context.Context, key string, data []byte) error {
	return b.set(ctx, key, data)
}

// SetSerializedMulti stores every value of m, in one pipeline on Redis
// when the backend knows the client, else one call per key.
func (b *Bytes) SetSerializedMulti(ctx context.Context, m map[string][]byte) error {
	if len(m) == 0 {
		return nil
	}
	if b.setter != nil {
		if key, err := b.setter.setMulti(ctx, m); err != nil {
			return b.fail("set_multi", key, err)
		}
		return nil
	}
	for k, v := range m {
		if err := b.SetSerialized(ctx, k, v); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes key; an absent key is not an error.
func (b *Bytes) Delete(ctx context.Context, key string) error { return b.delete(ctx, key) }

// DeleteMulti removes keys (one DEL on Redis when the backend knows the
// client); absent keys are not an error.
func (b *Bytes) DeleteMulti(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if b.deleter != nil {
		if key, err := b.deleter.deleteMulti(ctx, keys); err != nil {
			return b.fail("delete_multi", key, err)
		}
		return nil
	}
	return b.deleteEach(ctx, keys)
}

// GetMutex returns the distributed mutex for key (a new value per call), or
// nil when the backend has none and the region's in-process mutex applies.
func (b *Bytes) GetMutex(key string) region.Mutex { return b.getMutex(key) }

var (
	_ io.Closer = (*Backend)(nil)
	_ io.Closer = (*Bytes)(nil)
)
