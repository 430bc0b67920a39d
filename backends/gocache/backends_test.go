package gocache_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/eko/gocache/lib/v4/store"
	gocachestore "github.com/eko/gocache/store/go_cache/v4"
	memcachestore "github.com/eko/gocache/store/memcache/v4"
	redisstore "github.com/eko/gocache/store/redis/v4"
	ristrettostore "github.com/eko/gocache/store/ristretto/v4"
	gocache "github.com/patrickmn/go-cache"
	"github.com/redis/go-redis/v9"

	dpgocache "github.com/dogpile-go/dogpile/backends/gocache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/lockmutex/memcachedmutex"
	"github.com/dogpile-go/dogpile/lockmutex/redismutex"
	"github.com/dogpile-go/dogpile/region"
	"github.com/dogpile-go/dogpile/region/regiontest"
)

// The generic backend suite on every named backend.

func TestGoCacheBackendSuite(t *testing.T) {
	regiontest.RunBackendTests(t, "gocache.go_cache", region.Arguments{"default_expiration": "1h", "cleanup_interval": "50ms"})
}

func TestGoCacheSerializedBackendSuite(t *testing.T) {
	regiontest.RunBackendTests(t, "gocache.go_cache", region.Arguments{"serialize": "true"})
}

func TestRistrettoBackendSuite(t *testing.T) {
	regiontest.RunBackendTests(t, "gocache.ristretto", region.Arguments{"max_cost": 10000})
}

func TestRistrettoSerializedBackendSuite(t *testing.T) {
	regiontest.RunBackendTests(t, "gocache.ristretto", region.Arguments{"max_cost": 1 << 20, "serialize": true})
}

func TestRedisBackendSuite(t *testing.T) {
	regiontest.RunBackendTests(t, "gocache.redis", region.Arguments{"addr": testservers.Redis(t), "expiration": "1h"})
}

// Leases on the Redis lock, and the fail-safe around creation. The lock
// timeout (3 s) leaves a loaded machine room: the suite's mutex holds and
// creations must end before it whether or not a lease extends it (the
// lease tests of package region and backends/redis, and redismutex's
// Extend tests, check leases).
func TestRedisBackendSuiteProductionFeatures(t *testing.T) {
	(&regiontest.Suite{Backend: "gocache.redis", Arguments: region.Arguments{"addr": testservers.Redis(t), "expiration": "1h", "lock_timeout": 3},
		RegionOptions: []region.Option{
			region.WithFailSafe(region.FailSafe{Grace: time.Hour, SoftTimeout: time.Minute, HardTimeout: time.Minute, CreatorTimeout: time.Minute}),
			region.WithEarlyRefresh(1),
			region.WithLockLeases(),
		}}).Run(t)
}

func TestRedisURLNoLockBackendSuite(t *testing.T) {
	regiontest.RunBackendTests(t, "gocache.redis", region.Arguments{
		"url": "redis://" + testservers.Redis(t) + "/1", "distributed_lock": false, "pool_size": 4,
	})
}

func TestMemcacheBackendSuite(t *testing.T) {
	regiontest.RunBackendTests(t, "gocache.memcache", region.Arguments{
		"url": strings.Join(testservers.Memcached(t), ","), "expiration": 3600, "socket_timeout": "2s",
	})
}

// The "gocache" backend on store instances.

func TestStoreInstanceGoCacheSuite(t *testing.T) {
	s := gocachestore.NewGoCache(gocache.New(gocache.NoExpiration, 0))
	regiontest.RunBackendTests(t, "gocache", region.Arguments{"store": s})
}

