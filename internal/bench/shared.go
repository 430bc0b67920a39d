package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
	"github.com/eko/gocache/lib/v4/cache"
	"github.com/eko/gocache/lib/v4/store"
	memcachestore "github.com/eko/gocache/store/memcache/v4"
	redisstore "github.com/eko/gocache/store/redis/v4"
	"github.com/redis/go-redis/v9"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/dogpile-go/dogpile/region"
)

// A shared store: when the region strategies run on memcached or Redis,
// the cache-aside and loadable strategies run on the same servers, through
// the client the configured backend uses (same servers, same placement,
// same connection pool settings), so the table compares like with like:
//
//   - cache-aside: the raw client (gomemcache or go-redis): Get, and on a
//     miss (or a value older than the expiration) run the creator and Set;
//   - loadable: eko/gocache's LoadableCache over eko's memcache or redis
//     store on that client.
//
// Values are msgpack, as the region's default serializer writes them.

// StoreKind is where a strategy keeps its values.
type StoreKind string

// The stores.
const (
	StoreInProcess StoreKind = "go-cache"  // in this process (patrickmn/go-cache)
	StoreMemcached StoreKind = "memcached" // the configured memcached servers
	StoreRedis     StoreKind = "redis"     // the configured Redis server
)

// StoreOf returns the store the cache-aside and loadable strategies use
// with backend b: the same kind of servers as the region strategies when
// b is a shared memcached or Redis backend (known from its name), else
// StoreInProcess.
func StoreOf(b Backend) StoreKind {
	name := strings.ToLower(b.Name())
	switch {
	case b.Conf == nil:
		return StoreInProcess
	case strings.Contains(name, "memcache") || strings.Contains(name, "kvs.memcached"):
		return StoreMemcached
	case strings.Contains(name, "redis"):
		return StoreRedis
	}
	return StoreInProcess
}

// sharedClients are the clients under a region's backend.
type sharedClients struct {
	reg *region.Region // configured from the bench's backend; owns the clients
	mc  *gomemcache.Client
	rc  redis.UniversalClient
}

// openShared configures a region on the bench's backend and finds the
// client its backend talks through.
func openShared(ctx context.Context, r *runner, kind StoreKind) (*sharedClients, error) {
	reg := region.New("dogpile-bench-store-"+string(r.spec.Strategy), region.WithErrorHandler(func(context.Context, string, error) {}))
	if err := reg.ConfigureFromConfig(Backend{Conf: r.spec.Conf}.confWith(r.w.Expiration), ""); err != nil {
		return nil, err
	}
	if err := probeRegion(ctx, reg, r.spec.RunID, 10*time.Second); err != nil {
		_ = reg.Close()
		return nil, err
	}
	s := &sharedClients{reg: reg}
	actual := reg.ActualBackend()
	if c, ok := region.BackendAs[interface{ Client() *gomemcache.Client }](actual); ok {
		s.mc = c.Client()
	}
	for _, c := range []any{
		func() any { c, _ := region.BackendAs[interface{ Client() any }](actual); return c }(),
		func() any { c, _ := region.BackendAs[interface{ Client() *redis.Client }](actual); return c }(),
		func() any { c, _ := region.BackendAs[interface{ Client() redis.UniversalClient }](actual); return c }(),
	} {
		var got any
		switch c := c.(type) {
		case interface{ Client() any }:
			got = c.Client()
		case interface{ Client() *redis.Client }:
			got = c.Client()
		case interface{ Client() redis.UniversalClient }:
			got = c.Client()
		}
		switch x := got.(type) {
		case *gomemcache.Client:
			s.mc = x
		case redis.UniversalClient:
			if x != nil {
				s.rc = x
			}
		}
	}
	if (kind == StoreMemcached && s.mc == nil) || (kind == StoreRedis && s.rc == nil) {
		_ = reg.Close()
		return nil, fmt.Errorf("backend %q does not expose its %s client; the cache-aside and loadable strategies need it to run on the same servers", reg.BackendName(), kind)
	}
	return s, nil
}

