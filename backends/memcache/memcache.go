// Package memcache provides the memcached backends, on
// github.com/bradfitz/gomemcache, registered under these names when the
// package is imported:
//
//	memcached                this project's memcached backend, in its own
//	                         format (not Python's)
//	openstack.kvs.Memcached  Keystone's KVS memcached backend (a front end
//	                         that picks a memcached driver by name)
//	dogpile.cache.memcached, dogpile.cache.pymemcache,
//	oslo_cache.memcache_pool the Python clients' wire, shared with Python
//	                         regions (see PythonBackend)
//	dogpile.cache.pylibmc, dogpile.cache.bmemcached
//	                         refused with ErrUnsupportedBackend
//
// Import the package for its side effect and select a backend by name:
//
//	import _ "github.com/dogpile-go/dogpile/backends/memcache"
//
//	r := region.New("tokens")
//	err := r.Configure("memcached",
//		region.WithExpirationTime(10*time.Minute),
//		region.WithArguments(region.Arguments{
//			"url":                   "127.0.0.1:11211,127.0.0.1:11212",
//			"memcached_expire_time": 3600,
//		}))
//
// Values are bytes on the server: the region writes its envelope (creation
// time, format version, then the serializer's bytes), so any process using
// the same region settings reads them, and bytes that do not parse read as
// absent. Keys are spread over the servers by gomemcache's selector (CRC-32
// of the key modulo the number of servers), by consistent hashing
// (server_selector: ketama, see KetamaSelector), or by any
// memcache.ServerSelector given in Options. The region's dogpile lock
// becomes a memcached lock (memcachedmutex.Mutex) shared by every
// process using the servers, unless distributed_lock is false.
//
// The arguments of the memcached backend:
//
//	url                    server addresses, a list or a comma-separated
//	                       string ("host:port", or a Unix socket path); required
//	server_selector        how keys are spread over the servers: "modulo"
//	                       (default, gomemcache's CRC-32 modulo the number of
//	                       servers) or "ketama" (consistent hashing: adding or
//	                       removing one of N servers moves about 1/N of the keys)
//	memcached_expire_time  server-side lifetime of every value written
//	                       (seconds or a Go duration; 0 = none, the default).
//	                       Set it longer than the region's expiration time,
//	                       and the same in every process: it applies to a
//	                       region.NewSharedInvalidation record too.
//	distributed_lock       true (default): the dogpile lock is a memcached
//	                       lock; false: the region's in-process lock
//	lock_timeout           lifetime of a lock item, so a crashed holder blocks
//	                       others at most this long (default 5s)
//	max_lock_attempts      attempts of a waiting lock acquisition before
//	                       lockmutex.ErrMaxLockAttempts (default 0: unlimited,
//	                       until the caller's context ends, like dogpile)
//	socket_timeout         connect/read/write timeout per server call
//	                       (default 3s, as python-memcached)
//	max_idle_conns         idle connections kept per server (default 256)
//	dead_retry             after a server fails (refused or timed-out
//	                       connection, no answer within socket_timeout),
//	                       calls for its keys fail at once for this long
//	                       (ErrServerDown), then it is tried again
//	                       (default 30s; 0: every call tries it)
//	max_item_size          the servers' item size limit, memcached -I
//	                       (default 1 MiB); larger values are refused
//
// The backend suggests region.SHA1MangleKey as the key mangler (as Keystone
// does), so any region key is a legal memcached key; a region given its own
// mangler (region.WithKeyMangler) uses that instead. See docs/memcached.md.
package memcache

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/internal/memcacheutil"
	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/lockmutex/memcachedmutex"
	"github.com/dogpile-go/dogpile/region"
)

