package redis_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	_ "github.com/dogpile-go/dogpile/backends/gocache"
	"github.com/dogpile-go/dogpile/backends/redis"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// rawClient returns a plain go-redis client on the topology's data: the
// server, the Sentinel master, or the cluster.
func rawClient(t testing.TB, tp topology) goredis.UniversalClient {
	t.Helper()
	var c goredis.UniversalClient
	switch tp.name {
	case "dogpile.cache.redis":
		c = goredis.NewClient(&goredis.Options{Addr: testservers.Redis(t)})
	case "dogpile.cache.redis_sentinel":
		set := testservers.RedisSentinel(t)
		c = goredis.NewFailoverClient(&goredis.FailoverOptions{MasterName: set.Service, SentinelAddrs: set.Sentinels})
	default:
		c = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: testservers.RedisCluster(t)})
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// dogpileJSON matches dogpile.cache's serialized value with a JSON payload.
var dogpileJSON = regexp.MustCompile(`^\{"ct": (\d+\.\d+), "v": 2\}\|(.*)$`)

// Values are stored under the key as given, in dogpile.cache's layout:
// {"ct": <seconds>, "v": 2}|<payload>; redis_expiration_time becomes the
// key's TTL (SETEX), also for SetMulti.
func TestWireFormat(t *testing.T) {
	for _, tp := range topologies {
		t.Run(tp.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			raw := rawClient(t, tp)
			prefix := testservers.UniqueKey(t, "")
			key := prefix + "ключ/ü"
			r := newRegion(t, jsonRegion, tp.name, tp.args(t))
			before := time.Now()
			if err := r.Set(ctx, key, map[string]any{"name": "ada"}); err != nil {
				t.Fatal(err)
			}
			b, err := raw.Get(ctx, key).Bytes()
			if err != nil {
				t.Fatalf("raw GET of the key as given: %v", err)
			}
			m := dogpileJSON.FindSubmatch(b)
			if m == nil || string(m[2]) != `{"name":"ada"}` {
				t.Fatalf("stored %q; want {\"ct\": <time>, \"v\": 2}|{\"name\":\"ada\"}", b)
			}
			ct, _ := strconv.ParseFloat(string(m[1]), 64)
			if d := time.Unix(0, int64(ct*1e9)).Sub(before); d < -time.Second || d > time.Minute {
				t.Errorf("ct %v is %v away from the write", m[1], d)
			}
			if ttl := raw.TTL(ctx, key).Val(); ttl != -1 {
				t.Errorf("TTL without redis_expiration_time = %v; want none", ttl)
			}
			if err := r.SetMulti(ctx, map[string]any{prefix + "a": 1, prefix + "b": "two"}); err != nil {
				t.Fatal(err)
			}
			if ttl := raw.TTL(ctx, prefix+"a").Val(); ttl != -1 {
				t.Errorf("TTL after SetMulti without redis_expiration_time = %v; want none", ttl)
			}

			rx := newRegion(t, jsonRegion, tp.name, with(tp.args(t), region.Arguments{"redis_expiration_time": 60}))
			if err := rx.Set(ctx, prefix+"x", "v"); err != nil {
				t.Fatal(err)
			}
			if err := rx.SetMulti(ctx, map[string]any{prefix + "y": "v", prefix + "z": "v"}); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"x", "y", "z"} {
				if ttl := raw.TTL(ctx, prefix+k).Val(); ttl <= 0 || ttl > 60*time.Second {
					t.Errorf("TTL of %s with redis_expiration_time 60 = %v; want in (0, 60s]", k, ttl)
				}
			}
			if err := r.DeleteMulti(ctx, []string{prefix + "a", prefix + "b", prefix + "y"}); err != nil {
				t.Fatal(err)
			}
			if err := r.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{key, prefix + "a", prefix + "b", prefix + "y"} {
				if n := raw.Exists(ctx, k).Val(); n != 0 {
					t.Errorf("%q exists after delete", k)
				}
			}
		})
	}
}

