package gocache_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/eko/gocache/lib/v4/cache"
	"github.com/redis/go-redis/v9"

	dpgocache "github.com/dogpile-go/dogpile/backends/gocache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// Hits on the same go-cache store: through a region (gocache.go_cache) and
// through eko/gocache's own cache.New[T].
func BenchmarkGoCacheHit(b *testing.B) {
	ctx := context.Background()
	r := region.New("bench")
	if err := r.Configure("gocache.go_cache"); err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	s := r.ActualBackend().(*dpgocache.Backend).Store()
	const value = "a cached value"
	if err := r.Set(ctx, "region-key", value); err != nil {
		b.Fatal(err)
	}
	c := cache.New[string](s)
	if err := c.Set(ctx, "gocache-key", value); err != nil {
		b.Fatal(err)
	}
	// The same store given to the "gocache" backend: every call goes
	// through gocache's StoreInterface.
	viaStore := region.New("bench-store")
	if err := viaStore.Configure("gocache", region.WithArguments(region.Arguments{"store": s})); err != nil {
		b.Fatal(err)
	}
	if err := viaStore.Set(ctx, "store-key", value); err != nil {
		b.Fatal(err)
	}
	creator := func(context.Context) (string, error) { panic("miss") }

	b.Run("gocache.Cache.Get", func(b *testing.B) {
		for b.Loop() {
			if v, err := c.Get(ctx, "gocache-key"); err != nil || v != value {
				b.Fatal(v, err)
			}
		}
	})
	b.Run("region.Get", func(b *testing.B) {
		for b.Loop() {
			if v, ok, err := r.Get(ctx, "region-key"); err != nil || !ok || v != value {
				b.Fatal(v, err)
			}
		}
	})
	b.Run("region.Get/via-StoreInterface", func(b *testing.B) {
		for b.Loop() {
			if v, ok, err := viaStore.Get(ctx, "store-key"); err != nil || !ok || v != value {
				b.Fatal(v, err)
			}
		}
	})
	b.Run("region.GetAs", func(b *testing.B) {
		for b.Loop() {
			if v, ok, err := region.GetAs[string](ctx, r, "region-key"); err != nil || !ok || v != value {
				b.Fatal(v, err)
			}
		}
	})
	b.Run("region.GetOrCreateAs", func(b *testing.B) {
		for b.Loop() {
			if v, err := region.GetOrCreateAs(ctx, r, "region-key", creator); err != nil || v != value {
				b.Fatal(v, err)
			}
		}
	})
	b.Run("parallel/gocache.Cache.Get", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if v, err := c.Get(ctx, "gocache-key"); err != nil || v != value {
					b.Error(v, err)
					return
				}
			}
		})
	})
	b.Run("parallel/region.Get", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if v, ok, err := r.Get(ctx, "region-key"); err != nil || !ok || v != value {
					b.Error(v, err)
					return
				}
			}
		})
	})
}

