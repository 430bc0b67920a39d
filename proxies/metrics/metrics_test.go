package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	_ "github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/internal/backendtest"
	"github.com/dogpile-go/dogpile/proxies/metrics"
	"github.com/dogpile-go/dogpile/region"
)

// sample reads one series from g: a counter's value, or a histogram's
// sample count. It fails the test when the series does not exist.
func sample(t *testing.T, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	v, ok := lookup(t, g, name, labels...)
	if !ok {
		t.Fatalf("no series %s%v", name, labels)
	}
	return v
}

func lookup(t *testing.T, g prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if v, ok := want[lp.GetName()]; !ok || v != lp.GetValue() {
					continue metrics
				}
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), true
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount()), true
			default:
				t.Fatalf("%s: unexpected type %v", name, mf.GetType())
			}
		}
	}
	return 0, false
}

func configured(t *testing.T, name string, reg prometheus.Registerer) (*region.Region, *metrics.Proxy) {
	t.Helper()
	p, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	r := region.New(name)
	if err := r.Configure("memory", region.WithWrap(p)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r, p
}

// TestCountsMatchOperations does a known mix of operations through a region
// and checks every counter against it.
func TestCountsMatchOperations(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	r, p := configured(t, "ops", reg)
	if got := p.RegionName(); got != "ops" {
		t.Fatalf("RegionName = %q, want the region's name", got)
	}

	var hits, misses, sets, deletes float64

	// N sets.
	const n = 5
	for i := range n {
		if err := r.Set(ctx, fmt.Sprint("k", i), i); err != nil {
			t.Fatal(err)
		}
	}
	sets += n
	// M hits.
	const m = 7
	for i := range m {
		if _, ok, err := r.Get(ctx, fmt.Sprint("k", i%n)); err != nil || !ok {
			t.Fatalf("Get: %v %v", ok, err)
		}
	}
	hits += m
	// K misses.
	const k = 3
	for i := range k {
		if _, ok, err := r.Get(ctx, fmt.Sprint("absent", i)); err != nil || ok {
			t.Fatalf("Get absent: %v %v", ok, err)
		}
	}
	misses += k
	// GetMulti counts per key: 2 found, 1 not.
	if _, err := r.GetMulti(ctx, []string{"k0", "k1", "absent"}); err != nil {
		t.Fatal(err)
	}
	hits, misses = hits+2, misses+1
	// SetMulti and DeleteMulti count per key.
	if err := r.SetMulti(ctx, map[string]any{"a": 1, "b": 2}); err != nil {
		t.Fatal(err)
	}
	sets += 2
	if err := r.Delete(ctx, "k0"); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteMulti(ctx, []string{"a", "b", "never-set"}); err != nil {
		t.Fatal(err)
	}
	deletes += 4

	// A failing creator: a miss before the lock and a miss after it, no set.
	boom := errors.New("boom")
	if _, err := r.GetOrCreate(ctx, "fails", func(context.Context) (any, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("GetOrCreate with failing creator: %v", err)
	}
	misses += 2
	// A creation: two misses, one set; then a hit.
	for range 2 {
		if v, err := r.GetOrCreate(ctx, "made", func(context.Context) (any, error) { return "v", nil }); err != nil || v != "v" {
			t.Fatalf("GetOrCreate: %v %v", v, err)
		}
	}
	misses, sets, hits = misses+2, sets+1, hits+1

	// A lock wait: two callers on one missing key, the creator slow. The
	// leader misses twice (before and after taking the lock) and sets; the
	// other misses once, then waits for the leader's value.
	started, release := make(chan struct{}), make(chan struct{})
	slow := func(context.Context) (any, error) {
		close(started)
		<-release
		return "slow", nil
	}
	var wg sync.WaitGroup
	results := make([]any, 2)
	wg.Go(func() {
		v, err := r.GetOrCreate(ctx, "slow", slow)
		if err != nil {
			t.Error(err)
		}
		results[0] = v
	})
	<-started
	wg.Go(func() {
		v, err := r.GetOrCreate(ctx, "slow", func(context.Context) (any, error) {
			t.Error("second creator ran")
			return nil, nil
		})
		if err != nil {
			t.Error(err)
		}
		results[1] = v
	})
	// The second caller's miss comes just before it joins the wait: once it
	// is counted (the leader's two, then this one), give it a moment more.
	backendtest.AwaitJoined(t, func() bool { return sample(t, reg, "dogpile_misses_total", "region", "ops") >= misses+3 })
	close(release)
	wg.Wait()
	if results[0] != "slow" || results[1] != "slow" {
		t.Fatalf("results = %v", results)
	}
	misses, sets = misses+3, sets+1

	for _, c := range []struct {
		name string
		want float64
	}{
		{"dogpile_hits_total", hits},
		{"dogpile_misses_total", misses},
		{"dogpile_sets_total", sets},
		{"dogpile_deletes_total", deletes},
	} {
		if got := sample(t, reg, c.name, "region", "ops"); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	for _, op := range []string{"get", "get_multi", "set", "set_multi", "delete", "delete_multi"} {
		if got := sample(t, reg, "dogpile_errors_total", "region", "ops", "op", op); got != 0 {
			t.Errorf("errors{op=%s} = %v, want 0", op, got)
		}
	}
	for _, c := range []struct {
		name    string
		outcome string
		want    float64
	}{
		{"dogpile_creator_calls_total", "ok", 2},
		{"dogpile_creator_calls_total", "error", 1},
		{"dogpile_creator_duration_seconds", "ok", 2},
		{"dogpile_creator_duration_seconds", "error", 1},
	} {
		if got := sample(t, reg, c.name, "region", "ops", "outcome", c.outcome); got != c.want {
			t.Errorf("%s{outcome=%s} = %v, want %v", c.name, c.outcome, got, c.want)
		}
	}
	if got := sample(t, reg, "dogpile_lock_waits_total", "region", "ops"); got != 1 {
		t.Errorf("lock_waits_total = %v, want 1", got)
	}
	if got := sample(t, reg, "dogpile_lock_wait_duration_seconds", "region", "ops"); got != 1 {
		t.Errorf("lock_wait_duration_seconds count = %v, want 1", got)
	}
	// The waiter waited at least the 50ms the test held the creator.
	if got := histogramSum(t, reg, "dogpile_lock_wait_duration_seconds"); got < 0.05 {
		t.Errorf("lock wait recorded %vs, want at least 0.05s", got)
	}
}

func histogramSum(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return sum
}

// A backend whose every call fails with backendtest.ErrDown.
func init() { backendtest.RegisterFailing("metrics_test.failing") }

func TestErrorsByOperation(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	p, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	r := region.New("down")
	if err := r.Configure("metrics_test.failing", region.WithWrap(p)); err != nil {
		t.Fatal(err)
	}
	calls := []error{}
	_, _, err = r.Get(ctx, "k")
	calls = append(calls, err)
	_, err = r.GetMulti(ctx, []string{"a", "b"})
	calls = append(calls, err)
	calls = append(calls, r.Set(ctx, "k", 1), r.Set(ctx, "k", 2))
	calls = append(calls, r.SetMulti(ctx, map[string]any{"a": 1}))
	calls = append(calls, r.Delete(ctx, "k"))
	calls = append(calls, r.DeleteMulti(ctx, []string{"a", "b"}))
	for i, err := range calls {
		if !errors.Is(err, backendtest.ErrDown) {
			t.Errorf("call %d: err = %v, want backendtest.ErrDown", i, err)
		}
	}
	want := map[string]float64{"get": 1, "get_multi": 1, "set": 2, "set_multi": 1, "delete": 1, "delete_multi": 1}
	for op, n := range want {
		if got := sample(t, reg, "dogpile_errors_total", "region", "down", "op", op); got != n {
			t.Errorf("errors{op=%s} = %v, want %v", op, got, n)
		}
	}
	for _, name := range []string{"dogpile_hits_total", "dogpile_misses_total", "dogpile_sets_total", "dogpile_deletes_total"} {
		if got := sample(t, reg, name, "region", "down"); got != 0 {
			t.Errorf("%s = %v after failed calls, want 0", name, got)
		}
	}
}

// TestExposition checks the metric names, help, types and labels as a
// scrape sees them.
func TestExposition(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	r, _ := configured(t, "expo", reg)
	if err := r.Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Get(ctx, "nope"); err != nil {
		t.Fatal(err)
	}
	expected := `
# HELP dogpile_deletes_total Keys deleted from the backend (DeleteMulti counts each key).
# TYPE dogpile_deletes_total counter
dogpile_deletes_total{region="expo"} 0
# HELP dogpile_errors_total Backend calls that returned an error, by operation.
# TYPE dogpile_errors_total counter
dogpile_errors_total{op="delete",region="expo"} 0
dogpile_errors_total{op="delete_multi",region="expo"} 0
dogpile_errors_total{op="get",region="expo"} 0
dogpile_errors_total{op="get_multi",region="expo"} 0
dogpile_errors_total{op="set",region="expo"} 0
dogpile_errors_total{op="set_multi",region="expo"} 0
# HELP dogpile_hits_total Backend reads that found a value (GetMulti counts each key).
# TYPE dogpile_hits_total counter
dogpile_hits_total{region="expo"} 1
# HELP dogpile_misses_total Backend reads that found no value (GetMulti counts each key).
# TYPE dogpile_misses_total counter
dogpile_misses_total{region="expo"} 1
# HELP dogpile_sets_total Values written to the backend (SetMulti counts each key).
# TYPE dogpile_sets_total counter
dogpile_sets_total{region="expo"} 1
# HELP dogpile_creator_calls_total Creator calls made by GetOrCreate and friends, by outcome (ok, error).
# TYPE dogpile_creator_calls_total counter
dogpile_creator_calls_total{outcome="error",region="expo"} 0
dogpile_creator_calls_total{outcome="ok",region="expo"} 0
# HELP dogpile_lock_waits_total Callers that waited for another caller's creation of a key (the dogpile lock).
# TYPE dogpile_lock_waits_total counter
dogpile_lock_waits_total{region="expo"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expected),
		"dogpile_hits_total", "dogpile_misses_total", "dogpile_sets_total", "dogpile_deletes_total",
		"dogpile_errors_total", "dogpile_creator_calls_total", "dogpile_lock_waits_total"); err != nil {
		t.Error(err)
	}
	// Both histograms exist, one series per outcome for creations.
	if n := testutil.CollectAndCount(collectorOf(t, reg), "dogpile_creator_duration_seconds"); n != 2 {
		t.Errorf("creator_duration_seconds series = %d, want 2", n)
	}
	if n := testutil.CollectAndCount(collectorOf(t, reg), "dogpile_lock_wait_duration_seconds"); n != 1 {
		t.Errorf("lock_wait_duration_seconds series = %d, want 1", n)
	}
}

// collectorOf returns the Collector registered in reg (NewCollector hands
// back the registered one).
func collectorOf(t *testing.T, reg prometheus.Registerer) *metrics.Collector {
	t.Helper()
	c, err := metrics.NewCollector(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestObserverCalls drives the region.Observer methods directly.
func TestObserverCalls(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	p.SetRegionName("obs")
	ctx := context.Background()
	p.ObserveCreation(ctx, "a", 20*time.Millisecond, nil)
	p.ObserveCreation(ctx, "b", 30*time.Millisecond, nil)
	p.ObserveCreation(ctx, "c", time.Second, errors.New("x"))
	p.ObserveLockWait(ctx, "a", 2*time.Second)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"dogpile_creator_calls_total", []string{"region", "obs", "outcome", "ok"}, 2},
		{"dogpile_creator_calls_total", []string{"region", "obs", "outcome", "error"}, 1},
		{"dogpile_creator_duration_seconds", []string{"region", "obs", "outcome", "ok"}, 2},
		{"dogpile_creator_duration_seconds", []string{"region", "obs", "outcome", "error"}, 1},
		{"dogpile_lock_waits_total", []string{"region", "obs"}, 1},
		{"dogpile_lock_wait_duration_seconds", []string{"region", "obs"}, 1},
	} {
		if got := sample(t, reg, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := histogramSum(t, reg, "dogpile_creator_duration_seconds"); got < 1.049 || got > 1.051 {
		t.Errorf("creator duration sum = %v, want 1.05", got)
	}
	if got := histogramSum(t, reg, "dogpile_lock_wait_duration_seconds"); got != 2 {
		t.Errorf("lock wait sum = %v, want 2", got)
	}
}

// TestSharedCollector: many proxies on one Registerer share one Collector,
// each labelled with its own region.
func TestSharedCollector(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	c1, err := metrics.NewCollector(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := metrics.NewCollector(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 {
		t.Fatal("second NewCollector on the same registry built a new collector")
	}
	ra, pa := configured(t, "a", reg)
	rb, pb := configured(t, "b", reg)
	if pa.Collector() != c1 || pb.Collector() != c1 {
		t.Fatal("proxies do not share the registered collector")
	}
	for range 3 {
		_, _, _ = ra.Get(ctx, "x")
	}
	_, _, _ = rb.Get(ctx, "x")
	if got := sample(t, reg, "dogpile_misses_total", "region", "a"); got != 3 {
		t.Errorf("misses{a} = %v, want 3", got)
	}
	if got := sample(t, reg, "dogpile_misses_total", "region", "b"); got != 1 {
		t.Errorf("misses{b} = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(c1, "dogpile_misses_total"); n != 2 {
		t.Errorf("misses series = %d, want 2 (one per region)", n)
	}

	// A different namespace is a different collector on the same registry.
	c3, err := metrics.NewCollector(metrics.Options{Registerer: reg, Namespace: "app", Subsystem: "cache"})
	if err != nil {
		t.Fatal(err)
	}
	if c3 == c1 {
		t.Fatal("other namespace reused the default collector")
	}
	p3 := c3.Proxy()
	r3 := region.New("ns")
	if err := r3.Configure("memory", region.WithWrap(p3)); err != nil {
		t.Fatal(err)
	}
	_, _, _ = r3.Get(ctx, "x")
	if got := sample(t, reg, "app_cache_misses_total", "region", "ns"); got != 1 {
		t.Errorf("app_cache_misses_total = %v, want 1", got)
	}

	// Wrapped registerers (constant labels) reuse too.
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"service": "api"}, reg)
	w1, err := metrics.NewCollector(metrics.Options{Registerer: wrapped, Namespace: "w"})
	if err != nil {
		t.Fatal(err)
	}
	w2, err := metrics.NewCollector(metrics.Options{Registerer: wrapped, Namespace: "w"})
	if err != nil || w1 != w2 {
		t.Fatalf("wrapped registerer: second collector %p (err %v), want %p", w2, err, w1)
	}
	pw := w1.Proxy()
	pw.SetRegionName("wr")
	pw.ObserveLockWait(ctx, "k", time.Millisecond)
	if got := sample(t, reg, "w_lock_waits_total", "region", "wr", "service", "api"); got != 1 {
		t.Errorf("w_lock_waits_total{service=api} = %v, want 1", got)
	}
}

// Proxies naming the same region add up, and renaming a proxy never makes
// the old region's counters go down (Prometheus counters only grow).
func TestSameRegionNameAddsUp(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	r1, p1 := configured(t, "twin", reg)
	r2, _ := configured(t, "twin", reg)
	for _, r := range []*region.Region{r1, r2, r2} {
		if err := r.Set(ctx, "k", "v"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := region.GetAs[string](ctx, r, "k"); !ok || err != nil {
			t.Fatalf("hit expected: %v %v", ok, err)
		}
	}
	if got := sample(t, reg, "dogpile_hits_total", "region", "twin"); got != 3 {
		t.Fatalf("hits{twin} = %v, want 3 (1 + 2 from two regions of that name)", got)
	}
	p1.SetRegionName("renamed")
	if _, ok, _ := region.GetAs[string](ctx, r1, "k"); !ok {
		t.Fatal("hit expected")
	}
	if got := sample(t, reg, "dogpile_hits_total", "region", "twin"); got != 3 {
		t.Errorf("hits{twin} after renaming = %v, want still 3", got)
	}
	if got := sample(t, reg, "dogpile_hits_total", "region", "renamed"); got != 1 {
		t.Errorf("hits{renamed} = %v, want 1", got)
	}
}

func TestRegistrationConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dogpile_hits_total", Help: "other"}, []string{"x"}))
	if _, err := metrics.New(metrics.Options{Registerer: reg}); err == nil {
		t.Fatal("New succeeded over a conflicting metric")
	}
}

// TestFromConfig installs the proxy by its registered name in two regions,
// which share the collector registered on the default registry.
func TestFromConfig(t *testing.T) {
	ctx := context.Background()
	var regions []*region.Region
	for _, name := range []string{"conf-a", "conf-b"} {
		r := region.New(name)
		if err := r.ConfigureFromConfig(map[string]any{"c.backend": "memory", "c.wrap": "metrics"}, "c."); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		if _, ok := r.Backend().(*metrics.Proxy); !ok {
			t.Fatalf("Backend() = %T, want *metrics.Proxy", r.Backend())
		}
		regions = append(regions, r)
	}
	// The default registry is process-wide (and -count=N reruns this
	// test), so compare deltas.
	g := prometheus.DefaultGatherer
	read := func(name, regionName string) float64 {
		v, _ := lookup(t, g, name, "region", regionName)
		return v
	}
	hits0, misses0, sets0 := read("dogpile_hits_total", "conf-a"), read("dogpile_misses_total", "conf-b"), read("dogpile_sets_total", "conf-a")
	if err := regions[0].Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	_, _, _ = regions[0].Get(ctx, "k")
	_, _, _ = regions[1].Get(ctx, "k")
	if got := read("dogpile_hits_total", "conf-a") - hits0; got != 1 {
		t.Errorf("hits{conf-a} grew by %v, want 1", got)
	}
	if got := read("dogpile_misses_total", "conf-b") - misses0; got != 1 {
		t.Errorf("misses{conf-b} grew by %v, want 1", got)
	}
	if got := read("dogpile_sets_total", "conf-a") - sets0; got != 1 {
		t.Errorf("sets{conf-a} grew by %v, want 1", got)
	}
	// Both regions report to the one collector on the default registry.
	if regions[0].Backend().(*metrics.Proxy).Collector() != regions[1].Backend().(*metrics.Proxy).Collector() {
		t.Error("regions configured by name do not share a collector")
	}
	if !contains(region.RegisteredProxies(), metrics.ProxyName) {
		t.Errorf("RegisteredProxies() = %v, want %q in it", region.RegisteredProxies(), metrics.ProxyName)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestRegionName: a proxy used outside a region reports region="", and
// Region.Wrap names it.
func TestRegionName(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	p, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	mem, err := region.NewBackend("memory", nil)
	if err != nil {
		t.Fatal(err)
	}
	p.SetProxied(mem)
	if _, _, err := p.Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if got := sample(t, reg, "dogpile_misses_total", "region", ""); got != 1 {
		t.Errorf(`misses{region=""} = %v, want 1`, got)
	}

	r := region.New("wrapped-later")
	if err := r.Configure("memory"); err != nil {
		t.Fatal(err)
	}
	q, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Wrap(q); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if got := sample(t, reg, "dogpile_misses_total", "region", "wrapped-later"); got != 1 {
		t.Errorf("misses{wrapped-later} = %v, want 1", got)
	}
	if _, ok := lookup(t, reg, "dogpile_hits_total", "region", "wrapped-later"); !ok {
		t.Error("series for the region were not created when it was named")
	}
}

// TestHitPathAllocs: the proxy adds no allocation to a read.
func TestHitPathAllocs(t *testing.T) {
	ctx := context.Background()
	r, _ := configured(t, "allocs", prometheus.NewRegistry())
	if err := r.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	hit := testing.AllocsPerRun(1000, func() { _, _, _ = region.GetAs[string](ctx, r, "k") })
	miss := testing.AllocsPerRun(1000, func() { _, _, _ = region.GetAs[string](ctx, r, "nope") })

	plain := region.New("plain")
	if err := plain.Configure("memory"); err != nil {
		t.Fatal(err)
	}
	if err := plain.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	base := testing.AllocsPerRun(1000, func() { _, _, _ = region.GetAs[string](ctx, plain, "k") })
	if hit != base {
		t.Errorf("hit allocs with metrics = %v, without = %v", hit, base)
	}
	if miss != base {
		t.Errorf("miss allocs with metrics = %v, want %v", miss, base)
	}
}
