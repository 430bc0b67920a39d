package gocache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/eko/gocache/lib/v4/cache"
	"github.com/eko/gocache/lib/v4/store"
	gocachestore "github.com/eko/gocache/store/go_cache/v4"
	redisstore "github.com/eko/gocache/store/redis/v4"
	gocache "github.com/patrickmn/go-cache"
	"github.com/redis/go-redis/v9"

	dpgocache "github.com/dogpile-go/dogpile/backends/gocache"
	_ "github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/lockmutex/redismutex"
	"github.com/dogpile-go/dogpile/region"
)

// A region on an in-process go-cache, configured by name. Values are kept
// as they are; a sweeper goroutine drops values older than
// default_expiration and stops with Close.
func Example_goCache() {
	ctx := context.Background()
	r := region.New("users")
	err := r.Configure("gocache.go_cache",
		region.WithExpirationTime(10*time.Minute),
		region.WithArguments(region.Arguments{"default_expiration": "1h", "cleanup_interval": "5m"}))
	if err != nil {
		panic(err)
	}
	defer r.Close()

	name, err := region.GetOrCreateAs(ctx, r, "user:42", func(context.Context) (string, error) {
		return "Ann", nil // the expensive lookup
	})
	fmt.Println(name, err)
	// Output: Ann <nil>
}

// A region on ristretto, bounded to 10000 values (each costs 1; with
// serialize=true, max_cost counts bytes instead).
func Example_ristretto() {
	ctx := context.Background()
	r := region.New("pages")
	if err := r.Configure("gocache.ristretto", region.WithArguments(region.Arguments{"max_cost": 10000})); err != nil {
		panic(err)
	}
	defer r.Close() // closes the ristretto cache and its goroutines

	_ = r.Set(ctx, "/index", "<html>...</html>")
	page, ok, err := region.GetAs[string](ctx, r, "/index")
	fmt.Println(page, ok, err)
	// Output: <html>...</html> true <nil>
}

// A region on Redis, shared by every process that uses the server. The
// dogpile lock is held in Redis too, so one process creates a value while
// the others wait for it. (Needs a Redis server, so it is not run.)
func Example_redis() {
	ctx := context.Background()
	r := region.New("tokens", region.WithKeyMangler(region.SHA1MangleKey))
	err := r.ConfigureFromConfig(map[string]any{
		"cache.backend":                  "gocache.redis",
		"cache.expiration_time":          "600",
		"cache.arguments.url":            "redis://127.0.0.1:6379/0",
		"cache.arguments.expiration":     "3600", // Redis TTL: longer than the region's expiration
		"cache.arguments.lock_timeout":   "30",   // longer than the slowest creator
		"cache.arguments.socket_timeout": "1s",
	}, "cache.")
	if err != nil {
		panic(err)
	}
	defer r.Close()

	type token struct {
		User    string
		Expires time.Time
	}
	tok, err := region.GetOrCreateAs(ctx, r, "token:abc", func(context.Context) (token, error) {
		return token{User: "ann", Expires: time.Now().Add(time.Hour)}, nil
	})
	fmt.Println(tok.User, err)
}

// A region on memcached servers; values are bytes, the dogpile lock is a
// memcached add-lock. (Needs memcached, so it is not run.)
func Example_memcache() {
	ctx := context.Background()
	r := region.New("sessions", region.WithKeyMangler(region.SHA1MangleKey))
	err := r.Configure("gocache.memcache",
		region.WithExpirationTime(5*time.Minute),
		region.WithArguments(region.Arguments{
			"url":        "127.0.0.1:11211,127.0.0.1:11212",
			"expiration": "1h",
		}))
	if err != nil {
		panic(err)
	}
	defer r.Close()

	n, err := region.GetOrCreateAs(ctx, r, "visits", func(context.Context) (int, error) { return 1, nil })
	fmt.Println(n, err)
}

// Any gocache store, passed as a Go value: here a go-cache store the
// program also uses elsewhere. Stores of type "go-cache" and "ristretto"
// keep Go values; other types keep bytes.
func ExampleNew() {
	ctx := context.Background()
	s := gocachestore.NewGoCache(gocache.New(gocache.NoExpiration, 0))

	r := region.New("shared")
	if err := r.Configure("gocache", region.WithArguments(region.Arguments{"store": s})); err != nil {
		panic(err)
	}
	v, err := r.GetOrCreate(ctx, "answer", func(context.Context) (any, error) { return 42, nil })
	fmt.Println(v, err)

	// The same, built in Go: a Redis store with its client, so that multi
	// calls use MGET and pipelines and the dogpile lock is a Redis lock.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	b, err := dpgocache.New(redisstore.NewRedis(client), dpgocache.Options{
		Expiration:  time.Hour,
		RedisClient: client,
		Mutex: func(key string) region.Mutex {
			return redismutex.New(client, key, redismutex.Options{LockTimeout: 30 * time.Second})
		},
	})
	fmt.Printf("%T %v\n", b, err)
	// Output:
	// 42 <nil>
	// *region.SerializedBackend <nil>
}

// A region as one layer of a gocache chain: a small go-cache in front, the
// region (with its expiration, invalidation and proxies) behind. Here the
// region is in memory; on gocache.redis it would be shared.
func ExampleNewStore() {
	ctx := context.Background()
	r := region.New("catalog")
	if err := r.Configure("memory", region.WithExpirationTime(time.Hour)); err != nil {
		panic(err)
	}
	_ = r.Set(ctx, "sku:1", "blue shirt")

	front := gocachestore.NewGoCache(gocache.New(time.Minute, 0))
	chain := cache.NewChain[any](
		cache.New[any](front),
		cache.New[any](dpgocache.NewStore(r)),
	)
	defer chain.Close() // stops the chain's goroutine

	v, err := chain.Get(ctx, "sku:1") // found in the region, copied to the front
	fmt.Println(v, err)

	_ = chain.Set(ctx, "sku:2", "red hat") // both layers
	direct, ok, _ := r.Get(ctx, "sku:2")
	fmt.Println(direct, ok)
	// Output:
	// blue shirt <nil>
	// red hat true
}

// NewStoreOf reads values back as one type, so a typed gocache cache over
// a region on a byte backend gets its structs back. Here a loadable cache
// fills the region on a miss.
func ExampleNewStoreOf() {
	ctx := context.Background()
	type product struct {
		SKU   string
		Price int
	}
	r := region.New("products")
	if err := r.Configure("memory_serialized"); err != nil { // keeps bytes, like Redis
		panic(err)
	}
	load := func(_ context.Context, key any) (product, []store.Option, error) {
		return product{SKU: key.(string), Price: 1200}, nil, nil
	}
	products := cache.NewLoadable[product](load, cache.New[product](dpgocache.NewStoreOf[product](r)))

	p, err := products.Get(ctx, "sku:9")
	fmt.Printf("%+v %v\n", p, err)
	_ = products.Close() // stores what was loaded, stops the goroutine

	again, ok, _ := region.GetAs[product](ctx, r, "sku:9")
	fmt.Printf("%+v %v\n", again, ok)
	// Output:
	// {SKU:sku:9 Price:1200} <nil>
	// {SKU:sku:9 Price:1200} true
}