func TestStoreInstanceRistrettoSuite(t *testing.T) {
	rc, err := ristretto.NewCache(&ristretto.Config[string, any]{NumCounters: 1e5, MaxCost: 1 << 20, BufferItems: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rc.Close)
	regiontest.RunBackendTests(t, "gocache", region.Arguments{"store": ristrettostore.NewRistretto(rc)})
}

// A Redis store given with its client: batch calls and the Redis lock.
func TestStoreInstanceRedisWithClientSuite(t *testing.T) {
	c := testservers.RedisClient(t)
	regiontest.RunBackendTests(t, "gocache", region.Arguments{"store": redisstore.NewRedis(c), "client": c})
}

// A Redis store alone: one store call per key, the in-process lock.
func TestStoreInstanceRedisAloneSuite(t *testing.T) {
	c := testservers.RedisClient(t)
	regiontest.RunBackendTests(t, "gocache", region.Arguments{"store": redisstore.NewRedis(c), "expiration": 3600})
}

func TestStoreInstanceMemcacheSuite(t *testing.T) {
	c := memcache.New(testservers.Memcached(t)...)
	c.Timeout = 2 * time.Second
	t.Cleanup(func() { _ = c.Close() })
	regiontest.RunBackendTests(t, "gocache", region.Arguments{"store": memcachestore.NewMemcache(c), "client": c})
}

// Which mode each store gets.

func TestModes(t *testing.T) {
	goStore := gocachestore.NewGoCache(gocache.New(gocache.NoExpiration, 0))
	for _, tc := range []struct {
		name  string
		args  region.Arguments
		bytes bool
	}{
		{"go-cache auto", region.Arguments{"store": goStore}, false},
		{"go-cache serialize", region.Arguments{"store": goStore, "serialize": "true"}, true},
		{"unknown type", region.Arguments{"store": typedStore{goStore, "bigcache"}}, true},
		{"unknown type objects", region.Arguments{"store": typedStore{goStore, "bigcache"}, "serialize": false}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRegion(t, "gocache", tc.args)
			_, isBytes := r.ActualBackend().(*region.SerializedBackend)
			if isBytes != tc.bytes {
				t.Fatalf("backend %T; bytes = %v, want %v", r.ActualBackend(), isBytes, tc.bytes)
			}
		})
	}
	for typ, want := range map[string]dpgocache.Mode{
		"go-cache": dpgocache.ObjectMode, "ristretto": dpgocache.ObjectMode, "redis": dpgocache.BytesMode,
		"memcache": dpgocache.BytesMode, "rueidis": dpgocache.BytesMode, "freecache": dpgocache.BytesMode,
	} {
		if got := dpgocache.ModeFor(typ); got != want {
			t.Errorf("ModeFor(%q) = %v; want %v", typ, got, want)
		}
	}
}

type typedStore struct {
	store.StoreInterface
	typ string
}

func (s typedStore) GetType() string { return s.typ }

func TestBadArguments(t *testing.T) {
	goStore := gocachestore.NewGoCache(gocache.New(gocache.NoExpiration, 0))
	for _, tc := range []struct {
		backend string
		args    region.Arguments
	}{
		{"gocache", region.Arguments{}},
		{"gocache", region.Arguments{"store": "not a store"}},
		{"gocache", region.Arguments{"store": goStore, "serialize": "maybe"}},
		{"gocache", region.Arguments{"store": goStore, "distributed_lock": true}},
		{"gocache", region.Arguments{"store": goStore, "client": 42}},
		{"gocache", region.Arguments{"store": goStore, "expiration": "-1s"}},
		{"gocache.go_cache", region.Arguments{"default_expiration": "soon"}},
		{"gocache.ristretto", region.Arguments{"max_cost": 0}},
		{"gocache.ristretto", region.Arguments{"num_counters": "-5"}},
		{"gocache.redis", region.Arguments{"url": "http://nope"}},
		{"gocache.redis", region.Arguments{"url": "redis://127.0.0.1:1", "addr": "127.0.0.1:2"}},
		{"gocache.redis", region.Arguments{"addr": "no-port"}},
		{"gocache.redis", region.Arguments{"db": -1}},
		{"gocache.redis", region.Arguments{"serialize": false}},
		{"gocache.redis", region.Arguments{"lock_timeout": "forever"}},
		{"gocache.memcache", region.Arguments{"url": ""}},
		{"gocache.memcache", region.Arguments{"url": "no-port"}},
		{"gocache.memcache", region.Arguments{"expiration": "31d"}},
		{"gocache.memcache", region.Arguments{"expiration": 31 * 24 * 3600}},
		{"gocache.memcache", region.Arguments{"max_lock_attempts": -1}},
		// The in-process stores check the lock arguments they accept
		// without effect.
		{"gocache.go_cache", region.Arguments{"distributed_lock": "banana"}},
		{"gocache.go_cache", region.Arguments{"lock_timeout": "forever"}},
		{"gocache.ristretto", region.Arguments{"distributed_lock": "banana"}},
		{"gocache.ristretto", region.Arguments{"max_lock_attempts": -1}},
	} {
		t.Run(fmt.Sprintf("%s %v", tc.backend, tc.args), func(t *testing.T) {
			r := region.New("bad")
			err := r.Configure(tc.backend, region.WithArguments(tc.args))
			if err == nil {
				_ = r.Close()
				t.Fatal("Configure succeeded; want an error")
			}
			if !errors.Is(err, region.ErrBadArgument) {
				t.Fatalf("err = %v; want one matching region.ErrBadArgument", err)
			}
		})
	}
}