func init() {
	region.RegisterBackend("memcached", func(args region.Arguments) (region.Backend, error) {
		opts, err := OptionsFromArguments(args)
		if err != nil {
			return nil, err
		}
		b, err := New(opts)
		if err != nil {
			return nil, err
		}
		return region.NewSerializedBackend(b, nil), nil
	})
	region.RegisterBackend("openstack.kvs.Memcached", func(args region.Arguments) (region.Backend, error) {
		b, err := NewKVS(args)
		if err != nil {
			return nil, err
		}
		return region.NewSerializedBackend(b, nil), nil
	})
	// gomemcache pools connections, so Keystone's pooled_memcached is the
	// same driver.
	RegisterDriver(DefaultDriver, newDriver)
	RegisterDriver("pooled_memcached", newDriver)
}

func newDriver(args region.Arguments) (Driver, error) {
	opts, err := OptionsFromArguments(args)
	if err != nil {
		return nil, err
	}
	return New(opts)
}

// Limits and defaults.
const (
	// MaxKeyLength is memcached's limit on the length of a key, in bytes.
	MaxKeyLength = memcacheutil.MaxKeyLength

	// DefaultMaxItemSize is memcached's default item size limit (its -I
	// option): 1 MiB.
	DefaultMaxItemSize = 1 << 20

	// ItemOverhead is what one item takes on the server besides its key and
	// value (item header, CAS id, line endings), in bytes. A value fits
	// when len(key) + len(value) + ItemOverhead <= max_item_size. (memcached
	// 1.6 needs 59 bytes; the rest is margin.)
	ItemOverhead = 64

	// DefaultSocketTimeout is the connect, read and write timeout of one
	// server call when socket_timeout is not given (python-memcached's
	// default, as used by dogpile.cache).
	DefaultSocketTimeout = 3 * time.Second

	// DefaultMaxIdleConns is how many idle connections are kept per server
	// when max_idle_conns is not given: enough to keep the connections of
	// `dogpile bench`'s default load (200 goroutines per process) open
	// instead of closing and redialling them, which with 16 cost 35-45%
	// of the requests/s and left thousands of sockets in TIME-WAIT (see
	// docs/PERFORMANCE.md).
	DefaultMaxIdleConns = 256

	// maxBatchInFlight caps the sets or deletes one SetMulti or DeleteMulti
	// has in flight per server.
	maxBatchInFlight = 16

	// DefaultDeadRetry is how long a failed server is skipped when
	// dead_retry is not given (python-memcached's default).
	DefaultDeadRetry = 30 * time.Second
)

// Backend is the memcached backend: a region.BytesBackend on a gomemcache
// client. The registered "memcached" backend is a Backend behind
// region.NewSerializedBackend. Safe for concurrent use.
type Backend struct {
	client   *gomemcache.Client
	selector gomemcache.ServerSelector // without the health checks
	health   *health
	opts     Options
	expire   int32 // the relative memcached expiration of ExpireTime; 0: none
}