// commandCalls sums a command's calls over the nodes (INFO commandstats).
func commandCalls(t *testing.T, ctx context.Context, nodes []string, cmd string) int {
	t.Helper()
	total := 0
	re := regexp.MustCompile(`(?m)^cmdstat_` + cmd + `:calls=(\d+)`)
	for _, n := range nodes {
		c := goredis.NewClient(&goredis.Options{Addr: n})
		info, err := c.Info(ctx, "commandstats").Result()
		_ = c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if m := re.FindStringSubmatch(info); m != nil {
			v, _ := strconv.Atoi(m[1])
			total += v
		}
	}
	return total
}

// On a cluster, GetMulti sends one MGET per hash slot, SetMulti one MSET
// per slot and DeleteMulti one DEL per slot, never one command per key.
func TestClusterMultiBySlot(t *testing.T) {
	nodes := testservers.RedisCluster(t)
	ctx := testCtx(t)
	r := newRegion(t, jsonRegion, "dogpile.cache.redis_cluster", clusterArgs(t))
	prefix := testservers.UniqueKey(t, "")
	var keys []string
	values := map[string]any{}
	for i := range 60 {
		// Ten hash tags, six keys each: ten slots.
		k := fmt.Sprintf("%s{tag%d}:%d", prefix, i%10, i)
		keys = append(keys, k)
		values[k] = i
	}
	mset0, get0 := commandCalls(t, ctx, nodes, "mset"), commandCalls(t, ctx, nodes, "get")
	if err := r.SetMulti(ctx, values); err != nil {
		t.Fatal(err)
	}
	if n := commandCalls(t, ctx, nodes, "mset") - mset0; n != 10 {
		t.Errorf("SetMulti of 60 keys in 10 slots sent %d MSETs; want 10", n)
	}
	mget0 := commandCalls(t, ctx, nodes, "mget")
	got, err := r.GetMulti(ctx, append(keys, prefix+"{tag3}:missing"))
	if err != nil {
		t.Fatal(err)
	}
	if n := commandCalls(t, ctx, nodes, "mget") - mget0; n != 10 {
		t.Errorf("GetMulti of 61 keys in 10 slots sent %d MGETs; want 10", n)
	}
	if n := commandCalls(t, ctx, nodes, "get") - get0; n != 0 {
		t.Errorf("GetMulti sent %d GETs; want none", n)
	}
	for i, v := range got[:60] {
		if f, ok := v.(float64); !ok || int(f) != i {
			t.Fatalf("GetMulti[%d] = %#v; want %d", i, v, i)
		}
	}
	if got[60] != region.NoValue {
		t.Errorf("missing key read as %#v", got[60])
	}
	del0 := commandCalls(t, ctx, nodes, "del")
	if err := r.DeleteMulti(ctx, keys); err != nil {
		t.Fatal(err)
	}
	if n := commandCalls(t, ctx, nodes, "del") - del0; n != 10 {
		t.Errorf("DeleteMulti of 60 keys in 10 slots sent %d DELs; want 10", n)
	}
	got, _ = r.GetMulti(ctx, keys)
	for i, v := range got {
		if v != region.NoValue {
			t.Fatalf("key %d still there after DeleteMulti", i)
		}
	}
}

