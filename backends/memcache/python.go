package memcache

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/avast/retry-go/v4"
	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/lockmutex/memcachedmutex"
	"github.com/dogpile-go/dogpile/pickle"
	"github.com/dogpile-go/dogpile/region"
)

// PythonClient names the Python memcached client whose wire a
// PythonBackend speaks.
type PythonClient string

// The Python memcached clients of dogpile.cache and oslo.cache.
const (
	// PythonMemcached is python-memcached 1.58 (dogpile.cache.memcached,
	// oslo_cache.memcache_pool): servers picked by CmemcacheHash over
	// weighted buckets, values pickled with protocol 0, optional zlib.
	PythonMemcached PythonClient = "python-memcached"
	// Pymemcache is pymemcache 3.5's HashClient (dogpile.cache.pymemcache):
	// rendezvous hashing with murmur3, values pickled with protocol 5.
	Pymemcache PythonClient = "pymemcache"
)

// PythonOptions configure a PythonBackend. The backend factories of the
// dogpile.cache names build them from dogpile's arguments; NewPython
// takes them directly.
type PythonOptions struct {
	// Name is the registered backend name, for messages
	// ("dogpile.cache.memcached" when empty).
	Name string

	// Client is the Python client whose wire is spoken (PythonMemcached
	// when empty).
	Client PythonClient

	// Servers are the server addresses as the Python client reads them
	// (see ParsePythonMemcacheServer and ParsePymemcacheServer), in the
	// Python configuration's order: the order decides placement. A weight
	// other than 1 is for python-memcached only. Required.
	Servers []WeightedServer

	// DistributedLock: the dogpile lock is dogpile.cache's MemcachedLock
	// ("_lock" + key, taken with add), shared with Python processes.
	// False (dogpile's default): the region's in-process lock.
	DistributedLock bool

	// LockTimeout is the lock's lifetime; zero (dogpile's default)
	// stores the lock item without expiry, as dogpile does. The dogpile
	// names take whole seconds only, as the Python clients do. Go stores
	// the item for LockTimeout plus 2 s (see
	// memcachedmutex.Options.LockTimeout), where Python stores it for
	// lock_timeout: a lock a Go holder left behind outlives a Python
	// holder's by 2 s.
	LockTimeout time.Duration

	// ExpireTime is the server-side lifetime of every value written
	// (memcached_expire_time); zero: none.
	ExpireTime time.Duration

	// MinCompressLen: python-memcached compresses a stored value (pickled
	// CachedValue or serialized bytes) longer than this with zlib when
	// that makes it smaller (flag 8). Zero: never. Not used by pymemcache.
	MinCompressLen int

	// SocketTimeout bounds each connect, read and write (zero:
	// DefaultSocketTimeout).
	SocketTimeout time.Duration

	// DeadRetry is how long a failed server is skipped by
	// python-memcached's server choice: its keys go where the rehash loop
	// sends them meanwhile (zero: DefaultDeadRetry; negative: never
	// skipped). Not used by pymemcache, whose HashClient settings below
	// decide.
	DeadRetry time.Duration

	// MaxIdleConns is the number of idle connections kept per server
	// (zero: DefaultMaxIdleConns).
	MaxIdleConns int

	// MaxItemSize is the servers' item size limit (zero:
	// DefaultMaxItemSize); larger values are refused.
	MaxItemSize int

	// TLSConfig, when not nil, connects with TLS (pymemcache's
	// tls_context).
	TLSConfig *tls.Config

	// KeepAlive, when not nil, configures TCP keep-alive probes
	// (pymemcache's socket_keepalive).
	KeepAlive *net.KeepAliveConfig

	// RetryAttempts, when above zero, retries a call that failed on a
	// server error up to that many attempts in all, RetryDelay apart
	// (pymemcache's RetryingClient, enable_retry_client).
	RetryAttempts int
	RetryDelay    time.Duration

	// HashclientRetryAttempts, HashclientRetryTimeout and
	// HashclientDeadTimeout are pymemcache HashClient's dead-node settings:
	// after a server fails, calls for its keys fail at once for
	// HashclientRetryTimeout; then one call tries it again; after
	// HashclientRetryAttempts such retries fail, the server leaves the
	// rendezvous hash (its keys go to the other servers) for
	// HashclientDeadTimeout. Zero means HashClient's defaults (2, 1s and
	// 60s); a negative value means pymemcache's 0: no retries (a failed
	// server leaves the hash at once), no pause before a retry, no time
	// out of the hash. DogpilePymemcacheOptions turns an explicit 0 into
	// -1.
	HashclientRetryAttempts int
	HashclientRetryTimeout  time.Duration
	HashclientDeadTimeout   time.Duration

	// FlushOnReconnect sends flush_all to a server before its first call
	// after it was skipped as dead (python-memcached's flush_on_reconnect,
	// oslo.cache's memcache_pool_flush_on_reconnect), so values written
	// before the outage and overwritten elsewhere meanwhile are not served.
	FlushOnReconnect bool

	// DialContext, when not nil, opens the connections (TLSConfig and
	// KeepAlive are then the dialer's business).
	DialContext func(ctx context.Context, network, address string) (net.Conn, error)
}

