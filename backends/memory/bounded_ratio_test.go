package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/internal/benchratio"
	"github.com/dogpile-go/dogpile/region"
)

// TestBoundedHitRatios times a hit on raw otter (GetIfPresent, with
// benchBound and an expiry of benchExpiration from each write) and on a
// region over the bounded memory backend with the same bound and
// expiration (GetAs, GetOrCreateAs), in turn, many short samples each (see
// docs/PERFORMANCE.md): single-threaded, then with GOMAXPROCS goroutines
// at once. Both caches also hold benchBound-1 other entries. The target:
// a region hit at most 1.0x a raw otter hit. It runs only with
// DOGPILE_PERF=1; with DOGPILE_PERF_ASSERT=1 it fails when the target is
// missed.
func TestBoundedHitRatios(t *testing.T) {
	benchratio.Require(t, "the bounded memory hit ratios")
	ctx := context.Background()
	raw := rawOtter(t, benchBound, benchExpiration)
	r := region.New("ratio")
	if err := r.Configure("memory", region.WithArguments(region.Arguments{"max_size": benchBound}), region.WithExpirationTime(benchExpiration)); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range benchBound {
		key := "other:" + strconv.Itoa(i)
		if i == benchBound-1 {
			key = benchKey
		}
		raw.Set(key, "some value")
		if err := r.Set(ctx, key, "some value"); err != nil {
			t.Fatal(err)
		}
	}
	raw.CleanUp()
	boundedOf(t, r).CleanUp()
	// The same two without expiration, to show what the clock costs each.
	rawNoExp := otter.Must(&otter.Options[string, string]{MaximumSize: benchBound})
	rawNoExp.Set(benchKey, "some value")
	rNoExp := region.New("ratio")
	if err := rNoExp.Configure("memory", region.WithArguments(region.Arguments{"max_size": benchBound})); err != nil {
		t.Fatal(err)
	}
	defer rNoExp.Close()
	if err := rNoExp.Set(ctx, benchKey, "some value"); err != nil {
		t.Fatal(err)
	}
	creator := func(context.Context) (string, error) { return "created", nil }
	const loop = 1000
	hits := []func(){
		func() {
			for range loop {
				if _, ok := raw.GetIfPresent(benchKey); !ok {
					panic("raw otter: miss")
				}
			}
		},
		func() {
			for range loop {
				if _, ok, _ := region.GetAs[string](ctx, r, benchKey); !ok {
					panic("region.GetAs: miss")
				}
			}
		},
		func() {
			for range loop {
				if v, err := region.GetOrCreateAs(ctx, r, benchKey, creator); err != nil || v != "some value" {
					panic(fmt.Sprint("region.GetOrCreateAs: not a hit: ", v, err))
				}
			}
		},
		func() {
			for range loop {
				if _, ok := rawNoExp.GetIfPresent(benchKey); !ok {
					panic("raw otter: miss")
				}
			}
		},
		func() {
			for range loop {
				if _, ok, _ := region.GetAs[string](ctx, rNoExp, benchKey); !ok {
					panic("region.GetAs: miss")
				}
			}
		},
	}
	names := []string{"raw otter GetIfPresent", "region.GetAs", "region.GetOrCreateAs", "(no expiry) raw otter", "(no expiry) region.GetAs"}
	procs := runtime.GOMAXPROCS(0)
	missed := false
	for _, mode := range []struct {
		name  string
		procs int
	}{{"single-threaded", 1}, {fmt.Sprintf("%d goroutines", procs), procs}} {
		fns := hits
		if mode.procs > 1 {
			fns = make([]func(), len(hits))
			for i, f := range hits {
				fns[i] = inParallel(f, mode.procs)
			}
		}
		p10, med := benchratio.SampleCosts(fns, 300, 2*time.Millisecond)
		per := float64(loop * mode.procs)
		for i, n := range names {
			t.Logf("%s: %-26s p10 %6.1f ns/op  median %6.1f ns/op", mode.name, n, p10[i]/per, med[i]/per)
		}
		getAs, getOrCreate := p10[1]/p10[0], p10[2]/p10[0]
		t.Logf("%s: region.GetAs / raw otter = %.2fx, region.GetOrCreateAs / raw otter = %.2fx (target <= 1.0x)", mode.name, getAs, getOrCreate)
		missed = missed || getAs > 1 || getOrCreate > 1
	}
	if benchratio.Asserting() && missed {
		t.Fatal("a bounded hit-path target was missed")
	}
}

// inParallel returns a function that runs f on procs goroutines at once
// and waits for them: a sample of the cost of a hit under contention.
func inParallel(f func(), procs int) func() {
	return func() {
		var wg sync.WaitGroup
		for range procs {
			wg.Go(f)
		}
		wg.Wait()
	}
}