// TestInProcessStoresAcceptLockArguments: gocache.go_cache and
// gocache.ristretto accept the lock arguments Keystone's KVS passes to
// every backend (distributed_lock true included) and keep the region's
// in-process lock: only this process reads their values.
func TestInProcessStoresAcceptLockArguments(t *testing.T) {
	for _, name := range []string{"gocache.go_cache", "gocache.ristretto"} {
		r := newRegion(t, name, region.Arguments{"distributed_lock": "true", "lock_timeout": 30, "max_lock_attempts": 3})
		if m := r.ActualBackend().GetMutex("k"); m != nil {
			t.Errorf("%s: GetMutex = %T; want nil (the region's in-process lock)", name, m)
		}
	}
}

func TestRegistered(t *testing.T) {
	for _, name := range []string{"gocache", "gocache.go_cache", "gocache.ristretto", "gocache.redis", "gocache.memcache"} {
		if !region.IsBackendRegistered(name) {
			t.Errorf("%s is not registered", name)
		}
	}
}

// Miss detection and error wrapping through each store's own errors.

type failingStore struct {
	store.StoreInterface
	err error
}

func (s failingStore) Get(context.Context, any) (any, error) { return nil, s.err }
func (s failingStore) Set(context.Context, any, any, ...store.Option) error {
	return s.err
}
func (s failingStore) Delete(context.Context, any) error { return s.err }

func TestMissesAndErrors(t *testing.T) {
	base := gocachestore.NewGoCache(gocache.New(gocache.NoExpiration, 0))
	errDown := errors.New("connection refused")
	misses := map[string]error{
		"store.NotFound":          store.NotFoundWithCause(errors.New("x")),
		"store.NotFound value":    store.NotFound{},
		"redis.Nil":               redis.Nil,
		"memcache.ErrCacheMiss":   memcache.ErrCacheMiss,
		"wrapped redis.Nil":       fmt.Errorf("layer: %w", redis.Nil),
		"wrapped NotFound string": fmt.Errorf("layer: %w", store.NotFoundWithCause(nil)),
	}
	for name, err := range misses {
		for _, serialize := range []bool{false, true} {
			t.Run(fmt.Sprint(name, serialize), func(t *testing.T) {
				r := newRegion(t, "gocache", region.Arguments{"store": failingStore{base, err}, "serialize": serialize})
				ctx := testCtx(t)
				if v, ok, gerr := r.Get(ctx, "k"); gerr != nil || ok || v != nil {
					t.Fatalf("Get = %v, %v, %v; want a miss", v, ok, gerr)
				}
				if derr := r.Delete(ctx, "k"); derr != nil {
					t.Fatalf("Delete of a missing key: %v", derr)
				}
				if !dpgocache.IsMiss(err) {
					t.Fatalf("IsMiss(%v) = false", err)
				}
			})
		}
	}
	for _, serialize := range []bool{false, true} {
		r := newRegionWith(t, []region.Option{region.WithStrictBackendErrors()},
			"gocache", region.Arguments{"store": failingStore{base, errDown}, "serialize": serialize})
		ctx := testCtx(t)
		_, _, err := r.Get(ctx, "the-key")
		var se *dpgocache.StoreError
		if !errors.Is(err, errDown) || !errors.As(err, &se) || se.Key != "the-key" || se.Op != "get" || se.StoreType != "go-cache" {
			t.Fatalf("Get err = %v; want a StoreError naming the key, wrapping the store's error", err)
		}
		if err := r.Set(ctx, "the-key", 1); !errors.Is(err, errDown) || !strings.Contains(err.Error(), "the-key") {
			t.Fatalf("Set err = %v", err)
		}
		if err := r.Delete(ctx, "the-key"); !errors.Is(err, errDown) {
			t.Fatalf("Delete err = %v", err)
		}
		err = r.DeleteMulti(ctx, []string{"a", "b"})
		if !errors.Is(err, errDown) || !strings.Contains(err.Error(), `"a"`) || !strings.Contains(err.Error(), `"b"`) {
			t.Fatalf("DeleteMulti err = %v; want both keys' errors", err)
		}
		if _, err := r.GetMulti(ctx, []string{"a"}); !errors.Is(err, errDown) {
			t.Fatalf("GetMulti err = %v", err)
		}
		if _, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return 1, nil }); !errors.Is(err, errDown) {
			t.Fatalf("GetOrCreate err = %v", err)
		}
	}
	if dpgocache.IsMiss(nil) || dpgocache.IsMiss(errDown) {
		t.Fatal("IsMiss reports a miss for nil or another error")
	}
}

