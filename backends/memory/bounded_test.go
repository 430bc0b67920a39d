package memory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/region"
	"github.com/dogpile-go/dogpile/region/regiontest"
)

func TestBoundedBackend(t *testing.T) {
	regiontest.RunBackendTests(t, "memory", region.Arguments{"max_size": 10_000})
}

func TestBoundedBackendWithTTL(t *testing.T) {
	regiontest.RunBackendTests(t, "memory", region.Arguments{"max_size": "10000", "expiration_time": "1h"})
}

func TestBoundedBackendByWeight(t *testing.T) {
	regiontest.RunBackendTests(t, "memory", region.Arguments{"max_weight": 1 << 20, "weigher": memory.Weigher(func(key string, _ any) uint32 { return uint32(len(key)) })})
}

// boundedRegion is a region on the memory backend with args, and its
// bounded backend.
func boundedRegion(t *testing.T, args region.Arguments, opts ...region.ConfigOption) (*region.Region, *memory.Bounded) {
	t.Helper()
	r := region.New("bounded")
	if err := r.Configure("memory", append(opts, region.WithArguments(args))...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	b, ok := region.BackendAs[*memory.Bounded](r.ActualBackend())
	if !ok {
		t.Fatalf("memory with %v is a %T, want a *memory.Bounded", args, r.ActualBackend())
	}
	return r, b
}

// TestBoundedEvictionCounts: writing n distinct keys into a cache bounded
// to m < n values leaves exactly m and counts exactly n-m evictions, once
// pending maintenance has run (CleanUp). Overwrites, deletes and reads
// evict nothing.
func TestBoundedEvictionCounts(t *testing.T) {
	ctx := context.Background()
	const bound, writes = 100, 1000
	r, b := boundedRegion(t, region.Arguments{"max_size": bound})
	for i := range bound {
		if err := r.Set(ctx, fmt.Sprint("k", i), i); err != nil {
			t.Fatal(err)
		}
	}
	// Up to the bound: nothing is evicted, whatever else happens.
	for i := range bound {
		if err := r.Set(ctx, fmt.Sprint("k", i), -i); err != nil { // overwrite
			t.Fatal(err)
		}
		if _, ok, err := r.Get(ctx, fmt.Sprint("k", i)); !ok || err != nil {
			t.Fatalf("k%d: Get = %v, %v", i, ok, err)
		}
	}
	if err := r.Delete(ctx, "k0"); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ctx, "k0", 0); err != nil {
		t.Fatal(err)
	}
	b.CleanUp()
	if n, l := b.Evictions(), b.Len(); n != 0 || l != bound {
		t.Fatalf("at the bound: %d evictions, %d values; want 0 and %d", n, l, bound)
	}
	for i := bound; i < writes; i++ {
		if err := r.Set(ctx, fmt.Sprint("k", i), i); err != nil {
			t.Fatal(err)
		}
	}
	b.CleanUp()
	if n, l := b.Evictions(), b.Len(); n != writes-bound || l != bound {
		t.Fatalf("after %d distinct keys: %d evictions, %d values; want %d and %d", writes, n, l, writes-bound, bound)
	}
	// The region sees exactly the values the backend kept.
	found := 0
	for i := range writes {
		if _, ok, err := r.Get(ctx, fmt.Sprint("k", i)); err != nil {
			t.Fatal(err)
		} else if ok {
			found++
		}
	}
	if found != bound {
		t.Fatalf("the region finds %d keys, want %d", found, bound)
	}
}

// TestBoundedConcurrentEvictionCounts: the counts stay exact when many
// goroutines write at once.
func TestBoundedConcurrentEvictionCounts(t *testing.T) {
	ctx := context.Background()
	const bound, writers, per = 500, 8, 1000
	b, err := memory.NewBounded(memory.BoundedOptions{MaxSize: bound})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				key := fmt.Sprint(w, ":", i)
				_ = b.Set(ctx, key, region.CachedValue{Payload: i})
				_, _, _ = b.Get(ctx, key)
			}
		})
	}
	wg.Wait()
	b.CleanUp()
	if n, l := b.Evictions(), b.Len(); n != writers*per-bound || l != bound {
		t.Fatalf("%d evictions, %d values; want %d and %d", n, l, writers*per-bound, bound)
	}
}