// New returns a memcached backend. It does not connect: servers are dialled
// on first use, so a server that is down at start only fails the calls for
// its keys.
func New(opts Options) (*Backend, error) {
	if opts.SocketTimeout <= 0 {
		opts.SocketTimeout = DefaultSocketTimeout
	}
	if opts.MaxIdleConns <= 0 {
		opts.MaxIdleConns = DefaultMaxIdleConns
	}
	if opts.MaxItemSize <= 0 {
		opts.MaxItemSize = DefaultMaxItemSize
	}
	if opts.ExpireTime < 0 {
		return nil, &region.ArgumentError{Name: "memcached_expire_time", Value: opts.ExpireTime, Want: "a duration of zero or more"}
	}
	sel := opts.Selector
	if sel == nil {
		if len(opts.Servers) == 0 {
			return nil, fmt.Errorf("%w: give the server addresses in the url argument", ErrNoServers)
		}
		if err := checkSelector(opts.ServerSelector, opts.ServerSelector); err != nil {
			return nil, err
		}
		var err error
		if sel, err = newSelector(opts.ServerSelector, opts.Servers); err != nil {
			return nil, &region.ArgumentError{Name: "url", Value: opts.Servers, Want: "memcached server addresses (host:port)", Err: err}
		}
	}
	if opts.DeadRetry == 0 {
		opts.DeadRetry = DefaultDeadRetry
	}
	hc := healthConfig{policy: deadFailFast, deadRetry: opts.DeadRetry}
	if opts.health != nil {
		hc = *opts.health
	}
	var addrs []net.Addr
	var exclude func(int, time.Time)
	if ps, ok := sel.(interface {
		addrList() []net.Addr
		markDead(int, time.Time)
	}); ok {
		addrs, exclude = ps.addrList(), ps.markDead
	}
	h := newHealth(hc, addrs, exclude)
	dial := opts.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: opts.SocketTimeout}).DialContext
	}
	h.flush = func(a net.Addr) error {
		fc := gomemcache.NewFromSelector(oneServer{a})
		fc.Timeout, fc.DialContext = opts.SocketTimeout, dial
		defer fc.Close()
		if err := fc.FlushAll(); err != nil {
			return &ServerError{Op: "flush_all (flush_on_reconnect)", Addr: a.String(), Err: err}
		}
		return nil
	}
	c := gomemcache.NewFromSelector(&healthSelector{inner: sel, h: h})
	c.Timeout = opts.SocketTimeout
	c.MaxIdleConns = opts.MaxIdleConns
	c.DialContext = h.dialer(dial)
	b := &Backend{client: c, selector: sel, opts: opts, health: h}
	b.expire = memcacheutil.Seconds(opts.ExpireTime)
	return b, nil
}

// checkSelector reports an unknown server_selector (given as v), naming
// the valid ones.
func checkSelector(name string, v any) error {
	if name == "" || slices.Contains(selectorNames, name) {
		return nil
	}
	return &region.ArgumentError{Name: "server_selector", Value: v,
		Want: fmt.Sprintf("a server selector: %q (the default: CRC-32 modulo the number of servers) or %q (consistent hashing)", SelectorModulo, SelectorKetama)}
}

// newSelector builds the named selector (checked) over servers.
func newSelector(name string, servers []string) (gomemcache.ServerSelector, error) {
	if name == SelectorKetama {
		return NewKetamaSelector(servers...)
	}
	sl := new(gomemcache.ServerList)
	if err := sl.SetServers(servers...); err != nil {
		return nil, err
	}
	return sl, nil
}

// itemExpiration returns the expiration field for a write with the given
// relative lifetime in seconds (absolute beyond memcached's 30 days).
func itemExpiration(secs int32) int32 { return memcacheutil.Expiration(int64(secs)) }

// Client returns the gomemcache client the backend uses.
func (b *Backend) Client() *gomemcache.Client { return b.client }

// Servers returns the addresses of the servers the selector currently
// spreads keys over (after a KetamaSelector's SetServers, the new ones).
func (b *Backend) Servers() []string {
	if ks, ok := b.selector.(*KetamaSelector); ok {
		return ks.Servers() // as given
	}
	var out []string
	_ = b.selector.Each(func(a net.Addr) error { out = append(out, a.String()); return nil })
	return out
}

// Options returns the backend's options, with defaults filled in.
func (b *Backend) Options() Options { return b.opts }

// ExpireTime returns the server-side lifetime given to values written
// (memcached_expire_time), zero for none.
func (b *Backend) ExpireTime() time.Duration { return b.opts.ExpireTime }

// KeyMangler suggests region.SHA1MangleKey, as Keystone's memcached
// backend does: every region key becomes 40 hex characters, a legal
// memcached key. A region given its own mangler uses that instead.
func (b *Backend) KeyMangler() func(string) string { return region.SHA1MangleKey }

// Close closes the idle connections. The backend stays usable (new
// connections are opened as needed).
func (b *Backend) Close() error { return b.client.Close() }

