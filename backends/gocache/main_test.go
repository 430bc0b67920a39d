package gocache_test

import (
	"context"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dogpile-go/dogpile/region"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(envChildRole); role != "" {
		// A child process of the cross-process tests (see child_test.go).
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(m)
}

// newRegion configures a region on backend, closed when the test ends.
func newRegion(t testing.TB, backend string, args region.Arguments, opts ...region.ConfigOption) *region.Region {
	t.Helper()
	return newRegionWith(t, nil, backend, args, opts...)
}

// newRegionWith is newRegion with region options.
func newRegionWith(t testing.TB, ropts []region.Option, backend string, args region.Arguments, opts ...region.ConfigOption) *region.Region {
	t.Helper()
	r := region.New(t.Name(), ropts...)
	if err := r.Configure(backend, append([]region.ConfigOption{region.WithArguments(args)}, opts...)...); err != nil {
		t.Fatalf("Configure(%q): %v", backend, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