func boundedOf(t *testing.T, r *region.Region) *memory.Bounded {
	t.Helper()
	b, ok := region.BackendAs[*memory.Bounded](r.ActualBackend())
	if !ok {
		t.Fatalf("%T is not a bounded memory backend", r.ActualBackend())
	}
	return b
}

// TestBoundedHitRatioZipf replays a zipf-distributed trace of keys, over
// many more keys than the bound, on raw otter (GetIfPresent, then Set on a
// miss) and on a region over the bounded memory backend (GetOrCreateAs),
// both bounded to benchBound values, and compares their hit ratios. The
// target: within 1 percentage point of raw otter's. It runs only with
// DOGPILE_PERF=1; with DOGPILE_PERF_ASSERT=1 it fails when the target is
// missed.
func TestBoundedHitRatioZipf(t *testing.T) {
	benchratio.Require(t, "the bounded memory hit ratio")
	const universe, ops = 1_000_000, 1_000_000
	ctx := context.Background()
	worst := 0.0
	for seed := range uint64(3) {
		z := rand.NewZipf(rand.New(rand.NewPCG(seed, 15)), 1.01, 1, universe-1)
		trace := make([]string, ops)
		for i := range trace {
			trace[i] = "k" + strconv.FormatUint(z.Uint64(), 10)
		}
		raw := rawOtter(t, benchBound, benchExpiration)
		rawHits := 0
		for _, k := range trace {
			if _, ok := raw.GetIfPresent(k); ok {
				rawHits++
			} else {
				raw.Set(k, k)
			}
		}
		r := region.New("zipf")
		if err := r.Configure("memory", region.WithArguments(region.Arguments{"max_size": benchBound}), region.WithExpirationTime(benchExpiration)); err != nil {
			t.Fatal(err)
		}
		misses := 0
		creator := func(context.Context) (string, error) { misses++; return "v", nil }
		for _, k := range trace {
			if _, err := region.GetOrCreateAs(ctx, r, k, creator); err != nil {
				t.Fatal(err)
			}
		}
		_ = r.Close()
		rawRatio, regionRatio := float64(rawHits)/ops, float64(ops-misses)/ops
		diff := 100 * (regionRatio - rawRatio)
		worst = max(worst, diff, -diff)
		t.Logf("seed %d: %d reads of %d keys (zipf s=1.01) into %d places: raw otter %.2f%%, region %.2f%% (%+.2f points)",
			seed, ops, universe, benchBound, 100*rawRatio, 100*regionRatio, diff)
	}
	t.Logf("largest difference %.2f points (target <= 1)", worst)
	if benchratio.Asserting() && worst > 1 {
		t.Fatal("the hit ratio target was missed")
	}
}

// TestBoundedMemory measures the heap held by 100,000 entries (after GC,
// runtime.MemStats.HeapAlloc) in raw otter and in a region over the
// bounded memory backend, both bounded to 100,000 values with a 1 h
// expiration, holding the same keys and string values (which are not
// counted: both sides share them). The target: at most 1.3x raw otter's.
// It runs only with DOGPILE_PERF=1; with DOGPILE_PERF_ASSERT=1 it fails
// when the target is missed.
func TestBoundedMemory(t *testing.T) {
	benchratio.Require(t, "the bounded memory footprint")
	const n = 100_000
	ctx := context.Background()
	keys, values := make([]string, n), make([]string, n)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
		values[i] = "the value of user " + strconv.Itoa(i)
	}
	before := heapInUse()
	raw := rawOtter(t, n, benchExpiration)
	for i, k := range keys {
		raw.Set(k, values[i])
	}
	raw.CleanUp()
	rawBytes := heapInUse() - before
	if s := raw.EstimatedSize(); s != n {
		t.Fatalf("raw otter holds %d entries, want %d", s, n)
	}
	raw.InvalidateAll()
	raw.StopAllGoroutines()
	raw = nil

	before = heapInUse()
	r := region.New("footprint")
	if err := r.Configure("memory", region.WithArguments(region.Arguments{"max_size": n}), region.WithExpirationTime(benchExpiration)); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, k := range keys {
		if err := r.Set(ctx, k, values[i]); err != nil {
			t.Fatal(err)
		}
	}
	b := boundedOf(t, r)
	b.CleanUp()
	regionBytes := heapInUse() - before
	if s := b.Len(); s != n {
		t.Fatalf("the region holds %d entries, want %d", s, n)
	}
	ratio := float64(regionBytes) / float64(rawBytes)
	t.Logf("%d entries: raw otter %d B (%d B/entry), region %d B (%d B/entry): %.2fx (target <= 1.3x)",
		n, rawBytes, rawBytes/n, regionBytes, regionBytes/n, ratio)
	runtime.KeepAlive(keys)
	runtime.KeepAlive(values)
	if benchratio.Asserting() && ratio > 1.3 {
		t.Fatal("the memory target was missed")
	}
}

// heapInUse is the heap in use after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
