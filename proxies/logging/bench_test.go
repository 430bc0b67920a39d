package logging_test

// Hit-path cost of the logging proxy: region.GetAs hits on the memory
// backend without proxies, with a do-nothing proxy (the cost of one more
// link in the chain) and with the logging proxy, its operation level off
// (the production case) and on (to a discarding JSON handler), in the same
// run. See docs/observability.md for the ratios and the command that
// reproduces them.

import (
	"log/slog"
	"testing"
	"time"

	_ "github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/internal/benchratio"
	"github.com/dogpile-go/dogpile/proxies/logging"
)

func benchRegions(tb testing.TB) []benchratio.Case {
	tb.Helper()
	info := slog.New(slog.NewJSONHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	debug := slog.New(slog.NewJSONHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return []benchratio.Case{
		{Name: "memory", Region: benchratio.MemoryRegion(tb)},
		{Name: "memory+passthrough", Region: benchratio.MemoryRegion(tb, benchratio.Passthrough())},
		{Name: "memory+logging-off", Region: benchratio.MemoryRegion(tb, logging.New(logging.Options{Logger: info}))},
		{Name: "memory+logging-default-off", Region: benchratio.MemoryRegion(tb, logging.New(logging.Options{}))}, // slog.Default(), Info
		{Name: "memory+logging-on", Region: benchratio.MemoryRegion(tb, logging.New(logging.Options{Logger: debug}))},
	}
}

func BenchmarkHit(b *testing.B) { benchratio.BenchmarkHit(b, benchRegions(b)) }

// TestHitCostRatio measures the proxy's cost on a memory hit as ratios. On
// a shared machine one long benchmark run after another mostly measures the
// neighbours, so it takes many short samples (about 2ms each) of every case
// in turn and compares their 10th percentiles (and shows the medians): the
// fast samples are the ones nothing interrupted. It runs only with
// DOGPILE_PERF=1; with DOGPILE_PERF_ASSERT=1 it fails when the proxy with
// its level off adds 50% or more (the cost of asking the handler whether the
// level is enabled: two interface calls, about 5 ns, on a 20 ns hit).
func TestHitCostRatio(t *testing.T) {
	benchratio.Require(t, "the hit-path cost ratios")
	cases := benchRegions(t)
	p10, med := benchratio.HitCosts(t, cases, 400, 2*time.Millisecond)
	for i, tc := range cases {
		t.Logf("%-28s p10 %7.1f ns/op  median %7.1f ns/op", tc.Name, p10[i], med[i])
	}
	for i := 1; i < len(cases); i++ {
		t.Logf("%s / memory = %.3fx (medians %.3fx)", cases[i].Name, p10[i]/p10[0], med[i]/med[0])
	}
	if ratio := p10[2] / p10[0]; benchratio.Asserting() && ratio >= 1.50 {
		t.Errorf("the logging proxy (level off) makes a memory hit %.3fx as long, want < 1.50x", ratio)
	}
}