// TestBoundedKeepsFrequentKeys: W-TinyLFU keeps keys read often through a
// scan of many keys written once, where an LRU would lose them.
func TestBoundedKeepsFrequentKeys(t *testing.T) {
	ctx := context.Background()
	const bound, hot = 100, 10
	r, b := boundedRegion(t, region.Arguments{"max_size": bound}, region.WithExpirationTime(time.Hour))
	// Fill the cache first: its frequency sketch counts reads only once
	// the cache is half full.
	for i := range bound {
		if err := r.Set(ctx, fmt.Sprint("fill", i), i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range hot {
		if err := r.Set(ctx, fmt.Sprint("hot", i), i); err != nil {
			t.Fatal(err)
		}
	}
	b.CleanUp()
	for range 20 {
		for i := range hot {
			if _, ok, _ := r.Get(ctx, fmt.Sprint("hot", i)); !ok {
				t.Fatalf("hot%d missing before the scan", i)
			}
		}
		b.CleanUp() // the reads reach the policy
	}
	const scan = 20 * bound
	for i := range scan {
		if err := r.Set(ctx, fmt.Sprint("scan", i), i); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			b.CleanUp()
		}
	}
	b.CleanUp()
	for i := range hot {
		if _, ok, _ := r.Get(ctx, fmt.Sprint("hot", i)); !ok {
			t.Errorf("hot%d was evicted by a scan of keys written once", i)
		}
	}
	if n, want := b.Evictions(), uint64(hot+scan); n != want {
		t.Errorf("%d evictions after %d writes into %d places, want %d", n, bound+hot+scan, bound, want)
	}
}

// TestBoundedWeight: with max_weight and a weigher, the total weight stays
// within the bound and evictions are counted.
func TestBoundedWeight(t *testing.T) {
	ctx := context.Background()
	weigher := func(_ string, payload any) uint32 { return uint32(len(payload.(string))) }
	r, b := boundedRegion(t, region.Arguments{"max_weight": "1000", "weigher": weigher})
	for i := range 100 {
		if err := r.Set(ctx, fmt.Sprint("k", i), strings.Repeat("x", 100)); err != nil {
			t.Fatal(err)
		}
	}
	b.CleanUp()
	if n, l := b.Evictions(), b.Len(); n != 90 || l != 10 {
		t.Fatalf("100 values of weight 100 under max_weight 1000: %d evictions, %d values; want 90 and 10", n, l)
	}
}

// TestBoundedTTL: expiration_time is a hard TTL from each write; values
// it drops are not evictions.
func TestBoundedTTL(t *testing.T) {
	ctx := context.Background()
	r, b := boundedRegion(t, region.Arguments{"max_size": 10, "expiration_time": "200ms"})
	if err := r.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := r.Get(ctx, "k"); !ok || v != "v" {
		t.Fatalf("Get right after Set = %v, %v", v, ok)
	}
	// The value is gone from reads at once, and from the cache at the next
	// clean-up after otter's timer wheel reaches it (about a second).
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, ok, _ := r.ActualBackend().Get(ctx, "k")
		b.CleanUp()
		if !ok && b.Len() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10s after a 200ms expiration_time: found %v, %d values", ok, b.Len())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := b.Evictions(); n != 0 {
		t.Fatalf("the TTL counted %d evictions, want 0", n)
	}
}

// TestBoundedKeepsExpiredValues: the backend keeps a value past the
// region's expiration (the region, not the cache, judges it), so the
// dogpile lock can serve it while one caller regenerates.
func TestBoundedKeepsExpiredValues(t *testing.T) {
	ctx := context.Background()
	r, _ := boundedRegion(t, region.Arguments{"max_size": 10}, region.WithExpirationTime(time.Minute))
	old := region.CachedValue{Payload: "old", Metadata: region.Metadata{CreatedAt: time.Now().Add(-time.Hour), Version: region.ValueVersion}}
	if err := r.Backend().Set(ctx, "k", old); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Get(ctx, "k"); ok {
		t.Fatal("a value an hour old reads as fresh in a region with a 1 minute expiration")
	}
	if v, ok, _ := r.Get(ctx, "k", region.IgnoreExpiration()); !ok || v != "old" {
		t.Fatalf("Get with IgnoreExpiration = %v, %v; the backend dropped the expired value", v, ok)
	}
	v, err := region.GetOrCreateAs(ctx, r, "k", func(context.Context) (string, error) { return "new", nil })
	if err != nil || v != "new" {
		t.Fatalf("GetOrCreateAs = %v, %v", v, err)
	}
}

