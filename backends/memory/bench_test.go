package memory_test

// Hit-path benchmarks: the region over the memory backend against the
// libraries a user would otherwise call directly, in the same run. See
// docs/PERFORMANCE.md for the ratios and the command that reproduces them.

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ekocache "github.com/eko/gocache/lib/v4/cache"
	ekogocache "github.com/eko/gocache/store/go_cache/v4"
	gocache "github.com/patrickmn/go-cache"

	"github.com/dogpile-go/dogpile/region"
)

const benchKey = "user:42"

func benchRegion(b *testing.B, backend string, args region.Arguments, copts ...region.ConfigOption) *region.Region {
	b.Helper()
	r := region.New("bench")
	if err := r.Configure(backend, append(copts, region.WithArguments(args))...); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Close() })
	if err := r.Set(context.Background(), benchKey, "some value"); err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkHit(b *testing.B) {
	ctx := context.Background()
	b.Run("raw-go-cache", func(b *testing.B) {
		c := gocache.New(gocache.NoExpiration, 0)
		c.Set(benchKey, "some value", gocache.DefaultExpiration)
		b.ReportAllocs()
		for b.Loop() {
			v, ok := c.Get(benchKey)
			if !ok || v.(string) != "some value" {
				b.Fatal("miss")
			}
		}
	})
	b.Run("eko-gocache", func(b *testing.B) {
		store := ekogocache.NewGoCache(gocache.New(gocache.NoExpiration, 0))
		c := ekocache.New[string](store)
		if err := c.Set(ctx, benchKey, "some value"); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if v, err := c.Get(ctx, benchKey); err != nil || v != "some value" {
				b.Fatal("miss", err)
			}
		}
	})
	for _, tc := range []struct {
		name string
		args region.Arguments
		opts []region.ConfigOption
	}{
		{"region-memory", nil, nil},
		{"region-memory-expiring", nil, []region.ConfigOption{region.WithExpirationTime(time.Hour)}},
		{"region-memory-ttl", region.Arguments{"expiration_time": "1h"}, nil},
	} {
		b.Run(tc.name+"/GetAs", func(b *testing.B) {
			r := benchRegion(b, "memory", tc.args, tc.opts...)
			b.ReportAllocs()
			for b.Loop() {
				if v, ok, err := region.GetAs[string](ctx, r, benchKey); !ok || err != nil || v != "some value" {
					b.Fatal("miss", err)
				}
			}
		})
		b.Run(tc.name+"/GetOrCreateAs", func(b *testing.B) {
			r := benchRegion(b, "memory", tc.args, tc.opts...)
			creator := func(context.Context) (string, error) { return "created", nil }
			b.ReportAllocs()
			for b.Loop() {
				if v, err := region.GetOrCreateAs(ctx, r, benchKey, creator); err != nil || v != "some value" {
					b.Fatal("miss", err)
				}
			}
		})
	}
}

func BenchmarkHitParallel(b *testing.B) {
	ctx := context.Background()
	b.Run("raw-go-cache", func(b *testing.B) {
		c := gocache.New(gocache.NoExpiration, 0)
		c.Set(benchKey, "some value", gocache.DefaultExpiration)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, ok := c.Get(benchKey); !ok {
					b.Error("miss")
					return
				}
			}
		})
	})
	b.Run("eko-gocache", func(b *testing.B) {
		c := ekocache.New[string](ekogocache.NewGoCache(gocache.New(gocache.NoExpiration, 0)))
		if err := c.Set(ctx, benchKey, "some value"); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Get(ctx, benchKey); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("region-memory/GetAs", func(b *testing.B) {
		r := benchRegion(b, "memory", nil, region.WithExpirationTime(time.Hour))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, ok, _ := region.GetAs[string](ctx, r, benchKey); !ok {
					b.Error("miss")
					return
				}
			}
		})
	})
}

// BenchmarkStampede: 1,000 goroutines ask for one expired key whose creator
// takes 20 ms. Reported per expiry: creator calls (want exactly 1) and the
// p99 latency of the callers that did not create (they get the old value
// at once).
func BenchmarkStampede(b *testing.B) {
	const (
		callers = 1000
		create  = 20 * time.Millisecond
		exp     = 50 * time.Millisecond
	)
	ctx := context.Background()
	r := benchRegion(b, "memory", nil, region.WithExpirationTime(exp))
	var calls atomic.Int64
	creator := func(context.Context) (any, error) {
		calls.Add(1)
		time.Sleep(create)
		return "fresh", nil
	}
	var latencies []time.Duration
	var mu sync.Mutex
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		key := fmt.Sprint("stampede-", i)
		old := region.CachedValue{Payload: "old", Metadata: region.Metadata{CreatedAt: time.Now().Add(-time.Hour), Version: region.ValueVersion}}
		if err := r.Backend().Set(ctx, key, old); err != nil {
			b.Fatal(err)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := 0; g < callers; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				t0 := time.Now()
				v, err := r.GetOrCreate(ctx, key, creator)
				took := time.Since(t0)
				if err != nil {
					b.Error(err)
				}
				if v == "old" {
					mu.Lock()
					latencies = append(latencies, took)
					mu.Unlock()
				}
			}()
		}
		b.StartTimer()
		close(start)
		wg.Wait()
	}
	b.StopTimer()
	slices.Sort(latencies)
	p99 := time.Duration(0)
	if len(latencies) > 0 {
		p99 = latencies[len(latencies)*99/100]
	}
	b.ReportMetric(float64(calls.Load())/float64(b.N), "creator-calls/expiry")
	b.ReportMetric(float64(p99.Microseconds()), "stale-p99-µs")
	b.ReportMetric(float64(create.Microseconds()), "creator-µs")
}

// BenchmarkFeatureCost: the hit path of region.GetOrCreateAs on memory
// with each opt-in feature on, against the plain region, in the same run.
func BenchmarkFeatureCost(b *testing.B) {
	ctx := context.Background()
	cases := []struct {
		name   string
		opts   []region.Option
		config func(r *region.Region) []region.ConfigOption // options bound to the region
	}{
		{name: "plain"},
		{name: "shared-invalidation", config: func(r *region.Region) []region.ConfigOption {
			return []region.ConfigOption{region.WithInvalidator(region.NewSharedInvalidation(r, region.SharedInvalidationOptions{}))}
		}},
		{name: "fail-safe", opts: []region.Option{region.WithFailSafe(region.FailSafe{Grace: time.Hour, SoftTimeout: time.Second, HardTimeout: time.Minute})}},
		{name: "early-refresh", opts: []region.Option{region.WithEarlyRefresh(1)}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			r := region.New("bench", tc.opts...)
			copts := []region.ConfigOption{region.WithExpirationTime(time.Hour)}
			if tc.config != nil {
				copts = append(copts, tc.config(r)...)
			}
			if err := r.Configure("memory", copts...); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = r.Close() })
			creator := func(context.Context) (string, error) { return "some value", nil }
			if _, err := region.GetOrCreateAs(ctx, r, benchKey, creator); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if v, err := region.GetOrCreateAs(ctx, r, benchKey, creator); err != nil || v != "some value" {
					b.Fatal("miss", err)
				}
			}
		})
	}
}
