package gocache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
	"github.com/eko/gocache/lib/v4/store"
	gocachestore "github.com/eko/gocache/store/go_cache/v4"
	redisstore "github.com/eko/gocache/store/redis/v4"
	gocache "github.com/patrickmn/go-cache"
	"github.com/redis/go-redis/v9"

	dpgocache "github.com/dogpile-go/dogpile/backends/gocache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// pipelineCounter counts the pipelines of SET commands a go-redis client
// sends.
type pipelineCounter struct{ n atomic.Int64 }

func (p *pipelineCounter) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (p *pipelineCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (p *pipelineCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && cmds[0].Name() == "set" { // not the connection's handshake
			p.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// A caller's Redis store with its own default expiration, given with its
// client: region.SetMulti must keep that expiration (it goes through the
// store key by key, since the backend cannot see the store's default),
// while the named gocache.redis backend, which built its store, still
// writes in one pipeline.
func TestRedisSetMultiKeepsStoreExpiration(t *testing.T) {
	ctx := testCtx(t)
	c := testservers.RedisClient(t)
	p := testservers.UniqueKey(t, "")

	r := newRegion(t, "gocache", region.Arguments{
		"store":  redisstore.NewRedis(c, store.WithExpiration(time.Hour)),
		"client": c,
	})
	m := map[string]any{p + "a": "1", p + "b": "2", p + "c": "3"}
	if err := r.SetMulti(ctx, m); err != nil {
		t.Fatal(err)
	}
	for k := range m {
		ttl, err := c.TTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl < 59*time.Minute || ttl > time.Hour {
			t.Errorf("TTL of %q = %v; want the store's default of 1h", k, ttl)
		}
	}

	named := newRegion(t, "gocache.redis", region.Arguments{"addr": testservers.Redis(t), "expiration": "30m"})
	nc := named.ActualBackend().(*region.SerializedBackend).Bytes().(*dpgocache.Bytes).Client().(*redis.Client)
	var pc pipelineCounter
	nc.AddHook(&pc)
	m2 := map[string]any{p + "n1": "1", p + "n2": "2", p + "n3": "3"}
	if err := named.SetMulti(ctx, m2); err != nil {
		t.Fatal(err)
	}
	if n := pc.n.Load(); n != 1 {
		t.Errorf("gocache.redis SetMulti sent %d pipelines; want 1", n)
	}
	for k := range m2 {
		if ttl, err := c.TTL(ctx, k).Result(); err != nil || ttl < 29*time.Minute || ttl > 30*time.Minute {
			t.Errorf("TTL of %q = %v, %v; want 30m", k, ttl, err)
		}
	}
}

// A gocache.memcache multi-get touching a stopped server returns the
// values of the live server, with an error naming the stopped one.
func TestMemcacheGetMultiPartialFailure(t *testing.T) {
	ctx := testCtx(t)
	live := testservers.Memcached(t)[0]
	privAddr, priv := testservers.StartMemcached(t)
	servers := []string{live, privAddr}
	r := newRegion(t, "gocache.memcache", region.Arguments{"url": servers, "socket_timeout": "500ms"})
	b := r.ActualBackend().(*region.SerializedBackend).Bytes().(*dpgocache.Bytes)
	var sl gomemcache.ServerList
	if err := sl.SetServers(servers...); err != nil {
		t.Fatal(err)
	}
	p := testservers.UniqueKey(t, "")
	var onLive, onPriv []string
	for i := 0; len(onLive) < 3 || len(onPriv) < 3; i++ {
		k := fmt.Sprintf("%sk%d", p, i)
		a, err := sl.PickServer(k)
		if err != nil {
			t.Fatal(err)
		}
		if a.String() == privAddr {
			onPriv = append(onPriv, k)
		} else {
			onLive = append(onLive, k)
		}
	}
	for _, k := range onLive {
		if err := b.SetSerialized(ctx, k, []byte("v:"+k)); err != nil {
			t.Fatal(err)
		}
	}
	priv.Stop()
	keys := append(append([]string(nil), onPriv...), onLive...)
	got, err := b.GetSerializedMulti(ctx, keys)
	var se *dpgocache.StoreError
	if !errors.As(err, &se) || se.Addr != privAddr || se.Key != onPriv[0] || se.Keys != len(onPriv) {
		t.Fatalf("GetSerializedMulti error = %#v; want a StoreError naming %s, key %q and %d keys", err, privAddr, onPriv[0], len(onPriv))
	}
	for _, k := range onLive {
		if string(got[k]) != "v:"+k {
			t.Errorf("value of %q on the live server = %q; want it returned with the error", k, got[k])
		}
	}
}

// DeleteMulti through a store without batch calls (a caller's memcache
// store) on a hung server stops at the first timeout instead of waiting
// socket_timeout per key.
func TestPerKeyDeleteOnHungServerIsBounded(t *testing.T) {
	ctx := testCtx(t)
	privAddr, priv := testservers.StartMemcached(t)
	r := newRegion(t, "gocache.memcache", region.Arguments{"url": privAddr, "socket_timeout": "500ms"})
	b := r.ActualBackend().(*region.SerializedBackend).Bytes().(*dpgocache.Bytes)
	p := testservers.UniqueKey(t, "")
	keys := make([]string, 64)
	m := make(map[string][]byte, len(keys))
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%d", p, i)
		m[keys[i]] = []byte("v")
	}
	priv.Pause()
	defer priv.Resume()
	for _, step := range []struct {
		name string
		call func() error
	}{
		{"SetMulti", func() error { return b.SetSerializedMulti(ctx, m) }},
		{"DeleteMulti", func() error { return b.DeleteMulti(ctx, keys) }},
	} {
		start := time.Now()
		err := step.call()
		d := time.Since(start)
		if err == nil {
			t.Errorf("%s on a hung server succeeded", step.name)
		}
		if d > 2*time.Second {
			t.Errorf("%s of %d keys on a hung server took %v; want about one socket_timeout (500ms)", step.name, len(keys), d)
		}
		t.Logf("%s: %v: %.200v", step.name, d, err)
	}
}

// SetCorruptionHandler may be called while the backend is read.
func TestSetCorruptionHandlerConcurrent(t *testing.T) {
	ctx := testCtx(t)
	gc := gocache.New(gocache.NoExpiration, 0)
	gc.Set("foreign", 42, 0)
	r := newRegion(t, "gocache", region.Arguments{"store": gocachestore.NewGoCache(gc)})
	b := r.ActualBackend().(*dpgocache.Backend)
	var calls atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, ok, err := b.Get(ctx, "foreign"); ok || err != nil {
					t.Errorf("Get(foreign) = %v, %v", ok, err)
					return
				}
			}
		})
	}
	for range 200 {
		b.SetCorruptionHandler(func(context.Context, string, error) { calls.Add(1) })
	}
	wg.Wait()
	if calls.Load() == 0 {
		t.Log("handler never called during the race (timing)")
	}
}

// gocache's bigcache store returns bigcache's own "Entry not found" error,
// unwrapped: it is a miss.
func TestBigcacheNotFoundIsMiss(t *testing.T) {
	notFound := errors.New("Entry not found")
	if !dpgocache.IsMiss(notFound) || !dpgocache.IsMiss(fmt.Errorf("wrapped: %w", notFound)) {
		t.Fatal("bigcache's not-found error is not a miss")
	}
	if dpgocache.IsMiss(errors.New("connection refused")) {
		t.Fatal("another error is a miss")
	}
}