// ServerFor returns the address of the server that holds key.
func (b *Backend) ServerFor(key string) (string, error) {
	a, err := b.selector.PickServer(key)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

func (b *Backend) addr(key string) string {
	a, err := b.selector.PickServer(key)
	if err != nil {
		return ""
	}
	return a.String()
}

// CheckKey returns a *KeyError (matching ErrInvalidKey) when memcached
// cannot store key: empty, longer than MaxKeyLength bytes, or containing
// anything but printable non-space ASCII (bytes of 0x80 or more included).
// memcachedmutex.Mutex applies the same rules to its lock items.
func CheckKey(key string) error {
	if reason := memcacheutil.KeyProblem(key); reason != "" {
		return &KeyError{Key: key, Reason: reason}
	}
	return nil
}

// checkKey is CheckKey with the backend's key rule.
func (b *Backend) checkKey(key string) error {
	if b.opts.keyProblem == nil {
		return CheckKey(key)
	}
	if reason := b.opts.keyProblem(key); reason != "" {
		return &KeyError{Key: key, Reason: reason}
	}
	return nil
}

// checkItem validates a key and its value before anything is sent.
func (b *Backend) checkItem(key string, value []byte) error {
	if err := b.checkKey(key); err != nil {
		return err
	}
	if max := b.opts.MaxItemSize - ItemOverhead - len(key); len(value) > max {
		return &ValueSizeError{Key: key, Size: len(value), Max: max}
	}
	return nil
}

// ValidateItems checks every key and value of m as a write would, without
// sending anything: every problem found is returned (each a *KeyError or a
// *ValueSizeError, joined, in key order). Writes call it themselves; the
// openstack.kvs.Memcached backend uses it to check a batch it splits in two.
func (b *Backend) ValidateItems(m map[string][]byte) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if err := b.checkItem(k, m[k]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// retryMulti is GetMulti through retry, returning what it got.
func (b *Backend) retryMulti(keys []string) (map[string]*gomemcache.Item, error) {
	var items map[string]*gomemcache.Item
	err := b.retry(func() (err error) {
		items, err = b.client.GetMulti(keys)
		return err
	})
	return items, err
}

// bounded runs call, a gomemcache call bounded by SocketTimeout, and
// returns ctx's error as soon as ctx ends when ctx's deadline comes first:
// gomemcache takes no context, so without this a call would run its whole
// SocketTimeout past a shorter deadline (the region's
// SharedInvalidationOptions.Timeout, a caller's). The call then finishes
// in the background, within SocketTimeout, and its result is dropped.
// Calls whose deadline is further away than SocketTimeout, or that have
// none, run as they are (a context canceled without a deadline is noticed
// before the call, not during it).
func (b *Backend) bounded(ctx context.Context, call func() error) error {
	dl, ok := ctx.Deadline()
	if !ok || time.Until(dl) >= b.opts.SocketTimeout {
		return call()
	}
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retry runs call, repeating it while it fails on a stale pooled
// connection (memcacheutil.Retry): at most once per idle connection that
// may be kept, plus one on a new connection. Timeouts and refused
// connections are not repeated. Only idempotent calls (get, set, delete)
// use it.
func (b *Backend) retry(call func() error) error {
	_, err := memcacheutil.Retry(memcacheutil.Attempts(b.opts.MaxIdleConns), call)
	return err
}

func (b *Backend) serverErr(op, key string, n int, err error) error {
	return &ServerError{Op: op, Key: key, Keys: n, Addr: b.addr(key), Err: err}
}

// GetSerialized returns key's bytes. A miss is (nil, false, nil).
func (b *Backend) GetSerialized(ctx context.Context, key string) ([]byte, bool, error) {
	it, err := b.getItem(ctx, key)
	if err != nil || it == nil {
		return nil, false, err
	}
	return it.Value, true, nil
}

// getItem returns key's item (value and flags), nil on a miss.
func (b *Backend) getItem(ctx context.Context, key string) (*gomemcache.Item, error) {
	if err := b.checkKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var it *gomemcache.Item
	err := b.bounded(ctx, func() error {
		return b.retry(func() (err error) {
			it, err = b.client.Get(key)
			return err
		})
	})
	switch {
	case err == nil:
		return it, nil
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return nil, b.serverErr("get", key, 0, err)
	case errors.Is(err, gomemcache.ErrCacheMiss):
		return nil, nil
	default:
		return nil, b.serverErr("get", key, 0, err)
	}
}

// GetSerializedMulti returns the bytes of the keys present, with one
// request per server (memcached's multi-key gets), the servers asked
// concurrently. If a server fails, the error (a *ServerError) names it
// (one of them, if several fail) and how many of the keys it holds; the
// values found on the other servers are still returned with the error.
func (b *Backend) GetSerializedMulti(ctx context.Context, keys []string) (map[string][]byte, error) {
	items, err := b.getItems(ctx, keys)
	if items == nil {
		return map[string][]byte{}, err
	}
	out := make(map[string][]byte, len(items))
	for k, it := range items {
		out[k] = it.Value
	}
	return out, err
}

// getItems is GetSerializedMulti returning the items (values and flags).
// Invalid keys return (nil, error) before anything is sent.
func (b *Backend) getItems(ctx context.Context, keys []string) (map[string]*gomemcache.Item, error) {
	if len(keys) == 0 {
		return map[string]*gomemcache.Item{}, nil
	}
	for _, k := range keys {
		if err := b.checkKey(k); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// gomemcache's GetMulti fails as a whole when one key's server is
	// refused: leave out the keys of servers marked down, and report them.
	var downErr error
	if b.health.marked.Load() > 0 {
		var (
			live []string
			down []error
			byAd = map[string]*ServerError{}
		)
		for _, k := range keys {
			a, err := b.selector.PickServer(k)
			if err == nil {
				err = b.health.admit(a)
			}
			if err == nil {
				live = append(live, k)
				continue
			}
			addr := ""
			if a != nil {
				addr = a.String()
			}
			if se := byAd[addr]; se != nil {
				se.Keys++
				continue
			}
			se := &ServerError{Op: "get_multi", Key: k, Keys: 1, Addr: addr, Err: err}
			byAd[addr] = se
			down = append(down, se)
		}
		downErr = errors.Join(down...)
		if keys = live; len(keys) == 0 {
			return map[string]*gomemcache.Item{}, downErr
		}
	}
	// gomemcache's GetMulti groups the keys by server itself and sends one
	// gets per server, concurrently.
	var items map[string]*gomemcache.Item
	err := b.bounded(ctx, func() error {
		got, err := b.retryMulti(keys)
		items = got
		return err
	})
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return map[string]*gomemcache.Item{}, errors.Join(downErr, &ServerError{Op: "get_multi", Key: keys[0], Keys: len(keys), Err: err})
	}
	if items == nil {
		items = map[string]*gomemcache.Item{}
	}
	if err != nil {
		return items, errors.Join(downErr, b.batchErr("get_multi", keys, err))
	}
	return items, downErr
}

// batchErr wraps the error of a batch sent to several servers, naming the
// server it came from (read off the network error) and that server's keys.
func (b *Backend) batchErr(op string, keys []string, err error) error {
	addr := memcacheutil.ErrAddr(err)
	if addr == "" {
		return &ServerError{Op: op, Key: keys[0], Keys: len(keys), Err: err}
	}
	se := &ServerError{Op: op, Addr: addr, Err: err}
	for _, k := range keys {
		if b.addr(k) == addr {
			if se.Keys == 0 {
				se.Key = k
			}
			se.Keys++
		}
	}
	if se.Keys == 0 {
		se.Key, se.Keys = keys[0], len(keys)
	}
	return se
}

// serverKeys are keys that live on one server.
type serverKeys struct {
	addr string
	keys []string
}

// group splits keys (at least one) by the server that holds them, in the
// order the servers are first met.
func (b *Backend) group(keys []string) ([]serverKeys, error) {
	var groups []serverKeys
	for _, k := range keys {
		a, err := b.selector.PickServer(k)
		if err != nil {
			return nil, &ServerError{Op: "pick server", Key: k, Err: err}
		}
		addr := a.String()
		i := 0
		for i < len(groups) && groups[i].addr != addr {
			i++
		}
		if i == len(groups) {
			groups = append(groups, serverKeys{addr: addr})
		}
		groups[i].keys = append(groups[i].keys, k)
	}
	return groups, nil
}

// SetSerialized stores data under key, with the memcached_expire_time.
func (b *Backend) SetSerialized(ctx context.Context, key string, data []byte) error {
	return b.set(ctx, key, data, b.expire)
}

// SetSerializedTTL stores data under key with the given server-side
// lifetime (zero: none) instead of memcached_expire_time.
func (b *Backend) SetSerializedTTL(ctx context.Context, key string, data []byte, ttl time.Duration) error {
	if ttl < 0 {
		return &region.ArgumentError{Name: "ttl", Value: ttl, Want: "a duration of zero or more"}
	}
	return b.set(ctx, key, data, memcacheutil.Seconds(ttl))
}

func (b *Backend) set(ctx context.Context, key string, data []byte, secs int32) error {
	return b.setItem(ctx, &gomemcache.Item{Key: key, Value: data, Expiration: itemExpiration(secs)})
}

// setItem checks and stores one item (its Expiration already set).
func (b *Backend) setItem(ctx context.Context, it *gomemcache.Item) error {
	if err := b.checkItem(it.Key, it.Value); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.bounded(ctx, func() error { return b.retry(func() error { return b.client.Set(it) }) }); err != nil {
		return b.serverErr("set", it.Key, 0, err)
	}
	return nil
}

// setItems stores items (keyed by their Key, Expiration set) as
// SetSerializedMulti does: every item checked first, nothing sent if one
// is invalid, then written concurrently a few at a time per server.
func (b *Backend) setItems(ctx context.Context, items map[string]*gomemcache.Item) error {
	if len(items) == 0 {
		return nil
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(items)) {
		if err := b.checkItem(k, items[k].Value); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if len(items) == 1 {
		for _, it := range items {
			return b.setItem(ctx, it)
		}
	}
	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	return b.perKey(ctx, "set", keys, func(k string) error {
		return b.retry(func() error { return b.client.Set(items[k]) })
	})
}

// SetSerializedMulti stores every item of m with the memcached_expire_time.
// Every key and value is checked first: if any is invalid or too large,
// nothing is sent. The items are then written concurrently, a few at a
// time per server; a server failure leaves the other servers' items
// written and returns an error for each failed key.
func (b *Backend) SetSerializedMulti(ctx context.Context, m map[string][]byte) error {
	return b.setMulti(ctx, m, b.expire)
}

// SetSerializedMultiTTL is SetSerializedMulti with the given server-side
// lifetime (zero: none) instead of memcached_expire_time. The
// openstack.kvs.Memcached backend uses it for its no_expiry_keys.
func (b *Backend) SetSerializedMultiTTL(ctx context.Context, m map[string][]byte, ttl time.Duration) error {
	if ttl < 0 {
		return &region.ArgumentError{Name: "ttl", Value: ttl, Want: "a duration of zero or more"}
	}
	return b.setMulti(ctx, m, memcacheutil.Seconds(ttl))
}

func (b *Backend) setMulti(ctx context.Context, m map[string][]byte, secs int32) error {
	if len(m) == 0 {
		return nil
	}
	if err := b.ValidateItems(m); err != nil {
		return err
	}
	if len(m) == 1 {
		for k, v := range m {
			return b.set(ctx, k, v, secs)
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return b.perKey(ctx, "set", keys, func(k string) error {
		return b.retry(func() error {
			return b.client.Set(&gomemcache.Item{Key: k, Value: m[k], Expiration: itemExpiration(secs)})
		})
	})
}

// Delete removes key. Deleting an absent key is not an error.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := b.checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.bounded(ctx, func() error { return b.retry(func() error { return b.client.Delete(key) }) }); err != nil && !errors.Is(err, gomemcache.ErrCacheMiss) {
		return b.serverErr("delete", key, 0, err)
	}
	return nil
}

// DeleteMulti removes keys, concurrently, a few at a time per server.
// Every key is checked first: if any is invalid, nothing is deleted.
// Absent keys are not an error.
func (b *Backend) DeleteMulti(ctx context.Context, keys []string) error {
	for _, k := range keys {
		if err := b.checkKey(k); err != nil {
			return err
		}
	}
	if len(keys) == 1 {
		return b.Delete(ctx, keys[0])
	}
	return b.perKey(ctx, "delete", keys, func(k string) error {
		if err := b.retry(func() error { return b.client.Delete(k) }); err != nil && !errors.Is(err, gomemcache.ErrCacheMiss) {
			return err
		}
		return nil
	})
}

// perKey runs call for every key (valid keys; duplicates are harmless),
// grouped by server, with up to min(MaxIdleConns, 16) calls in flight per server so
// that connections are reused, and returns the failures as *ServerErrors
// for op, joined. It stops starting calls when ctx ends. Once a call to a
// server fails because the server could not be reached or did not answer
// (memcacheutil.ConnError: refused, timed out, reset), the server's
// remaining keys are not sent: they fail at once with that error, so a
// stopped or hung server costs about one socket_timeout, not one per
// MaxIdleConns keys.
func (b *Backend) perKey(ctx context.Context, op string, keys []string, call func(string) error) error {
	if len(keys) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	groups, err := b.group(keys)
	if err != nil {
		return err
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	fail := func(k string, err error) {
		mu.Lock()
		errs = append(errs, b.serverErr(op, k, 0, err))
		mu.Unlock()
	}
	for _, g := range groups {
		var (
			downMu sync.Mutex
			down   error // the first connection error from this server
		)
		isDown := func() error {
			downMu.Lock()
			defer downMu.Unlock()
			return down
		}
		workers := min(len(g.keys), b.opts.MaxIdleConns, maxBatchInFlight)
		next := make(chan string)
		for range workers {
			wg.Go(func() {
				for k := range next {
					if err := isDown(); err != nil {
						fail(k, err)
						continue
					}
					err := call(k)
					if err == nil {
						continue
					}
					if memcacheutil.ConnError(err) {
						downMu.Lock()
						if down == nil {
							down = err
						}
						downMu.Unlock()
					}
					fail(k, err)
				}
			})
		}
		wg.Go(func() {
			defer close(next)
			for i, k := range g.keys {
				if ctx.Err() != nil {
					return
				}
				if err := isDown(); err != nil {
					for _, k := range g.keys[i:] {
						fail(k, err)
					}
					return
				}
				next <- k
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// GetMutex returns the memcached lock for key (a memcachedmutex.Mutex
// on the item "_lock"+key, with the backend's lock_timeout and
// max_lock_attempts), or nil when distributed_lock is false. The region
// calls it with the mangled key. Each call returns a new mutex value: one
// holder.
func (b *Backend) GetMutex(key string) region.Mutex {
	if !b.opts.DistributedLock {
		return nil
	}
	if len(lockmutex.LockKeyPrefix)+len(key) > MaxKeyLength {
		// A legal key near the length limit would make an illegal lock
		// key: lock on its digest instead (still one lock per key).
		key = region.SHA1MangleKey(key)
	}
	return memcachedmutex.New(b.client, key, memcachedmutex.Options{
		LockTimeout:     b.opts.LockTimeout,
		MaxLockAttempts: b.opts.MaxLockAttempts,
	})
}

var (
	_ region.BytesBackend = (*Backend)(nil)
	_ region.KeyMangler   = (*Backend)(nil)
	_ Driver              = (*Backend)(nil)
)