// GetSerializedOrdered (the region's GetMulti path) and
// GetSerializedMulti read on every topology what is stored, in key order:
// keys with and without hash tags, missing keys, an empty value, a key
// asked for twice.
func TestOrderedReads(t *testing.T) {
	for _, tp := range topologies {
		t.Run(tp.name, func(t *testing.T) {
			ctx := testCtx(t)
			r := newRegion(t, jsonRegion, tp.name, tp.args(t))
			store, ok := region.BackendAs[*redis.Store](r.ActualBackend())
			if !ok {
				t.Fatalf("backend %T is not a *redis.Store", r.ActualBackend())
			}
			raw := rawClient(t, tp)
			prefix := testservers.UniqueKey(t, "")
			keys := []string{prefix + "a", prefix + "{t1}:b", prefix + "missing", prefix + "{t1}:c", prefix + "empty",
				prefix + "{t2}:d", prefix + "a", prefix + "{t1}:missing", prefix + "e"}
			stored := map[string]string{prefix + "a": "A", prefix + "{t1}:b": "B", prefix + "{t1}:c": "C",
				prefix + "empty": "", prefix + "{t2}:d": "D", prefix + "e": "E"}
			for k, v := range stored {
				if err := raw.Set(ctx, k, v, time.Minute).Err(); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() {
				for k := range stored {
					raw.Del(context.Background(), k)
				}
			})
			values, err := store.GetSerializedOrdered(ctx, keys)
			if err != nil || len(values) != len(keys) {
				t.Fatalf("GetSerializedOrdered = %d values, %v", len(values), err)
			}
			for i, k := range keys {
				want, ok := stored[k]
				if got := values[i]; (got != nil) != ok || string(got) != want {
					t.Errorf("%s: read %q (present %v), want %q (present %v)", k, got, got != nil, want, ok)
				}
			}
			m, err := store.GetSerializedMulti(ctx, keys)
			if err != nil || len(m) != len(stored) {
				t.Fatalf("GetSerializedMulti = %d values, %v; want %d", len(m), err, len(stored))
			}
			for k, v := range stored {
				if got, ok := m[k]; !ok || string(got) != v {
					t.Errorf("GetSerializedMulti[%s] = %q, %v; want %q", k, got, ok, v)
				}
			}
		})
	}
}

// The dogpile lock works on a cluster when a key and its "_lock" key live
// in different slots (on different nodes): a second region's caller waits
// for the first creator and gets its value.
func TestClusterLockAcrossSlots(t *testing.T) {
	ctx := testCtx(t)
	raw := rawClient(t, topologies[2])
	args := with(clusterArgs(t), region.Arguments{"distributed_lock": true, "lock_sleep": 0.01})
	a := newRegion(t, jsonRegion, "dogpile.cache.redis_cluster", args)
	b := newRegion(t, jsonRegion, "dogpile.cache.redis_cluster", args)
	var key string
	for i := 0; ; i++ {
		key = testservers.UniqueKey(t, strconv.Itoa(i))
		ks, _ := raw.ClusterKeySlot(ctx, key).Result()
		ls, _ := raw.ClusterKeySlot(ctx, "_lock"+key).Result()
		if ks/5462 != ls/5462 { // the three masters hold about a third each
			break
		}
	}
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		v, err := a.GetOrCreate(ctx, key, func(context.Context) (any, error) {
			close(started)
			<-release
			return "from a", nil
		})
		if err != nil || v != "from a" {
			t.Errorf("a: %v, %v", v, err)
		}
	})
	<-started
	if locked, err := b.KeyIsLocked(ctx, key); err != nil || !locked {
		t.Fatalf("KeyIsLocked from the other region = %v, %v; want true", locked, err)
	}
	if n := raw.Exists(ctx, "_lock"+key).Val(); n != 1 {
		t.Fatalf("lock key %q does not exist on the cluster", "_lock"+key)
	}
	done := make(chan any)
	go func() {
		v, err := b.GetOrCreate(ctx, key, func(context.Context) (any, error) { return "from b", nil })
		if err != nil {
			t.Errorf("b: %v", err)
		}
		done <- v
	}()
	time.Sleep(200 * time.Millisecond)
	close(release)
	if v := <-done; v != "from a" {
		t.Errorf("the waiting region got %v; want a's value", v)
	}
	wg.Wait()
	if n := raw.Exists(ctx, "_lock"+key).Val(); n != 0 {
		t.Errorf("lock key left behind")
	}
}

