package region_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/dogpile-go/dogpile/backends/memory" // registers "memory" and friends
	"github.com/dogpile-go/dogpile/region"
)

func ExampleRegion_GetOrCreate() {
	ctx := context.Background()
	r := region.New("users")
	if err := r.Configure("memory", region.WithExpirationTime(10*time.Minute)); err != nil {
		panic(err)
	}
	defer r.Close()

	load := func(ctx context.Context) (any, error) {
		fmt.Println("loading user 42")
		return "Ada", nil
	}
	for i := 0; i < 3; i++ {
		v, err := r.GetOrCreate(ctx, "user:42", load)
		fmt.Println(v, err)
	}
	// Output:
	// loading user 42
	// Ada <nil>
	// Ada <nil>
	// Ada <nil>
}

type User struct {
	ID   int
	Name string
}

func ExampleGetOrCreateAs() {
	ctx := context.Background()
	// memory_serialized keeps bytes: every read decodes a fresh copy, and
	// the typed call decodes straight into User.
	r := region.New("users")
	if err := r.Configure("memory_serialized"); err != nil {
		panic(err)
	}
	u, err := region.GetOrCreateAs(ctx, r, "user:7", func(context.Context) (User, error) {
		return User{ID: 7, Name: "Grace"}, nil
	})
	fmt.Println(u.Name, err)
	cached, ok, err := region.GetAs[User](ctx, r, "user:7")
	fmt.Println(cached.ID, ok, err)
	// Output:
	// Grace <nil>
	// 7 true <nil>
}

func ExampleRegion_ConfigureFromConfig() {
	// The flat map an ini section or YAML file gives; strings are coerced.
	conf := map[string]any{
		"cache.backend":                    "memory",
		"cache.expiration_time":            "600",
		"cache.arguments.expiration_time":  "3600",
		"cache.arguments.cleanup_interval": "60",
	}
	r := region.New("tokens", region.WithKeyMangler(region.SHA1MangleKey))
	if err := r.ConfigureFromConfig(conf, "cache."); err != nil {
		panic(err)
	}
	defer r.Close()
	fmt.Println(r.BackendName(), r.ExpirationTime())
	fmt.Println(r.KeyMangler()("token:abc"))
	// Output:
	// memory 10m0s
	// 9cb3094c9a645cc05a76772702241a0d3f49626c
}

func ExampleCacheOnArguments() {
	ctx := context.Background()
	r := region.New("squares")
	if err := r.Configure("memory"); err != nil {
		panic(err)
	}
	// The keys of a Python function square of module calc.math, cached
	// with @region.cache_on_arguments().
	square := region.CacheOnArguments(r, "calc.math:square", func(_ context.Context, n int) (int, error) {
		fmt.Println("computing", n)
		return n * n, nil
	})
	a, _ := square.Call(ctx, 12)
	b, _ := square.Call(ctx, 12) // cached
	_ = square.Invalidate(ctx, 12)
	c, _ := square.Call(ctx, 12) // computed again
	fmt.Println(a, b, c, square.Key(12))
	// Output:
	// computing 12
	// computing 12
	// 144 144 144 calc.math:square|12
}

func ExampleCacheMultiOnArguments() {
	ctx := context.Background()
	r := region.New("users")
	if err := r.Configure("memory"); err != nil {
		panic(err)
	}
	// One call of the function for all the arguments without a value, as
	// dogpile's cache_multi_on_arguments: a batched database query, say.
	names := region.CacheMultiOnArguments(r, "names", func(_ context.Context, ids []int) ([]string, error) {
		fmt.Println("loading", ids)
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = fmt.Sprint("user-", id)
		}
		return out, nil
	})
	a, _ := names.Call(ctx, []int{1, 2})
	b, _ := names.Call(ctx, []int{2, 3}) // 2 is cached
	fmt.Println(a, b)
	// Output:
	// loading [1 2]
	// loading [3]
	// [user-1 user-2] [user-2 user-3]
}

func ExampleRegion_GetOrCreateMulti() {
	ctx := context.Background()
	r := region.New("multi")
	if err := r.Configure("memory"); err != nil {
		panic(err)
	}
	_ = r.Set(ctx, "b", "cached b")
	vals, err := r.GetOrCreateMulti(ctx, []string{"c", "b", "a"}, func(_ context.Context, missing []string) ([]any, error) {
		fmt.Println("creating", missing)
		out := make([]any, len(missing))
		for i, k := range missing {
			out[i] = "made " + k
		}
		return out, nil
	})
	fmt.Println(vals, err)
	// Output:
	// creating [a c]
	// [made c cached b made a] <nil>
}