// A value written by other code reads as absent and is reported.
func TestForeignValues(t *testing.T) {
	ctx := testCtx(t)
	gc := gocache.New(gocache.NoExpiration, 0)
	gc.Set("obj", "written by someone else", 0)
	gc.Set("bytes", 12345, 0)
	gc.Set("garbage", []byte("no envelope"), 0)
	s := gocachestore.NewGoCache(gc)

	var reported []string
	objects := region.New("objects", region.WithErrorHandler(func(_ context.Context, key string, err error) {
		reported = append(reported, key)
	}))
	if err := objects.Configure("gocache", region.WithArguments(region.Arguments{"store": s})); err != nil {
		t.Fatal(err)
	}
	objects.ActualBackend().(*dpgocache.Backend).SetCorruptionHandler(func(_ context.Context, key string, err error) {
		if !errors.Is(err, region.ErrCorruptValue) {
			t.Errorf("corruption error %v does not match ErrCorruptValue", err)
		}
		reported = append(reported, key)
	})
	if _, ok, err := objects.Get(ctx, "obj"); ok || err != nil {
		t.Fatalf("Get(foreign) = %v, %v; want absent", ok, err)
	}
	if !slices.Equal(reported, []string{"obj"}) {
		t.Fatalf("reported %v; want [obj]", reported)
	}

	reported = nil
	bytesRegion := region.New("bytes", region.WithErrorHandler(func(_ context.Context, key string, err error) {
		reported = append(reported, key)
	}))
	if err := bytesRegion.Configure("gocache", region.WithArguments(region.Arguments{"store": s, "serialize": true})); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"bytes", "garbage"} {
		if _, ok, err := bytesRegion.Get(ctx, k); ok || err != nil {
			t.Fatalf("Get(%s) = %v, %v; want absent", k, ok, err)
		}
	}
	if !slices.Equal(reported, []string{"garbage"}) {
		t.Fatalf("reported %v; want [garbage] (the non-bytes value is logged)", reported)
	}
}

// The named backends build stores whose values gocache code can share.
func TestNamedBackendsExposeStoreAndClient(t *testing.T) {
	r := newRegion(t, "gocache.go_cache", nil)
	b := r.ActualBackend().(*dpgocache.Backend)
	if b.Store().GetType() != dpgocache.TypeGoCache {
		t.Fatalf("store type %q", b.Store().GetType())
	}
	if _, ok := b.Client().(*gocache.Cache); !ok {
		t.Fatalf("Client() = %T; want *cache.Cache", b.Client())
	}
	ctx := testCtx(t)
	if err := r.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	raw, err := b.Store().Get(ctx, "k")
	if cv, ok := raw.(region.CachedValue); err != nil || !ok || cv.Payload != "v" {
		t.Fatalf("store holds %#v, %v; want a CachedValue with the payload", raw, err)
	}

	rr := newRegion(t, "gocache.ristretto", region.Arguments{"max_cost": 10})
	if _, ok := rr.ActualBackend().(*dpgocache.Backend).Client().(*ristretto.Cache[string, any]); !ok {
		t.Fatal("ristretto Client() has the wrong type")
	}
}

