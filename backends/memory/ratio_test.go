package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	ekocache "github.com/eko/gocache/lib/v4/cache"
	ekogocache "github.com/eko/gocache/store/go_cache/v4"
	gocache "github.com/patrickmn/go-cache"

	"github.com/dogpile-go/dogpile/internal/benchratio"
	"github.com/dogpile-go/dogpile/region"
)

// TestHitRatios times a hit on raw go-cache, eko/gocache and the region
// over memory in turn, many short samples each, so the machine's load
// falls on all sides alike (see docs/PERFORMANCE.md). It measures two
// caches: one holding only the key read, and one holding 100,000 other
// entries too. In the first, Go's built-in map (under go-cache) finds the
// key without hashing it (maps of up to 8 entries are searched directly),
// which no concurrent map can do; the second is a cache in use. A third
// run gives every side an expiration time (an hour): each hit then reads
// the clock, on either side. It runs only with DOGPILE_PERF=1; with
// DOGPILE_PERF_ASSERT=1 it fails when a target is missed.
func TestHitRatios(t *testing.T) {
	benchratio.Require(t, "the memory hit ratios")
	for _, others := range []int{0, 100_000} {
		t.Run(fmt.Sprintf("%d-other-entries", others), func(t *testing.T) { hitRatios(t, others, 0) })
	}
	t.Run("expiring", func(t *testing.T) { hitRatios(t, 0, time.Hour) })
}

func hitRatios(t *testing.T, others int, expiration time.Duration) {
	ctx := context.Background()
	rawExp := gocache.NoExpiration
	var copts []region.ConfigOption
	if expiration > 0 {
		rawExp = expiration
		copts = append(copts, region.WithExpirationTime(expiration))
	}
	raw := gocache.New(rawExp, 0)
	eko := ekocache.New[string](ekogocache.NewGoCache(gocache.New(rawExp, 0)))
	r := region.New("ratio")
	if err := r.Configure("memory", copts...); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range others + 1 {
		key := fmt.Sprintf("other:%d", i)
		if i == others {
			key = benchKey
		}
		raw.Set(key, "some value", gocache.DefaultExpiration)
		if err := eko.Set(ctx, key, "some value"); err != nil {
			t.Fatal(err)
		}
		if err := r.Set(ctx, key, "some value"); err != nil {
			t.Fatal(err)
		}
	}
	creator := func(context.Context) (string, error) { return "created", nil }
	const loop = 1000
	fns := []func(){
		func() {
			for range loop {
				if _, ok := raw.Get(benchKey); !ok {
					panic("miss")
				}
			}
		},
		func() {
			for range loop {
				if _, err := eko.Get(ctx, benchKey); err != nil {
					panic(err)
				}
			}
		},
		func() {
			for range loop {
				if _, ok, _ := region.GetAs[string](ctx, r, benchKey); !ok {
					panic("miss")
				}
			}
		},
		func() {
			for range loop {
				if _, err := region.GetOrCreateAs(ctx, r, benchKey, creator); err != nil {
					panic(err)
				}
			}
		},
	}
	p10, med := benchratio.SampleCosts(fns, 300, 2*time.Millisecond)
	names := []string{"raw go-cache Get", "eko/gocache Get", "region.GetAs", "region.GetOrCreateAs"}
	for i, n := range names {
		t.Logf("%-22s p10 %6.1f ns/op  median %6.1f ns/op", n, p10[i]/loop, med[i]/loop)
	}
	getAs, getOrCreate, eko2 := p10[2]/p10[0], p10[3]/p10[0], p10[2]/p10[1]
	t.Logf("region.GetAs / raw go-cache = %.2fx (target <= 1.5x); region.GetOrCreateAs / raw = %.2fx (target <= 2x); region.GetAs / eko/gocache = %.2fx (target < 1)", getAs, getOrCreate, eko2)
	if benchratio.Asserting() && (getAs > 1.5 || getOrCreate > 2 || eko2 >= 1) {
		t.Fatal("a hit-path target was missed")
	}
}
