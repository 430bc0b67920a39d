package memory_test

// Hit-path benchmarks of the bounded memory backend against raw otter
// with the same bound and expiration, in the same run. See
// docs/PERFORMANCE.md for the ratios and the command that reproduces them.

import (
	"context"
	"testing"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/dogpile-go/dogpile/region"
)

const (
	benchBound      = 10_000
	benchExpiration = time.Hour
)

// rawOtter is the cache a user would build with otter alone: the same
// bound, and the region's expiration as otter's expiry from each write.
func rawOtter(tb testing.TB, bound int, exp time.Duration) *otter.Cache[string, string] {
	tb.Helper()
	c := otter.Must(&otter.Options[string, string]{
		MaximumSize:      bound,
		ExpiryCalculator: otter.ExpiryWriting[string, string](exp),
	})
	tb.Cleanup(func() { c.StopAllGoroutines() })
	return c
}

func BenchmarkBoundedHit(b *testing.B) {
	ctx := context.Background()
	b.Run("raw-otter", func(b *testing.B) {
		c := rawOtter(b, benchBound, benchExpiration)
		c.Set(benchKey, "some value")
		b.ReportAllocs()
		for b.Loop() {
			if v, ok := c.GetIfPresent(benchKey); !ok || v != "some value" {
				b.Fatal("miss")
			}
		}
	})
	b.Run("region-bounded/GetAs", func(b *testing.B) {
		r := benchRegion(b, "memory", region.Arguments{"max_size": benchBound}, region.WithExpirationTime(benchExpiration))
		b.ReportAllocs()
		for b.Loop() {
			if v, ok, err := region.GetAs[string](ctx, r, benchKey); !ok || err != nil || v != "some value" {
				b.Fatal("miss", err)
			}
		}
	})
	b.Run("region-bounded/GetOrCreateAs", func(b *testing.B) {
		r := benchRegion(b, "memory", region.Arguments{"max_size": benchBound}, region.WithExpirationTime(benchExpiration))
		creator := func(context.Context) (string, error) { return "created", nil }
		b.ReportAllocs()
		for b.Loop() {
			if v, err := region.GetOrCreateAs(ctx, r, benchKey, creator); err != nil || v != "some value" {
				b.Fatal("miss", err)
			}
		}
	})
}

func BenchmarkBoundedHitParallel(b *testing.B) {
	ctx := context.Background()
	b.Run("raw-otter", func(b *testing.B) {
		c := rawOtter(b, benchBound, benchExpiration)
		c.Set(benchKey, "some value")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, ok := c.GetIfPresent(benchKey); !ok {
					b.Error("miss")
					return
				}
			}
		})
	})
	b.Run("region-bounded/GetAs", func(b *testing.B) {
		r := benchRegion(b, "memory", region.Arguments{"max_size": benchBound}, region.WithExpirationTime(benchExpiration))
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
	b.Run("region-bounded/GetOrCreateAs", func(b *testing.B) {
		r := benchRegion(b, "memory", region.Arguments{"max_size": benchBound}, region.WithExpirationTime(benchExpiration))
		creator := func(context.Context) (string, error) { return "created", nil }
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := region.GetOrCreateAs(ctx, r, benchKey, creator); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
