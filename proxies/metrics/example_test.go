package metrics_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	_ "github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/proxies/metrics"
	"github.com/dogpile-go/dogpile/region"
)

// Install the metrics proxy in code, on a registry of your own, and read
// the counters back as a scrape would.
func ExampleNew() {
	reg := prometheus.NewRegistry() // or prometheus.DefaultRegisterer
	p, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		panic(err)
	}
	r := region.New("users")
	if err := r.Configure("memory", region.WithWrap(p)); err != nil {
		panic(err)
	}
	ctx := context.Background()
	_ = r.Set(ctx, "user:1", "ann")
	_, _, _ = r.Get(ctx, "user:1") // a hit
	_, _, _ = r.Get(ctx, "user:2") // a miss
	// Two misses (before and after taking the creation lock), a creation
	// and a set.
	_, _ = r.GetOrCreate(ctx, "user:3", func(context.Context) (any, error) {
		return "bob", nil
	})

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil && c.GetValue() > 0 {
				fmt.Println(mf.GetName(), labels(m.GetLabel()), c.GetValue())
			}
		}
	}
	// Output:
	// dogpile_creator_calls_total outcome=ok region=users 1
	// dogpile_hits_total region=users 1
	// dogpile_misses_total region=users 3
	// dogpile_sets_total region=users 2
}

// Install the metrics proxy from configuration by its registered name: it
// reports to prometheus.DefaultRegisterer, shared by every region that
// lists it.
func ExampleProxy_fromConfig() {
	r := region.New("sessions")
	err := r.ConfigureFromConfig(map[string]any{
		"cache.backend":         "memory",
		"cache.expiration_time": "600",
		"cache.wrap":            "metrics",
	}, "cache.")
	if err != nil {
		panic(err)
	}
	p := r.Backend().(*metrics.Proxy)
	fmt.Println(p.RegionName())
	// Output: sessions
}

func labels(lps []*dto.LabelPair) string {
	s := ""
	for i, lp := range lps {
		if i > 0 {
			s += " "
		}
		s += lp.GetName() + "=" + lp.GetValue()
	}
	return s
}