// PythonBackend stores values as the Python dogpile.cache memcached
// backend of the same name does, on the same servers, so that Go and
// Python regions configured alike share values, keys and locks:
//
//   - a region without a serializer stores dogpile.cache.api.CachedValue
//     (payload, {"ct": created, "v": 2}) pickled as its Python client
//     does: flags 1, protocol 0 (python-memcached) or protocol 5
//     (pymemcache);
//   - a region with a serializer (region.WithSerializer) stores dogpile's
//     serialized form, region.DogpileEnvelope then the serializer's bytes,
//     with flags 0, as dogpile's set_serialized does;
//   - with python-memcached, either form longer than MinCompressLen is
//     zlib-compressed with flag 8 added when that makes it smaller, as
//     python-memcached does with the min_compress_len dogpile passes;
//   - keys go to the server the Python client picks (PythonMemcacheSelector
//     or RendezvousSelector), and no key mangler is suggested (dogpile's
//     memcached backends have none);
//   - the dogpile lock is dogpile's MemcachedLock: the item "_lock" + key,
//     taken with add, on the key's server.
//
// An item in another format (a plain Python str or int, a pickle of
// something else, the other serialized form, this project's own
// "memcached" format) reads as absent and is reported to the region (see
// ErrForeignValue). Safe for concurrent use.
type PythonBackend struct {
	b          *Backend
	opts       PythonOptions
	protocol   int
	serializer atomic.Pointer[serializerBox] // nil: pickled CachedValue
	onCorrupt  func(ctx context.Context, key string, err error)
}

type serializerBox struct{ s region.Serializer }