// The shared invalidation record lives in the cluster too: one process's
// Invalidate is honoured by another.
func TestClusterSharedInvalidation(t *testing.T) {
	ctx := testCtx(t)
	name := "shared-" + testservers.UniqueKey(t, "")
	newShared := func() *region.Region {
		r := region.New(name, jsonRegion...)
		inv := region.NewSharedInvalidation(r, region.SharedInvalidationOptions{CacheFor: 100 * time.Millisecond})
		if err := r.Configure("dogpile.cache.redis_cluster", region.WithArguments(clusterArgs(t)), region.WithInvalidator(inv)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
	a, b := newShared(), newShared()
	key := testservers.UniqueKey(t, "k")
	if err := a.Set(ctx, key, "old"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := b.Get(ctx, key); err != nil || !ok || v != "old" {
		t.Fatalf("b.Get = %v, %v, %v", v, ok, err)
	}
	time.Sleep(20 * time.Millisecond) // the invalidation must come after the value
	if err := a.InvalidateContext(ctx, true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, ok, err := b.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other region still serves the value 10s after a hard invalidation")
		}
		time.Sleep(50 * time.Millisecond)
	}
	v, err := b.GetOrCreate(ctx, key, func(context.Context) (any, error) { return "new", nil })
	if err != nil || v != "new" {
		t.Fatalf("GetOrCreate after invalidation = %v, %v", v, err)
	}
}

// Bytes in this project's own layout ("1;<ns>|payload", as gocache.redis
// writes) read as absent in a dogpile.cache.redis region and are reported
// to its error handler; dogpile.cache's bytes read as absent in a
// gocache.redis region. Nothing panics, nothing is served.
func TestForeignLayoutsReadAsAbsent(t *testing.T) {
	ctx := testCtx(t)
	addr := testservers.Redis(t)
	var mu sync.Mutex
	reported := map[string]error{}
	handler := region.WithErrorHandler(func(_ context.Context, key string, err error) {
		mu.Lock()
		defer mu.Unlock()
		reported[key] = err
	})
	dp := newRegion(t, append([]region.Option{handler}, jsonRegion...), "dogpile.cache.redis", singleArgs(t))
	gc := newRegion(t, []region.Option{handler}, "gocache.redis", region.Arguments{"addr": addr})

	native := testservers.UniqueKey(t, "native")
	if err := gc.Set(ctx, native, "go"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := dp.Get(ctx, native); ok || err != nil {
		t.Fatalf("dogpile region read native bytes as %v, %v, %v; want absent", v, ok, err)
	}
	if vals, err := dp.GetMulti(ctx, []string{native}); err != nil || vals[0] != region.NoValue {
		t.Fatalf("GetMulti = %v, %v; want absent", vals, err)
	}
	v, err := dp.GetOrCreate(ctx, native, func(context.Context) (any, error) { return "made", nil })
	if err != nil || v != "made" {
		t.Fatalf("GetOrCreate over native bytes = %v, %v", v, err)
	}

	dogpile := testservers.UniqueKey(t, "dogpile")
	if err := dp.Set(ctx, dogpile, "py"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := gc.Get(ctx, dogpile); ok || err != nil {
		t.Fatalf("gocache.redis region read dogpile bytes as %v, %v, %v; want absent", v, ok, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, k := range []string{native, dogpile} {
		if err := reported[k]; !errors.Is(err, region.ErrCorruptValue) {
			t.Errorf("key %q: reported %v; want an error matching region.ErrCorruptValue", k, err)
		}
	}
	if !strings.Contains(fmt.Sprint(reported[native]), "dogpile") {
		t.Errorf("the report %q does not say which layout was expected", reported[native])
	}
}

// Without a region serializer the payload is pickled with Python 3's
// default protocol (4), as pickle.dumps writes it.
func TestWireFormatPickle(t *testing.T) {
	ctx := testCtx(t)
	raw := rawClient(t, topologies[0])
	key := testservers.UniqueKey(t, "")
	r := newRegion(t, nil, "dogpile.cache.redis", singleArgs(t))
	if err := r.Set(ctx, key, "hi"); err != nil {
		t.Fatal(err)
	}
	b, err := raw.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	_, payload, ok := strings.Cut(string(b), "|")
	if !ok || !strings.HasPrefix(string(b), `{"ct": `) || !strings.HasPrefix(payload, "\x80\x04") || !strings.HasSuffix(payload, ".") {
		t.Fatalf("stored %q; want dogpile's metadata, then a protocol-4 pickle", b)
	}
	if v, ok, err := r.Get(ctx, key); err != nil || !ok || v != "hi" {
		t.Fatalf("Get = %v, %v, %v", v, ok, err)
	}
}