// Hits on Redis: through a region (gocache.redis, decoding the envelope and
// the msgpack payload) and a plain go-redis GET of the same bytes.
func BenchmarkRedisHit(b *testing.B) {
	ctx := context.Background()
	r := region.New("bench")
	if err := r.Configure("gocache.redis", region.WithArguments(region.Arguments{"addr": testservers.Redis(b)})); err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	client := r.ActualBackend().(*region.SerializedBackend).Bytes().(*dpgocache.Bytes).Client().(*redis.Client)
	key := testservers.UniqueKey(b, "k")
	value := strings.Repeat("v", 100)
	if err := r.Set(ctx, key, value); err != nil {
		b.Fatal(err)
	}
	defer client.Del(ctx, key)
	creator := func(context.Context) (string, error) { panic("miss") }

	b.Run("go-redis.Get", func(b *testing.B) {
		for b.Loop() {
			if _, err := client.Get(ctx, key).Bytes(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("region.Get", func(b *testing.B) {
		for b.Loop() {
			if v, ok, err := r.Get(ctx, key); err != nil || !ok || v != value {
				b.Fatal(v, err)
			}
		}
	})
	b.Run("region.GetOrCreateAs", func(b *testing.B) {
		for b.Loop() {
			if v, err := region.GetOrCreateAs(ctx, r, key, creator); err != nil || v != value {
				b.Fatal(v, err)
			}
		}
	})
	b.Run("parallel/go-redis.Get", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := client.Get(ctx, key).Bytes(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("parallel/region.Get", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if v, ok, err := r.Get(ctx, key); err != nil || !ok || v != value {
					b.Error(v, err)
					return
				}
			}
		})
	})
}

// compare runs base and other alternately in blocks of n calls and reports
// each one's best block (ns per call) and their ratio other/base: on a busy
// machine the best of many interleaved blocks is the fairest comparison.
// Run it with a fixed count, e.g. -benchtime=300x.
func compare(b *testing.B, n int, base, other func()) {
	b.Helper()
	best := [2]time.Duration{math.MaxInt64, math.MaxInt64}
	for b.Loop() {
		for i, fn := range [2]func(){base, other} {
			start := time.Now()
			for range n {
				fn()
			}
			best[i] = min(best[i], time.Since(start))
		}
	}
	baseNs := float64(best[0].Nanoseconds()) / float64(n)
	otherNs := float64(best[1].Nanoseconds()) / float64(n)
	b.ReportMetric(baseNs, "base-ns/call")
	b.ReportMetric(otherNs, "region-ns/call")
	b.ReportMetric(otherNs/baseNs, "ratio")
	b.ReportMetric(0, "ns/op") // meaningless here
}

// BenchmarkRatio reports region/baseline ratios: a hit through a region on
// gocache.go_cache vs eko/gocache's cache.New[string] on the same store,
// and a hit through a region on gocache.redis vs a go-redis GET of the same
// bytes.
func BenchmarkRatio(b *testing.B) {
	ctx := context.Background()
	const value = "a cached value"

	gr := region.New("ratio")
	if err := gr.Configure("gocache.go_cache"); err != nil {
		b.Fatal(err)
	}
	defer gr.Close()
	s := gr.ActualBackend().(*dpgocache.Backend).Store()
	c := cache.New[string](s)
	viaStore := region.New("ratio-store")
	if err := viaStore.Configure("gocache", region.WithArguments(region.Arguments{"store": s})); err != nil {
		b.Fatal(err)
	}
	for _, err := range []error{c.Set(ctx, "g", value), gr.Set(ctx, "r", value), viaStore.Set(ctx, "s", value)} {
		if err != nil {
			b.Fatal(err)
		}
	}
	gocacheGet := func() {
		if v, err := c.Get(ctx, "g"); err != nil || v != value {
			b.Fatal(v, err)
		}
	}
	b.Run("go_cache/region.Get", func(b *testing.B) {
		compare(b, 5000, gocacheGet, func() {
			if v, ok, err := gr.Get(ctx, "r"); err != nil || !ok || v != value {
				b.Fatal(v, err)
			}
		})
	})
	b.Run("go_cache/region.GetAs", func(b *testing.B) {
		compare(b, 5000, gocacheGet, func() {
			if v, ok, err := region.GetAs[string](ctx, gr, "r"); err != nil || !ok || v != value {
				b.Fatal(v, err)
			}
		})
	})
	b.Run("go_cache/region.Get-via-StoreInterface", func(b *testing.B) {
		compare(b, 5000, gocacheGet, func() {
			if v, ok, err := viaStore.Get(ctx, "s"); err != nil || !ok || v != value {
				b.Fatal(v, err)
			}
		})
	})

	rr := region.New("ratio-redis")
	if err := rr.Configure("gocache.redis", region.WithArguments(region.Arguments{"addr": testservers.Redis(b)})); err != nil {
		b.Fatal(err)
	}
	defer rr.Close()
	client := rr.ActualBackend().(*region.SerializedBackend).Bytes().(*dpgocache.Bytes).Client().(*redis.Client)
	key := testservers.UniqueKey(b, "k")
	big := strings.Repeat("v", 100)
	if err := rr.Set(ctx, key, big); err != nil {
		b.Fatal(err)
	}
	defer client.Del(ctx, key)
	plain := redis.NewClient(&redis.Options{Addr: testservers.Redis(b)}) // no hook: go-redis as it comes
	defer plain.Close()
	redisGet := func() {
		if _, err := plain.Get(ctx, key).Bytes(); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("redis/region.Get", func(b *testing.B) {
		compare(b, 200, redisGet, func() {
			if v, ok, err := rr.Get(ctx, key); err != nil || !ok || v != big {
				b.Fatal(v, err)
			}
		})
	})
	b.Run("redis/region.GetAs", func(b *testing.B) {
		compare(b, 200, redisGet, func() {
			if v, ok, err := region.GetAs[string](ctx, rr, key); err != nil || !ok || v != big {
				b.Fatal(v, err)
			}
		})
	})
}