func TestRedisNamedBackendBytes(t *testing.T) {
	addr := testservers.Redis(t)
	r := newRegion(t, "gocache.redis", region.Arguments{"addr": addr, "expiration": "90s", "lock_timeout": 3})
	sb := r.ActualBackend().(*region.SerializedBackend)
	b := sb.Bytes().(*dpgocache.Bytes)
	if b.Store().GetType() != dpgocache.TypeRedis {
		t.Fatalf("store type %q", b.Store().GetType())
	}
	client, ok := b.Client().(*redis.Client)
	if !ok {
		t.Fatalf("Client() = %T", b.Client())
	}
	ctx := testCtx(t)
	k := testservers.UniqueKey(t, "k")
	if err := r.Set(ctx, k, map[string]any{"a": 1}); err != nil {
		t.Fatal(err)
	}
	ttl, err := client.PTTL(ctx, k).Result()
	if err != nil || ttl <= 80*time.Second || ttl > 90*time.Second {
		t.Fatalf("PTTL = %v, %v; want about 90s", ttl, err)
	}
	raw, err := client.Get(ctx, k).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := region.ParseEnvelope(raw); err != nil {
		t.Fatalf("stored bytes are not an envelope: %v", err)
	}
	// SetMulti through the pipeline sets the expiration too.
	k2 := testservers.UniqueKey(t, "k2")
	if err := r.SetMulti(ctx, map[string]any{k2: "x"}); err != nil {
		t.Fatal(err)
	}
	if ttl, err := client.PTTL(ctx, k2).Result(); err != nil || ttl <= 80*time.Second {
		t.Fatalf("PTTL after SetMulti = %v, %v", ttl, err)
	}
	m, ok := b.GetMutex(k).(*redismutex.Mutex)
	if !ok || m.LockTimeout() != 3*time.Second || m.LockKey() != lockmutex.LockKeyPrefix+k {
		t.Fatalf("GetMutex = %#v; want a *redismutex.Mutex with the lock timeout", b.GetMutex(k))
	}
	noLock := newRegion(t, "gocache.redis", region.Arguments{"addr": addr, "distributed_lock": "false"})
	if m := noLock.Backend().GetMutex("k"); m != nil {
		t.Fatalf("distributed_lock=false: GetMutex = %T; want nil", m)
	}
}

func TestMemcacheNamedBackend(t *testing.T) {
	r := newRegion(t, "gocache.memcache", region.Arguments{"url": testservers.Memcached(t), "expiration": 1.2, "lock_timeout": 2})
	b := r.ActualBackend().(*region.SerializedBackend).Bytes().(*dpgocache.Bytes)
	if _, ok := b.Client().(*memcache.Client); !ok {
		t.Fatalf("Client() = %T", b.Client())
	}
	if m, ok := b.GetMutex("k").(*memcachedmutex.Mutex); !ok || m.LockTimeout() != 2*time.Second {
		t.Fatalf("GetMutex = %#v; want a *memcachedmutex.Mutex", b.GetMutex("k"))
	}
	ctx := testCtx(t)
	k := testservers.UniqueKey(t, "k")
	if err := r.Set(ctx, k, "v"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := r.Get(ctx, k); err != nil || !ok || v != "v" {
		t.Fatalf("Get = %v, %v, %v", v, ok, err)
	}
	// 1.2s rounds up to 2s of memcached expiry (memcached counts whole
	// seconds, so the item may go up to a second early).
	time.Sleep(3100 * time.Millisecond)
	if _, ok, err := r.Get(ctx, k, region.IgnoreExpiration()); err != nil || ok {
		t.Fatalf("value still in memcached after its expiration: %v, %v", ok, err)
	}
}

// Batch calls go to the client under the store, and agree with per-key calls.
func TestBatchCallsMatchPerKey(t *testing.T) {
	ctx := testCtx(t)
	rc := testservers.RedisClient(t)
	mc := memcache.New(testservers.Memcached(t)...)
	t.Cleanup(func() { _ = mc.Close() })
	for name, args := range map[string][2]region.Arguments{
		"redis":    {{"store": redisstore.NewRedis(rc), "client": rc}, {"store": redisstore.NewRedis(rc)}},
		"memcache": {{"store": memcachestore.NewMemcache(mc), "client": mc}, {"store": memcachestore.NewMemcache(mc), "distributed_lock": false}},
	} {
		t.Run(name, func(t *testing.T) {
			batch := newRegion(t, "gocache", args[0])
			perKey := newRegion(t, "gocache", args[1])
			keys := []string{testservers.UniqueKey(t, "a"), testservers.UniqueKey(t, "b"), testservers.UniqueKey(t, "c"), testservers.UniqueKey(t, "d")}
			if err := batch.SetMulti(ctx, map[string]any{keys[0]: "A", keys[2]: 3}); err != nil {
				t.Fatal(err)
			}
			if err := perKey.SetMulti(ctx, map[string]any{keys[3]: []string{"x"}}); err != nil {
				t.Fatal(err)
			}
			want := []any{"A", region.NoValue, int8(3), []any{"x"}}
			for _, r := range []*region.Region{batch, perKey} {
				got, err := r.GetMulti(ctx, keys)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("GetMulti = %#v; want %#v", got, want)
				}
			}
			if err := batch.DeleteMulti(ctx, keys[:2]); err != nil {
				t.Fatal(err)
			}
			if err := perKey.DeleteMulti(ctx, keys[2:]); err != nil {
				t.Fatal(err)
			}
			for _, r := range []*region.Region{batch, perKey} {
				got, err := r.GetMulti(ctx, keys)
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range got {
					if v != region.NoValue {
						t.Fatalf("after DeleteMulti, %s = %v", keys[i], v)
					}
				}
			}
		})
	}
}