// NewPython returns a backend speaking opts.Client's wire. It does not
// connect: servers are dialled on first use.
func NewPython(opts PythonOptions) (*PythonBackend, error) {
	if opts.Name == "" {
		opts.Name = "dogpile.cache.memcached"
	}
	if opts.Client == "" {
		opts.Client = PythonMemcached
	}
	if len(opts.Servers) == 0 {
		return nil, fmt.Errorf("%w: give the server addresses in the url argument", ErrNoServers)
	}
	for _, a := range []struct {
		name     string
		value    any
		negative bool
	}{
		{"lock_timeout", opts.LockTimeout.String(), opts.LockTimeout < 0},
		{"memcached_expire_time", opts.ExpireTime.String(), opts.ExpireTime < 0},
		{"min_compress_len", opts.MinCompressLen, opts.MinCompressLen < 0},
	} {
		if a.negative {
			return nil, &region.ArgumentError{Name: a.name, Value: a.value, Want: "zero or more"}
		}
	}
	p := &PythonBackend{opts: opts}
	var sel gomemcache.ServerSelector
	var err error
	bo := Options{
		ExpireTime:    opts.ExpireTime,
		SocketTimeout: opts.SocketTimeout,
		MaxIdleConns:  opts.MaxIdleConns,
		MaxItemSize:   opts.MaxItemSize,
	}
	switch opts.Client {
	case PythonMemcached:
		sel, err = NewWeightedPythonMemcacheSelector(opts.Servers...)
		p.protocol = 0
		bo.keyProblem = pythonMemcacheKeyProblem
	case Pymemcache:
		names := make([]string, len(opts.Servers))
		for i, s := range opts.Servers {
			if s.Weight != 1 && s.Weight != 0 {
				return nil, &region.ArgumentError{Name: "url", Value: s, Want: "server addresses without weights (pymemcache has none)"}
			}
			names[i] = s.Addr
		}
		sel, err = NewRendezvousSelector(names...)
		p.protocol = pickle.HighestProtocol
		bo.keyProblem = pymemcacheKeyProblem
	default:
		return nil, &region.ArgumentError{Name: "client", Value: opts.Client, Want: fmt.Sprintf("%q or %q", PythonMemcached, Pymemcache)}
	}
	if err != nil {
		return nil, &region.ArgumentError{Name: "url", Value: opts.Servers, Want: fmt.Sprintf("memcached server addresses as %s reads them", opts.Client), Err: err}
	}
	bo.Selector = sel
	switch opts.Client {
	case PythonMemcached:
		deadRetry := opts.DeadRetry
		if deadRetry == 0 {
			deadRetry = DefaultDeadRetry
		}
		bo.health = &healthConfig{policy: deadRehash, deadRetry: deadRetry, flushOnReconnect: opts.FlushOnReconnect}
	case Pymemcache:
		bo.health = &healthConfig{policy: deadHashClient,
			retryAttempts:    orDefault(opts.HashclientRetryAttempts, 2),
			retryTimeout:     orDefault(opts.HashclientRetryTimeout, time.Second),
			deadTimeout:      orDefault(opts.HashclientDeadTimeout, 60*time.Second),
			flushOnReconnect: opts.FlushOnReconnect}
	}
	switch {
	case opts.DialContext != nil:
		bo.DialContext = opts.DialContext
	case opts.TLSConfig != nil || opts.KeepAlive != nil:
		bo.DialContext = dialer(opts)
	}
	if p.b, err = New(bo); err != nil {
		return nil, err
	}
	return p, nil
}

// orDefault reads a HashClient setting of PythonOptions: zero is def,
// a negative value is pymemcache's 0.
func orDefault[T int | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// dialer returns the DialContext for TLS and keep-alive settings.
func dialer(opts PythonOptions) func(ctx context.Context, network, address string) (net.Conn, error) {
	timeout := opts.SocketTimeout
	if timeout <= 0 {
		timeout = DefaultSocketTimeout
	}
	nd := &net.Dialer{Timeout: timeout}
	if opts.KeepAlive != nil {
		nd.KeepAliveConfig = *opts.KeepAlive
	}
	if opts.TLSConfig == nil {
		return nd.DialContext
	}
	td := &tls.Dialer{NetDialer: nd, Config: opts.TLSConfig}
	return td.DialContext
}

// pythonMemcacheKeyProblem is python-memcached's check_key on a key
// encoded as UTF-8: 1 to 250 bytes, each 0x21 to 0x7e or 0x80 and above.
func pythonMemcacheKeyProblem(key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > MaxKeyLength:
		return fmt.Sprintf("%d bytes long; python-memcached allows %d", len(key), MaxKeyLength)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c == 0x7f {
			return fmt.Sprintf("byte %d is %q (python-memcached refuses control characters and spaces)", i, c)
		}
	}
	return ""
}

