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

// TestFeatureCostRatios times a GetOrCreateAs hit on a plain region and on
// regions with each opt-in feature on (all with a 1 h expiration), in turn,
// many short samples each; then the shared invalidation check again on
// regions without an expiration, whose hits are the cheapest (no clock
// read). The target: the shared invalidation check adds under 20%. It runs only with DOGPILE_PERF=1; with DOGPILE_PERF_ASSERT=1 it
// fails when the target is missed.
func TestFeatureCostRatios(t *testing.T) {
	benchratio.Require(t, "the feature cost ratios")
	ctx := context.Background()
	newRegion := func(opts []region.Option, config func(*region.Region) []region.ConfigOption) *region.Region {
		return featureRegion(t, time.Hour, opts, config)
	}
	shared := func(r *region.Region) []region.ConfigOption {
		return []region.ConfigOption{region.WithInvalidator(region.NewSharedInvalidation(r, region.SharedInvalidationOptions{}))}
	}
	cases := []struct {
		name string
		r    *region.Region
	}{
		{"plain", newRegion(nil, nil)},
		{"shared invalidation", newRegion(nil, shared)},
		{"fail-safe", newRegion([]region.Option{region.WithFailSafe(region.FailSafe{Grace: time.Hour, SoftTimeout: time.Second, HardTimeout: time.Minute})}, nil)},
		{"early refresh", newRegion([]region.Option{region.WithEarlyRefresh(1)}, nil)},
		{"plain, no expiration", featureRegion(t, 0, nil, nil)},
		{"shared, no expiration", featureRegion(t, 0, nil, shared)},
	}
	creator := func(context.Context) (string, error) { return "created", nil }
	const loop = 1000
	var fns []func()
	for _, c := range cases {
		fns = append(fns, func() {
			for range loop {
				if v, err := region.GetOrCreateAs(ctx, c.r, benchKey, creator); err != nil || v != "some value" {
					panic(fmt.Sprint("not a hit: ", v, err))
				}
			}
		})
	}
	p10, med := benchratio.SampleCosts(fns, 300, 2*time.Millisecond)
	for i, c := range cases {
		base := p10[0]
		if i >= 4 {
			base = p10[4]
		}
		t.Logf("%-22s p10 %6.1f ns/op  median %6.1f ns/op  p10 ratio to plain %.2fx", c.name, p10[i]/loop, med[i]/loop, p10[i]/base)
	}
	worst := max(p10[1]/p10[0], p10[5]/p10[4])
	if benchratio.Asserting() && worst >= 1.2 {
		t.Fatalf("shared invalidation makes a hit %.2fx as long, want < 1.2x", worst)
	}
}

// featureRegion is a memory region holding benchKey, with expiration (0:
// none), opts, and the configuration options config makes for it.
func featureRegion(t *testing.T, expiration time.Duration, opts []region.Option, config func(*region.Region) []region.ConfigOption) *region.Region {
	t.Helper()
	r := region.New("ratio", opts...)
	var copts []region.ConfigOption
	if expiration > 0 {
		copts = append(copts, region.WithExpirationTime(expiration))
	}
	if config != nil {
		copts = append(copts, config(r)...)
	}
	if err := r.Configure("memory", copts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	if err := r.Set(context.Background(), benchKey, "some value"); err != nil {
		t.Fatal(err)
	}
	return r
}
