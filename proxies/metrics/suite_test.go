package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dogpile-go/dogpile/proxies/metrics"
	"github.com/dogpile-go/dogpile/region"
	"github.com/dogpile-go/dogpile/region/regiontest"
)

// The generic backend suite, through the metrics proxy: on the memory
// backend (the proxy's fast path) and on a byte backend.
func TestGenericSuiteThroughProxy(t *testing.T) {
	c, err := metrics.NewCollector(metrics.Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	for _, backend := range []string{"memory", "memory_serialized"} {
		t.Run(backend, func(t *testing.T) {
			(&regiontest.Suite{
				Backend: backend,
				Proxies: func() []region.Proxy { return []region.Proxy{c.Proxy()} },
			}).Run(t)
		})
	}
}