// Close of a named backend stops what it started (TestMain's goleak
// checks the goroutines) and can be called twice.
func TestCloseTwice(t *testing.T) {
	for _, tc := range []struct {
		backend string
		args    region.Arguments
	}{
		{"gocache.go_cache", region.Arguments{"default_expiration": "1s", "cleanup_interval": "10ms"}},
		{"gocache.ristretto", region.Arguments{"metrics": true}},
		{"gocache.redis", region.Arguments{"addr": "127.0.0.1:1"}},
		{"gocache.memcache", region.Arguments{"url": "127.0.0.1:1"}},
	} {
		r := region.New("close")
		if err := r.Configure(tc.backend, region.WithArguments(tc.args)); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatalf("%s: Close: %v", tc.backend, err)
		}
		if err := r.Close(); err != nil {
			t.Fatalf("%s: second Close: %v", tc.backend, err)
		}
	}
}

// go_cache's own sweeper drops expired values and stops with Close.
func TestGoCacheSweeper(t *testing.T) {
	r := newRegion(t, "gocache.go_cache", region.Arguments{"default_expiration": "50ms", "cleanup_interval": "20ms"})
	c := r.ActualBackend().(*dpgocache.Backend).Client().(*gocache.Cache)
	ctx := testCtx(t)
	for i := range 100 {
		if err := r.Set(ctx, fmt.Sprint(i), i); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.ItemCount(); n != 100 {
		t.Fatalf("ItemCount = %d", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.ItemCount() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := c.ItemCount(); n != 0 {
		t.Fatalf("ItemCount after expiry = %d; the sweeper did not run", n)
	}
}

// A store that cannot hold the region's values fails the Set with an error
// (gocache's stores panic on a value of the wrong type).
func TestStoreOfBytesInObjectMode(t *testing.T) {
	rc, err := ristretto.NewCache(&ristretto.Config[string, []byte]{NumCounters: 1000, MaxCost: 1 << 20, BufferItems: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rc.Close)
	s := ristrettostore.NewRistretto(rc)
	ctx := testCtx(t)
	strict := []region.Option{region.WithStrictBackendErrors()}
	objects := newRegionWith(t, strict, "gocache", region.Arguments{"store": s})
	if err := objects.Set(ctx, "k", "v"); err == nil || !strings.Contains(err.Error(), "serialize=true") {
		t.Fatalf("Set of a Go value into a []byte ristretto store: %v; want an error suggesting serialize=true", err)
	}
	bytesRegion := newRegionWith(t, strict, "gocache", region.Arguments{"store": s, "serialize": true})
	if err := bytesRegion.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := bytesRegion.Get(ctx, "k"); err != nil || !ok || v != "v" {
		t.Fatalf("Get = %v, %v, %v", v, ok, err)
	}
}
