package metrics_test

// Hit-path cost of the metrics proxy: region.GetAs hits on the memory
// backend without proxies, with a do-nothing proxy (the cost of one more
// link in the chain) and with the metrics proxy, in the same run. See
// docs/observability.md for the ratios and the command that reproduces them.

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	_ "github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/internal/benchratio"
	"github.com/dogpile-go/dogpile/proxies/metrics"
	"github.com/dogpile-go/dogpile/region"
)

func benchRegions(tb testing.TB) []benchratio.Case {
	tb.Helper()
	p, err := metrics.New(metrics.Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		tb.Fatal(err)
	}
	return []benchratio.Case{
		{Name: "memory", Region: benchratio.MemoryRegion(tb)},
		{Name: "memory+passthrough", Region: benchratio.MemoryRegion(tb, benchratio.Passthrough())},
		{Name: "memory+metrics", Region: benchratio.MemoryRegion(tb, p)},
	}
}

func BenchmarkHit(b *testing.B) { benchratio.BenchmarkHit(b, benchRegions(b)) }

func BenchmarkHitParallel(b *testing.B) {
	ctx := context.Background()
	for _, tc := range benchRegions(b) {
		b.Run(tc.Name+"/GetAs", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, ok, _ := region.GetAs[string](ctx, tc.Region, benchratio.Key); !ok {
						b.Error("miss")
						return
					}
				}
			})
		})
	}
}

// TestHitCostRatio measures the proxy's cost on a memory hit as a ratio.
// On a shared machine one long benchmark run after another mostly measures
// the neighbours, so it takes many short samples (about 2ms each) of every
// case in turn and compares their 10th percentiles (and shows the medians):
// the fast samples are the ones nothing interrupted. It runs only with
// DOGPILE_PERF=1; with DOGPILE_PERF_ASSERT=1 it fails when the proxy adds
// 20% or more.
func TestHitCostRatio(t *testing.T) {
	benchratio.Require(t, "the hit-path cost ratio")
	regions := benchRegions(t)
	p10, med := benchratio.HitCosts(t, regions, 400, 2*time.Millisecond)
	for i, tc := range regions {
		t.Logf("%-20s p10 %6.1f ns/op  median %6.1f ns/op", tc.Name, p10[i], med[i])
	}
	ratio := p10[2] / p10[0]
	t.Logf("memory+passthrough / memory = %.3fx (medians %.3fx)", p10[1]/p10[0], med[1]/med[0])
	t.Logf("memory+metrics / memory = %.3fx (medians %.3fx); target < 1.20x", ratio, med[2]/med[0])
	if benchratio.Asserting() && ratio >= 1.20 {
		t.Errorf("the metrics proxy makes a memory hit %.3fx as long, want < 1.20x", ratio)
	}
}