// pymemcacheKeyProblem is pymemcache's check_key_helper (ASCII, at most 250
// bytes, no whitespace or NUL) plus what gomemcache cannot send (other
// control characters and DEL).
func pymemcacheKeyProblem(key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > MaxKeyLength:
		return fmt.Sprintf("%d bytes long; pymemcache allows %d", len(key), MaxKeyLength)
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c >= 0x80:
			return fmt.Sprintf("byte %d is %q: pymemcache refuses non-ASCII keys", i, c)
		case c <= ' ' || c == 0x7f:
			return fmt.Sprintf("byte %d is %q (control characters, whitespace and DEL cannot be sent)", i, c)
		}
	}
	return ""
}

// Name returns the registered name the backend was built for.
func (p *PythonBackend) Name() string { return p.opts.Name }

// Options returns the options the backend was built with.
func (p *PythonBackend) Options() PythonOptions { return p.opts }

// Client returns the gomemcache client underneath.
func (p *PythonBackend) Client() *gomemcache.Client { return p.b.client }

// Selector returns the server selector (a *PythonMemcacheSelector or a
// *RendezvousSelector).
func (p *PythonBackend) Selector() gomemcache.ServerSelector { return p.b.selector }

// ServerFor returns the address of the server that holds key.
func (p *PythonBackend) ServerFor(key string) (string, error) { return p.b.ServerFor(key) }

// Close closes the idle connections; the backend stays usable.
func (p *PythonBackend) Close() error { return p.b.Close() }

// SetSerializer selects the stored format (region.SerializerSetter): with
// a serializer, dogpile's serialized form with flags 0; with nil, the
// Python client's pickled CachedValue.
func (p *PythonBackend) SetSerializer(s region.Serializer) {
	if s == nil {
		p.serializer.Store(nil)
		return
	}
	p.serializer.Store(&serializerBox{s})
}

// Serializer returns the region serializer in use, nil when values are
// pickled CachedValues.
func (p *PythonBackend) Serializer() region.Serializer {
	if box := p.serializer.Load(); box != nil {
		return box.s
	}
	return nil
}

// SetCorruptionHandler sets the function told about items that read as
// absent because they are corrupt or foreign (the region sets it to its
// error handler). By default they are logged with log/slog.
func (p *PythonBackend) SetCorruptionHandler(f func(ctx context.Context, key string, err error)) {
	p.onCorrupt = f
}

func (p *PythonBackend) corrupt(ctx context.Context, key string, err error) {
	if p.onCorrupt != nil {
		p.onCorrupt(ctx, key, err)
		return
	}
	slog.WarnContext(ctx, "dogpile: cached value could not be read; treating it as absent", "backend", p.opts.Name, "key", key, "error", err)
}

// decode turns an item into a region value; ok false (reported) when the
// item is not one.
func (p *PythonBackend) decode(ctx context.Context, key string, it *gomemcache.Item) (region.CachedValue, bool) {
	cv, err := p.decodeItem(it)
	if err != nil {
		p.corrupt(ctx, key, fmt.Errorf("%s: key %q: %w", p.opts.Name, key, err))
		return region.CachedValue{}, false
	}
	return cv, true
}

