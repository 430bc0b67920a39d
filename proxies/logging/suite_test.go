package logging_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/dogpile-go/dogpile/proxies/logging"
	"github.com/dogpile-go/dogpile/region"
	"github.com/dogpile-go/dogpile/region/regiontest"
)

// The generic backend suite, through the logging proxy (logging every
// operation, so that the records' work is on every path): on the memory
// backend (the proxy's fast path) and on a byte backend.
func TestGenericSuiteThroughProxy(t *testing.T) {
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, backend := range []string{"memory", "memory_serialized"} {
		t.Run(backend, func(t *testing.T) {
			(&regiontest.Suite{
				Backend: backend,
				Proxies: func() []region.Proxy { return []region.Proxy{logging.New(logging.Options{Logger: logger})} },
			}).Run(t)
		})
	}
}