func ExampleRegion_Invalidate() {
	ctx := context.Background()
	r := region.New("invalidate")
	if err := r.Configure("memory", region.WithExpirationTime(time.Hour)); err != nil {
		panic(err)
	}
	_ = r.Set(ctx, "k", "old")
	time.Sleep(time.Millisecond)
	r.Invalidate(false) // soft: the old value reads as expired
	_, ok, _ := r.Get(ctx, "k")
	stale, _, _ := r.Get(ctx, "k", region.IgnoreExpiration())
	fmt.Println(ok, stale)
	// Output:
	// false old
}

// announcedInvalidation is an invalidation strategy of a program's own:
// it records the invalidations announced to it (by a message bus, say) and
// keeps the latest in memory, where the region reads it on every read.
type announcedInvalidation struct {
	last atomic.Pointer[region.Invalidation]
}

func (a *announcedInvalidation) Invalidate(hard bool) {
	a.last.Store(&region.Invalidation{At: time.Now(), Hard: hard})
}

func (a *announcedInvalidation) LastInvalidation() *region.Invalidation { return a.last.Load() }

// announce stands for a message that another service invalidated at.
func (a *announcedInvalidation) announce(at time.Time, hard bool) {
	a.last.Store(&region.Invalidation{At: at, Hard: hard})
}

func ExampleInvalidationStrategy() {
	ctx := context.Background()
	inv := &announcedInvalidation{}
	r := region.New("announced")
	if err := r.Configure("memory", region.WithInvalidator(inv), region.WithExpirationTime(time.Hour)); err != nil {
		panic(err)
	}
	_ = r.Set(ctx, "k", "v1")
	time.Sleep(time.Millisecond)
	inv.announce(time.Now(), true) // a hard invalidation, elsewhere
	_, ok, _ := r.Get(ctx, "k")
	_, _ = r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return "v2", nil })
	v, _, _ := r.Get(ctx, "k") // created after the invalidation
	fmt.Println(ok, v)
	// Output:
	// false v2
}

// CountingProxy counts the sets that pass through it: embed
// region.ProxyBackend and override only what the proxy needs.
type CountingProxy struct {
	region.ProxyBackend
	mu   sync.Mutex
	sets map[string]int
}

func (p *CountingProxy) Set(ctx context.Context, key string, v region.CachedValue) error {
	p.mu.Lock()
	p.sets[key]++
	p.mu.Unlock()
	return p.Proxied.Set(ctx, key, v)
}

func ExampleProxyBackend() {
	ctx := context.Background()
	counter := &CountingProxy{sets: map[string]int{}}
	r := region.New("proxied")
	if err := r.Configure("memory", region.WithWrap(counter)); err != nil {
		panic(err)
	}
	_ = r.Set(ctx, "a", 1)
	_ = r.Set(ctx, "a", 2)
	_, _ = r.GetOrCreate(ctx, "b", func(context.Context) (any, error) { return 3, nil })
	fmt.Println(counter.sets["a"], counter.sets["b"], r.Backend() == region.Backend(counter))
	// Output:
	// 2 1 true
}

// MapBackend is a minimal backend plugin: a map behind a mutex.
type MapBackend struct {
	mu     sync.Mutex
	values map[string]region.CachedValue
}

func (b *MapBackend) Get(_ context.Context, key string) (region.CachedValue, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.values[key]
	return v, ok, nil
}

func (b *MapBackend) GetMulti(ctx context.Context, keys []string) (map[string]region.CachedValue, error) {
	out := map[string]region.CachedValue{}
	for _, k := range keys {
		if v, ok, _ := b.Get(ctx, k); ok {
			out[k] = v
		}
	}
	return out, nil
}

func (b *MapBackend) Set(_ context.Context, key string, v region.CachedValue) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.values[key] = v
	return nil
}

func (b *MapBackend) SetMulti(ctx context.Context, m map[string]region.CachedValue) error {
	for k, v := range m {
		_ = b.Set(ctx, k, v)
	}
	return nil
}

func (b *MapBackend) Delete(_ context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.values, key)
	return nil
}

func (b *MapBackend) DeleteMulti(ctx context.Context, keys []string) error {
	for _, k := range keys {
		_ = b.Delete(ctx, k)
	}
	return nil
}

// GetMutex returns nil: the region's in-process mutex is enough for a
// backend that lives in one process.
func (b *MapBackend) GetMutex(string) region.Mutex { return nil }

func ExampleRegisterBackend() {
	// A plugin package does this in its init function.
	region.RegisterBackend("example.map", func(args region.Arguments) (region.Backend, error) {
		return &MapBackend{values: map[string]region.CachedValue{}}, nil
	})

	r := region.New("plugin")
	if err := r.Configure("example.map"); err != nil {
		panic(err)
	}
	ctx := context.Background()
	_ = r.SetMulti(ctx, map[string]any{"x": 1, "y": 2})
	vals, _ := r.GetMulti(ctx, []string{"x", "y", "z"})
	fmt.Println(vals)
	fmt.Println(slices.Sorted(maps.Keys(r.ActualBackend().(*MapBackend).values)))
	// Output:
	// [1 2 <NoValue>]
	// [x y]
}