func (p *PythonBackend) decodeItem(it *gomemcache.Item) (region.CachedValue, error) {
	flags, data, err := inflate(it.Flags, it.Value)
	if err != nil {
		return region.CachedValue{}, err
	}
	if s := p.Serializer(); s != nil {
		// dogpile hands the client bytes: flags 0, or 8 when
		// python-memcached compressed them (min_compress_len).
		if flags != 0 {
			return region.CachedValue{}, &ItemError{Flags: it.Flags, Foreign: true,
				Reason: describeForeign(it.Flags, it.Value, true) + "; this region has a serializer and reads dogpile's serialized form (flags 0, or 8 when compressed)"}
		}
		md, payload, err := region.DogpileEnvelope.Parse(data)
		if err != nil {
			return region.CachedValue{}, &ItemError{Flags: it.Flags, Foreign: true, Reason: describeForeign(it.Flags, it.Value, true), Err: err}
		}
		if v, ok := s.(region.Validator); ok {
			if err := v.Validate(payload); err != nil {
				return region.CachedValue{}, &ItemError{Flags: it.Flags, Reason: s.Name() + " payload that does not parse", Err: err}
			}
		}
		return region.CachedValue{Payload: &region.Serialized{Data: payload, Serializer: s}, Metadata: md}, nil
	}
	// python-memcached's order: text, then integers, then pickle.
	switch {
	case flags != 0 && flags&(FlagText|FlagInteger|FlagLong|FlagPickle) == 0:
		return region.CachedValue{}, &ItemError{Flags: it.Flags, Reason: "unknown flags (python-memcached raises ValueError)"}
	case flags&(FlagText|FlagInteger|FlagLong) != 0 || flags&FlagPickle == 0:
		return region.CachedValue{}, &ItemError{Flags: it.Flags, Foreign: true, Reason: describeForeign(it.Flags, it.Value, false)}
	}
	v, ct, ver, err := pickle.DecodeCachedValue(data)
	if err != nil {
		return region.CachedValue{}, &ItemError{Flags: it.Flags, Foreign: errors.Is(err, pickle.ErrNotCachedValue),
			Reason: "a pickle this region cannot read as a dogpile CachedValue", Err: err}
	}
	// The payload stays parsed but unconverted (region.EncodedPayload):
	// region.GetAs decodes it straight into the caller's type.
	return region.CachedValue{Payload: v, Metadata: region.Metadata{CreatedAt: ct, Version: readVersion(ver)}}, nil
}

// encode turns a region value into the item stored under key.
func (p *PythonBackend) encode(key string, cv region.CachedValue) (*gomemcache.Item, error) {
	it := &gomemcache.Item{Key: key, Expiration: itemExpiration(p.b.expire)}
	if s := p.Serializer(); s != nil {
		var payload []byte
		if ser, ok := cv.Payload.(*region.Serialized); ok && ser.Serializer.Name() == s.Name() {
			payload = ser.Data
		} else {
			value, err := payloadOf(key, cv.Payload, s.Name() == "pickle")
			if err != nil {
				return nil, err
			}
			if payload, err = s.Marshal(value); err != nil {
				return nil, fmt.Errorf("%s: key %q: cannot serialize %T with %s: %w", p.opts.Name, key, value, s.Name(), err)
			}
		}
		p.setValue(it, region.DogpileEnvelope.Append(make([]byte, 0, len(payload)+40), cv.Metadata, payload))
		return it, nil
	}
	value, err := payloadOf(key, cv.Payload, true)
	if err != nil {
		return nil, err
	}
	data, err := pickle.EncodeCachedValue(value, cv.Metadata.CreatedAt, dogpileVersion(cv.Metadata.Version), p.protocol)
	if err != nil {
		return nil, fmt.Errorf("%s: key %q: cannot pickle %T: %w", p.opts.Name, key, value, err)
	}
	it.Flags = FlagPickle
	p.setValue(it, data)
	return it, nil
}

// setValue stores data in it as python-memcached's _val_to_store_info
// does with min_compress_len: zlib-compressed, with FlagCompressed added,
// when data is longer than MinCompressLen and compression makes it
// smaller. dogpile passes min_compress_len for pickled CachedValues and
// serialized bytes alike. pymemcache never compresses.
func (p *PythonBackend) setValue(it *gomemcache.Item, data []byte) {
	if p.opts.Client == PythonMemcached && p.opts.MinCompressLen > 0 && len(data) > p.opts.MinCompressLen {
		if z := deflate(data); len(z) < len(data) {
			data, it.Flags = z, it.Flags|FlagCompressed
		}
	}
	it.Value = data
}

