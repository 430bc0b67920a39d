package metrics_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/proxies/logging"
	"github.com/dogpile-go/dogpile/proxies/metrics"
	"github.com/dogpile-go/dogpile/region"
)

var _ metrics.EvictionReporter = (*memory.Bounded)(nil)

// fill writes n distinct keys into r, then runs the bounded backend's
// pending maintenance so that its eviction count is exact.
func fill(t *testing.T, r *region.Region, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		if err := r.Set(ctx, fmt.Sprint(prefix, i), i); err != nil {
			t.Fatal(err)
		}
	}
	b, ok := region.BackendAs[*memory.Bounded](r.ActualBackend())
	if !ok {
		t.Fatalf("region %q is on %T, not a bounded memory backend", r.Name(), r.ActualBackend())
	}
	b.CleanUp()
}

// TestEvictionsExported: a region on the bounded memory backend exports
// its evictions, exactly, as dogpile_evictions_total{region}; a region on
// a backend without a bound has no such series.
func TestEvictionsExported(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	r := region.New("bounded")
	// Another proxy between the metrics proxy and the backend: the metrics
	// proxy still finds the backend under it.
	if err := r.Configure("memory", region.WithArguments(region.Arguments{"max_size": 50}),
		region.WithWrap(p, logging.New(logging.Options{}))); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, _ = configured(t, "unbounded", reg)

	expected := `
# HELP dogpile_evictions_total Values the backend evicted to stay within its size bound (backends with a bound only).
# TYPE dogpile_evictions_total counter
dogpile_evictions_total{region="bounded"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expected), "dogpile_evictions_total"); err != nil {
		t.Fatalf("before any eviction: %v", err)
	}
	fill(t, r, "k", 80)
	if got := sample(t, reg, "dogpile_evictions_total", "region", "bounded"); got != 30 {
		t.Fatalf("evictions{bounded} = %v after 80 keys into 50 places, want 30", got)
	}
	if _, ok := lookup(t, reg, "dogpile_evictions_total", "region", "unbounded"); ok {
		t.Fatal("a region on the unbounded memory backend exports evictions")
	}
}

// TestEvictionsSurviveBackendReplacement: the count is per region name and
// never goes down; a replacing backend adds to it.
func TestEvictionsSurviveBackendReplacement(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	r := region.New("replaced")
	if err := r.Configure("memory", region.WithArguments(region.Arguments{"max_size": 10}), region.WithWrap(p)); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fill(t, r, "a", 25)
	p2, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Configure("memory", region.WithArguments(region.Arguments{"max_size": 10}),
		region.WithWrap(p2), region.WithReplaceExistingBackend()); err != nil {
		t.Fatal(err)
	}
	if got := sample(t, reg, "dogpile_evictions_total", "region", "replaced"); got != 15 {
		t.Fatalf("evictions after replacing the backend = %v, want still 15", got)
	}
	fill(t, r, "b", 12)
	if got := sample(t, reg, "dogpile_evictions_total", "region", "replaced"); got != 17 {
		t.Fatalf("evictions = %v, want 15 + 2 from the new backend", got)
	}
}

// TestEvictionsFromConfig: the registered "metrics" proxy exports the
// evictions of a bounded memory region configured from a flat map.
func TestEvictionsFromConfig(t *testing.T) {
	r := region.New("evictions_from_config")
	if err := r.ConfigureFromConfig(map[string]any{
		"cache.backend":            "memory",
		"cache.arguments.max_size": "5",
		"cache.wrap":               "metrics",
	}, "cache."); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fill(t, r, "k", 9)
	if got := sample(t, prometheus.DefaultGatherer, "dogpile_evictions_total", "region", "evictions_from_config"); got != 4 {
		t.Fatalf("evictions = %v, want 4", got)
	}
}

// TestEvictionsWhateverTheOrder: the evictions series is exported for the
// proxy's region name whether the name is set before or after the bounded
// backend, and for a proxy used without a region (name "").
func TestEvictionsWhateverTheOrder(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, err := metrics.NewCollector(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	bounded := func() *memory.Bounded {
		b, err := memory.NewBounded(memory.BoundedOptions{MaxSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	}
	nameFirst := c.Proxy()
	nameFirst.SetRegionName("name-first")
	nameFirst.SetProxied(bounded())
	backendFirst := c.Proxy()
	backendFirst.SetProxied(bounded())
	backendFirst.SetRegionName("backend-first")
	unnamed := c.Proxy()
	unnamed.SetProxied(bounded())
	if _, _, err := unnamed.Get(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"name-first", "backend-first", ""} {
		if _, ok := lookup(t, reg, "dogpile_evictions_total", "region", name); !ok {
			t.Errorf("no evictions series for region %q", name)
		}
	}
}
