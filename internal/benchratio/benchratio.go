// Package benchratio is for this module's performance tests only: it
// measures what a proxy (or any wrapper) adds to a region hit as a ratio
// of call times taken in the same run, which holds up on a shared machine
// where absolute times do not.
//
// The ratio tests run only with DOGPILE_PERF=1 (see Require); with
// DOGPILE_PERF_ASSERT=1 they also fail when a target is missed (see
// Asserting).
package benchratio

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	_ "github.com/dogpile-go/dogpile/backends/memory" // MemoryRegion's backend
	"github.com/dogpile-go/dogpile/region"
)

// Key and Value are the entry every MemoryRegion holds: the hit that the
// cases read.
const (
	Key   = "user:42"
	Value = "some value"
)

// Case is one region of a hit-path comparison.
type Case struct {
	Name   string
	Region *region.Region
}

// Require skips the test unless DOGPILE_PERF=1; what names what it would
// measure ("set DOGPILE_PERF=1 to measure <what>").
func Require(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("DOGPILE_PERF") != "1" {
		t.Skip("set DOGPILE_PERF=1 to measure " + what)
	}
}

// Asserting reports whether DOGPILE_PERF_ASSERT=1: a ratio test then fails
// when a target is missed (otherwise it only logs the ratios).
func Asserting() bool { return os.Getenv("DOGPILE_PERF_ASSERT") == "1" }

// Passthrough returns a proxy that does nothing: the cost of one more link
// in the chain, which any proxy pays.
func Passthrough() region.Proxy { return &passthrough{} }

type passthrough struct{ region.ProxyBackend }

// MemoryRegion returns a region on the memory backend, wrapped in wrap,
// holding Key, closed when tb ends.
func MemoryRegion(tb testing.TB, wrap ...region.Proxy) *region.Region {
	tb.Helper()
	r := region.New("bench")
	if err := r.Configure("memory", region.WithWrap(wrap...)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	if err := r.Set(context.Background(), Key, Value); err != nil {
		tb.Fatal(err)
	}
	return r
}

// BenchmarkHit benchmarks region.GetAs hits on Key in each case, as
// sub-benchmarks "<name>/GetAs".
func BenchmarkHit(b *testing.B, cases []Case) {
	ctx := context.Background()
	for _, tc := range cases {
		b.Run(tc.Name+"/GetAs", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if v, ok, err := region.GetAs[string](ctx, tc.Region, Key); !ok || err != nil || v != Value {
					b.Fatal("miss", err)
				}
			}
		})
	}
}

// HitCosts measures a region.GetAs hit on Key in each case with
// SampleCosts (rounds samples of about per each) and returns the 10th
// percentile and the median ns/op of each case.
func HitCosts(t *testing.T, cases []Case, rounds int, per time.Duration) (p10, med []float64) {
	t.Helper()
	ctx := context.Background()
	fns := make([]func(), len(cases))
	for i, tc := range cases {
		fns[i] = func() {
			if _, ok, _ := region.GetAs[string](ctx, tc.Region, Key); !ok {
				t.Fatal("miss")
			}
		}
	}
	return SampleCosts(fns, rounds, per)
}

// SampleCosts times fns in turn, rounds times, each sample a loop lasting
// about per, and returns the 10th percentile and the median ns/op of each.
// On a shared machine one long benchmark run after another mostly measures
// the neighbours; of many short samples taken in turn, the fast ones are
// those nothing interrupted.
func SampleCosts(fns []func(), rounds int, per time.Duration) (p10, med []float64) {
	iters := make([]int, len(fns))
	for i, f := range fns { // calibrate: iterations per sample
		n := 1000
		for {
			start := time.Now()
			for range n {
				f()
			}
			if d := time.Since(start); d >= per/4 {
				iters[i] = max(1, int(float64(n)*float64(per)/float64(d)))
				break
			}
			n *= 4
		}
	}
	samples := make([][]float64, len(fns))
	for range rounds {
		for i, f := range fns {
			n := iters[i]
			start := time.Now()
			for range n {
				f()
			}
			samples[i] = append(samples[i], float64(time.Since(start).Nanoseconds())/float64(n))
		}
	}
	p10, med = make([]float64, len(fns)), make([]float64, len(fns))
	for i, s := range samples {
		slices.Sort(s)
		p10[i], med[i] = s[len(s)/10], s[len(s)/2]
	}
	return p10, med
}

// CallMedians times single calls of the named ops in turn, rounds times
// (rotating the order so that none always follows the same neighbour),
// after one warm-up call each (connections dialled), logs each op's median,
// p10 and p90, and returns the medians. It is for calls that take
// microseconds (a round trip to a server), where SampleCosts' loops would
// take too long.
func CallMedians(t testing.TB, ops map[string]func(), rounds int, names ...string) map[string]time.Duration {
	t.Helper()
	times := map[string][]time.Duration{}
	for _, n := range names {
		ops[n]()
	}
	for i := range rounds {
		for j := range names {
			n := names[(i+j)%len(names)]
			start := time.Now()
			ops[n]()
			times[n] = append(times[n], time.Since(start))
		}
	}
	med := map[string]time.Duration{}
	for _, n := range names {
		ts := times[n]
		slices.Sort(ts)
		med[n] = ts[len(ts)/2]
		t.Logf("%-20s median %9v  p10 %9v  p90 %9v  (%d calls)", n, med[n], ts[len(ts)/10], ts[len(ts)*9/10], len(ts))
	}
	return med
}