// storeTTL is the server-side lifetime of a cache-aside or loadable value:
// the expiration in whole seconds (memcached's unit), at least one.
func storeTTL(exp time.Duration) time.Duration {
	return max(time.Second, (exp+time.Second-1)/time.Second*time.Second)
}

// --- cache-aside on the raw client ---------------------------------------

type sharedCacheAside struct {
	r *runner
	s *sharedClients
}

func (c *sharedCacheAside) get(ctx context.Context, k int) (value, error) {
	key := c.r.keys[k]
	var data []byte
	var err error
	if c.s.mc != nil {
		var it *gomemcache.Item
		if it, err = c.s.mc.Get(key); err == nil {
			data = it.Value
		} else if errors.Is(err, gomemcache.ErrCacheMiss) {
			err = nil
		}
	} else {
		data, err = c.s.rc.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			err = nil
		}
	}
	if err != nil {
		return value{}, err
	}
	if data != nil {
		var v value
		// A careful cache-aside checks the value's age: the store's TTL
		// is in whole seconds.
		if msgpack.Unmarshal(data, &v) == nil && time.Since(time.Unix(0, v.CreatedAt)) <= c.r.w.Expiration {
			return v, nil
		}
	}
	v, err := c.r.create(ctx, k)
	if err != nil {
		return value{}, err
	}
	b, err := msgpack.Marshal(v)
	if err != nil {
		return value{}, err
	}
	ttl := storeTTL(c.r.w.Expiration)
	if c.s.mc != nil {
		err = c.s.mc.Set(&gomemcache.Item{Key: key, Value: b, Expiration: int32(ttl / time.Second)})
	} else {
		err = c.s.rc.Set(ctx, key, b, ttl).Err()
	}
	return v, err
}

func (c *sharedCacheAside) close() { c.s.close(c.r) }

// close deletes the strategy's keys and closes the region (and with it
// the clients).
func (s *sharedClients) close(r *runner) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, k := range r.keys {
		if s.mc != nil {
			_ = s.mc.Delete(k)
		} else {
			_ = s.rc.Del(ctx, k).Err()
		}
	}
	_ = s.reg.Close()
}

// --- eko/gocache loadable over the same servers ---------------------------

type sharedLoadable struct {
	r *runner
	s *sharedClients
	c *cache.LoadableCache[any]
}

func newSharedLoadable(r *runner, s *sharedClients) *sharedLoadable {
	index := make(map[string]int, len(r.keys))
	for k, name := range r.keys {
		index[name] = k
	}
	ttl := storeTTL(r.w.Expiration)
	var st store.StoreInterface
	if s.mc != nil {
		st = memcachestore.NewMemcache(s.mc, store.WithExpiration(ttl))
	} else {
		st = redisstore.NewRedis(s.rc, store.WithExpiration(ttl))
	}
	load := func(ctx context.Context, key any) (any, []store.Option, error) {
		name, _ := key.(string)
		k, ok := index[name]
		if !ok {
			return nil, nil, fmt.Errorf("unknown key %v", key)
		}
		v, err := r.create(ctx, k)
		if err != nil {
			return nil, nil, err
		}
		b, err := msgpack.Marshal(v)
		return b, []store.Option{store.WithExpiration(ttl)}, err
	}
	return &sharedLoadable{r: r, s: s, c: cache.NewLoadable[any](load, cache.New[any](st))}
}

func (l *sharedLoadable) get(ctx context.Context, k int) (value, error) {
	got, err := l.c.Get(ctx, l.r.keys[k])
	if err != nil {
		return value{}, err
	}
	var data []byte
	switch x := got.(type) {
	case []byte:
		data = x
	case string:
		data = []byte(x)
	default:
		return value{}, fmt.Errorf("loadable: unexpected %T from the store", got)
	}
	var v value
	err = msgpack.Unmarshal(data, &v)
	return v, err
}

func (l *sharedLoadable) close() {
	_ = l.c.Close()
	l.s.close(l.r)
}
