package memcache_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/benchratio"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// fleetUser is the small dict of the fleet benchmarks.
type fleetUser struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

var fleetValue = map[string]any{"id": 42, "name": "ada", "roles": []any{"admin", "reader"}}

// fleetBenchEnv holds the same small dict under one key, on one server,
// written by the project's own "memcached" backend (msgpack, SHA-1 keys)
// and by dogpile.cache.memcached (a pickled CachedValue, protocol 0), and
// 100 keys over three servers written by both and read by raw gomemcache.
type fleetBenchEnv struct {
	ctx               context.Context
	native, dogpile   *region.Region     // one server
	native3, dogpile3 *region.Region     // three servers
	raw3              *gomemcache.Client // python-memcached's placement
	raw3Modulo        *gomemcache.Client // gomemcache's own (CRC-32 modulo)
	nativeKeys        []string           // the 100 keys as memcached stores them (SHA-1)
	key               string
	keys              []string // the 100 keys (dogpile's are stored unmangled)
}

func newFleetBenchEnv(tb testing.TB) *fleetBenchEnv {
	tb.Helper()
	s := testservers.MemcachedN(tb, 3)
	e := &fleetBenchEnv{ctx: context.Background()}
	e.native = newRegion(tb, "memcached", region.Arguments{"url": s[0]})
	e.dogpile = newRegion(tb, memcache.NameDogpileMemcached, region.Arguments{"url": s[0]})
	e.native3 = newRegion(tb, "memcached", region.Arguments{"url": s})
	e.dogpile3 = newRegion(tb, memcache.NameDogpileMemcached, region.Arguments{"url": s})
	sel, err := memcache.NewPythonMemcacheSelector(s...)
	if err != nil {
		tb.Fatal(err)
	}
	e.raw3 = gomemcache.NewFromSelector(sel)
	e.raw3.Timeout, e.raw3.MaxIdleConns = 3*time.Second, 16
	e.raw3Modulo = gomemcache.New(s...)
	e.raw3Modulo.Timeout, e.raw3Modulo.MaxIdleConns = 3*time.Second, 16
	tb.Cleanup(func() { _ = e.raw3.Close(); _ = e.raw3Modulo.Close() })
	p := testservers.UniqueKey(tb, "")
	e.key = p + "user"
	for _, r := range []*region.Region{e.native, e.dogpile} {
		if err := r.Set(e.ctx, e.key, fleetValue); err != nil {
			tb.Fatal(err)
		}
	}
	m := map[string]any{}
	for i := range 100 {
		k := fmt.Sprintf("%smulti-%d", p, i)
		e.keys = append(e.keys, k)
		e.nativeKeys = append(e.nativeKeys, region.SHA1MangleKey(k))
		m[k] = fleetValue
	}
	for _, r := range []*region.Region{e.native3, e.dogpile3} {
		if err := r.SetMulti(e.ctx, m); err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

func (e *fleetBenchEnv) ops(tb testing.TB) map[string]func() {
	fail := func(ok bool, err error) {
		if err != nil || !ok {
			tb.Fatal(ok, err)
		}
	}
	get := func(r *region.Region) func() {
		return func() { _, ok, err := r.Get(e.ctx, e.key); fail(ok, err) }
	}
	getAs := func(r *region.Region) func() {
		return func() { _, ok, err := region.GetAs[fleetUser](e.ctx, r, e.key); fail(ok, err) }
	}
	multi := func(r *region.Region) func() {
		return func() {
			vs, err := r.GetMulti(e.ctx, e.keys)
			fail(err == nil && vs[99] != region.NoValue, err)
		}
	}
	return map[string]func(){
		"native_hit":        get(e.native),
		"dogpile_hit":       get(e.dogpile),
		"native_hit_typed":  getAs(e.native),
		"dogpile_hit_typed": getAs(e.dogpile),
		"native_get_multi":  multi(e.native3),
		"dogpile_get_multi": multi(e.dogpile3),
		"raw_get_multi": func() {
			items, err := e.raw3.GetMulti(e.keys)
			fail(len(items) == 100, err)
		},
		"raw_get_multi_modulo": func() {
			items, err := e.raw3Modulo.GetMulti(e.nativeKeys)
			fail(len(items) == 100, err)
		},
	}
}

// BenchmarkFleetHit compares a region hit on a pickled CachedValue
// (dogpile.cache.memcached) with one on the project's own msgpack value
// (memcached), same server, same small dict.
func BenchmarkFleetHit(b *testing.B) {
	ops := newFleetBenchEnv(b).ops(b)
	for _, n := range []string{"native_hit", "dogpile_hit", "native_hit_typed", "dogpile_hit_typed"} {
		b.Run(n, func(b *testing.B) {
			for b.Loop() {
				ops[n]()
			}
		})
	}
}

// BenchmarkFleetGetMulti100 compares GetMulti of 100 keys over three
// servers: dogpile.cache.memcached (python-memcached's placement),
// memcached, and raw gomemcache.
func BenchmarkFleetGetMulti100(b *testing.B) {
	ops := newFleetBenchEnv(b).ops(b)
	for _, n := range []string{"dogpile_get_multi", "native_get_multi", "raw_get_multi", "raw_get_multi_modulo"} {
		b.Run(n, func(b *testing.B) {
			for b.Loop() {
				ops[n]()
			}
		})
	}
}

// TestFleetPerformanceRatios measures the mixed-fleet targets in one run,
// timing the sides alternately call by call and comparing medians (see
// TestPerformanceRatios). Runs with DOGPILE_PERF=1; DOGPILE_PERF_ASSERT=1
// fails on a missed target.
func TestFleetPerformanceRatios(t *testing.T) {
	benchratio.Require(t, "the mixed-fleet performance ratios")
	ops := newFleetBenchEnv(t).ops(t)
	paired := func(rounds int, names ...string) map[string]time.Duration {
		return benchratio.CallMedians(t, ops, rounds, names...)
	}
	h := paired(5000, "native_hit", "dogpile_hit", "native_hit_typed", "dogpile_hit_typed")
	m := paired(500, "dogpile_get_multi", "native_get_multi", "raw_get_multi", "raw_get_multi_modulo")
	hit := float64(h["dogpile_hit"]) / float64(h["native_hit"])
	typed := float64(h["dogpile_hit_typed"]) / float64(h["native_hit_typed"])
	t.Logf("hit on a pickled CachedValue / hit on a msgpack value = %.2fx (typed GetAs: %.2fx); target <= 2x", hit, typed)
	t.Logf("GetMulti of 100 over 3 servers: dogpile.cache.memcached / memcached = %.2fx, dogpile.cache.memcached / raw gomemcache = %.2fx, memcached / raw = %.2fx",
		float64(m["dogpile_get_multi"])/float64(m["native_get_multi"]), float64(m["dogpile_get_multi"])/float64(m["raw_get_multi"]),
		float64(m["native_get_multi"])/float64(m["raw_get_multi"]))
	t.Logf("raw gomemcache GetMulti of 100: python-memcached's placement / gomemcache's CRC-32 modulo = %.2fx",
		float64(m["raw_get_multi"])/float64(m["raw_get_multi_modulo"]))
	if benchratio.Asserting() && hit > 2 {
		t.Errorf("a hit on a pickled CachedValue takes %.2fx a msgpack hit, want <= 2x", hit)
	}
}