// TestBoundedReportEvictions: the function given to ReportEvictions sees
// every eviction, until it is replaced.
func TestBoundedReportEvictions(t *testing.T) {
	ctx := context.Background()
	b, err := memory.NewBounded(memory.BoundedOptions{MaxSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var mu sync.Mutex
	reported := uint64(0)
	b.ReportEvictions(func(n uint64) { mu.Lock(); reported += n; mu.Unlock() })
	for i := range 50 {
		_ = b.Set(ctx, fmt.Sprint(i), region.CachedValue{Payload: i})
	}
	b.CleanUp()
	b.ReportEvictions(nil)
	for i := 50; i < 60; i++ {
		_ = b.Set(ctx, fmt.Sprint(i), region.CachedValue{Payload: i})
	}
	b.CleanUp()
	mu.Lock()
	defer mu.Unlock()
	if reported != 40 || b.Evictions() != 50 {
		t.Fatalf("reported %d, counted %d; want 40 (until ReportEvictions(nil)) and 50", reported, b.Evictions())
	}
}

// TestBoundedHitAllocs: a hit through region.GetAs and GetOrCreateAs
// allocates nothing.
func TestBoundedHitAllocs(t *testing.T) {
	ctx := context.Background()
	r, _ := boundedRegion(t, region.Arguments{"max_size": 100}, region.WithExpirationTime(time.Hour))
	if err := r.Set(ctx, benchKey, "some value"); err != nil {
		t.Fatal(err)
	}
	creator := func(context.Context) (string, error) { return "created", nil }
	if n := testing.AllocsPerRun(1000, func() {
		if v, ok, err := region.GetAs[string](ctx, r, benchKey); !ok || err != nil || v != "some value" {
			t.Fatal("miss", err)
		}
	}); n != 0 {
		t.Errorf("region.GetAs hit: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if v, err := region.GetOrCreateAs(ctx, r, benchKey, creator); err != nil || v != "some value" {
			t.Fatal("miss", err)
		}
	}); n != 0 {
		t.Errorf("region.GetOrCreateAs hit: %v allocs, want 0", n)
	}
}

// TestBoundedArguments: bad bounds are refused, naming the argument.
func TestBoundedArguments(t *testing.T) {
	weigher := func(string, any) uint32 { return 1 }
	for _, tc := range []struct {
		name string
		args region.Arguments
		arg  string // the argument the error names
		want string // in the message
	}{
		{"zero size", region.Arguments{"max_size": 0}, "max_size", "positive"},
		{"negative size", region.Arguments{"max_size": "-5"}, "max_size", "positive"},
		{"size not a number", region.Arguments{"max_size": "10k"}, "max_size", "integer"},
		{"zero weight", region.Arguments{"max_weight": 0, "weigher": weigher}, "max_weight", "positive"},
		{"both bounds", region.Arguments{"max_size": 10, "max_weight": 10, "weigher": weigher}, "max_weight", "max_size"},
		{"weight without weigher", region.Arguments{"max_weight": 10}, "max_weight", "weigher"},
		{"weigher without weight", region.Arguments{"max_size": 10, "weigher": weigher}, "weigher", "max_weight"},
		{"weigher alone", region.Arguments{"weigher": weigher}, "weigher", "max_weight"},
		{"weigher of another type", region.Arguments{"max_weight": 10, "weigher": func(string) int { return 1 }}, "weigher", "func(key string, value any) uint32"},
		{"cleanup_interval", region.Arguments{"max_size": 10, "cleanup_interval": "1m"}, "cleanup_interval", "removes values past expiration_time itself"},
		{"bad expiration_time", region.Arguments{"max_size": 10, "expiration_time": "soon"}, "expiration_time", "duration"},
		{"cleanup_interval without expiration_time", region.Arguments{"cleanup_interval": "1m"}, "cleanup_interval", "with expiration_time"},
		{"cleanup_interval with expiration_time 0", region.Arguments{"expiration_time": 0, "cleanup_interval": 0}, "cleanup_interval", "nothing to sweep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := region.NewBackend("memory", tc.args)
			var ae *region.ArgumentError
			if !errors.Is(err, region.ErrBadArgument) || !errors.As(err, &ae) {
				t.Fatalf("NewBackend = %T, %v; want an *ArgumentError", b, err)
			}
			if ae.Name != tc.arg || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q names %q; want %q and %q", err, ae.Name, tc.arg, tc.want)
			}
		})
	}
	// Without a bound argument, memory is the unbounded backend.
	b, err := region.NewBackend("memory", region.Arguments{"expiration_time": "1h", "cleanup_interval": "1m"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.(*memory.Backend).Close()
	// A misspelt bound is refused with a hint.
	_, err = region.NewBackend("memory", region.Arguments{"maxsize": 10})
	var ue *region.UnknownArgumentError
	if !errors.As(err, &ue) || ue.Suggestions["maxsize"] != "max_size" {
		t.Fatalf("maxsize: err = %v, want an unknown argument with \"did you mean max_size\"", err)
	}
}

// TestNewBoundedOptions: NewBounded refuses options that do not set
// exactly one bound.
func TestNewBoundedOptions(t *testing.T) {
	w := func(string, any) uint32 { return 1 }
	for _, o := range []memory.BoundedOptions{
		{},
		{MaxSize: -1},
		{MaxSize: 1, MaxWeight: 1, Weigher: w},
		{MaxWeight: 1},
		{MaxSize: 1, Weigher: w},
	} {
		if b, err := memory.NewBounded(o); !errors.Is(err, memory.ErrBadBound) {
			t.Errorf("NewBounded(%+v) = %v, %v; want ErrBadBound", o, b, err)
		}
	}
}