// call runs one server call, retried as pymemcache's RetryingClient does
// when enable_retry_client is set: server errors only (not bad keys,
// values or misses), RetryAttempts attempts in all, RetryDelay apart.
func (p *PythonBackend) call(ctx context.Context, f func() error) error {
	if p.opts.RetryAttempts <= 1 {
		return f()
	}
	return retry.Do(f,
		retry.Context(ctx),
		retry.Attempts(uint(p.opts.RetryAttempts)),
		retry.Delay(p.opts.RetryDelay),
		retry.DelayType(retry.FixedDelay),
		retry.LastErrorOnly(true),
		retry.RetryIf(func(err error) bool {
			var se *ServerError
			return errors.As(err, &se)
		}))
}

// Get reads key's value. A foreign or corrupt item reads as absent and is
// reported.
func (p *PythonBackend) Get(ctx context.Context, key string) (region.CachedValue, bool, error) {
	var it *gomemcache.Item
	err := p.call(ctx, func() (err error) {
		it, err = p.b.getItem(ctx, key)
		return err
	})
	if err != nil || it == nil {
		return region.CachedValue{}, false, err
	}
	cv, ok := p.decode(ctx, key, it)
	return cv, ok, nil
}

// GetMulti reads keys with one request per server; foreign or corrupt
// items are left out and reported.
func (p *PythonBackend) GetMulti(ctx context.Context, keys []string) (map[string]region.CachedValue, error) {
	var items map[string]*gomemcache.Item
	err := p.call(ctx, func() (err error) {
		items, err = p.b.getItems(ctx, keys)
		return err
	})
	if items == nil {
		return nil, err
	}
	out := make(map[string]region.CachedValue, len(items))
	for k, it := range items {
		if cv, ok := p.decode(ctx, k, it); ok {
			out[k] = cv
		}
	}
	return out, err
}

// Set stores v under key.
func (p *PythonBackend) Set(ctx context.Context, key string, v region.CachedValue) error {
	it, err := p.encode(key, v)
	if err != nil {
		return err
	}
	return p.call(ctx, func() error { return p.b.setItem(ctx, it) })
}

// SetMulti encodes every value first, so one that cannot be encoded leaves
// nothing written, then writes them concurrently per server.
func (p *PythonBackend) SetMulti(ctx context.Context, m map[string]region.CachedValue) error {
	items := make(map[string]*gomemcache.Item, len(m))
	for k, v := range m {
		it, err := p.encode(k, v)
		if err != nil {
			return err
		}
		items[k] = it
	}
	return p.call(ctx, func() error { return p.b.setItems(ctx, items) })
}

// Delete removes key; an absent key is not an error.
func (p *PythonBackend) Delete(ctx context.Context, key string) error {
	return p.call(ctx, func() error { return p.b.Delete(ctx, key) })
}

// DeleteMulti removes keys.
func (p *PythonBackend) DeleteMulti(ctx context.Context, keys []string) error {
	return p.call(ctx, func() error { return p.b.DeleteMulti(ctx, keys) })
}

// GetMutex returns dogpile.cache's MemcachedLock for key when
// distributed_lock is true (nil otherwise: the region's in-process lock):
// a memcachedmutex.Mutex on the item "_lock" + key, on the server the
// Python client picks for that item, stored for lock_timeout rounded up
// to whole seconds plus 2 s, for memcached's clock steps (Python: for
// lock_timeout; no expiry when zero on both sides). Python takes the lock with add("_lock" + key, 1)
// and releases it with delete; Go adds a random token and releases only
// while the item still holds it, so a Go release never deletes a Python
// holder's lock. Either side's add fails while the other holds the lock.
func (p *PythonBackend) GetMutex(key string) region.Mutex {
	if !p.opts.DistributedLock {
		return nil
	}
	return memcachedmutex.New(p.b.client, key, memcachedmutex.Options{
		LockTimeout: p.opts.LockTimeout,
		NoExpiry:    p.opts.LockTimeout <= 0,
		KeyProblem:  p.b.opts.keyProblem,
	})
}

var (
	_ region.Backend          = (*PythonBackend)(nil)
	_ region.SerializerSetter = (*PythonBackend)(nil)
)
