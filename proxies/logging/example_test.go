package logging_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	_ "github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/proxies/logging"
	"github.com/dogpile-go/dogpile/region"
)

// Install the logging proxy in code. The handler drops the time and the
// duration so the output is fixed.
func ExampleNew() {
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == logging.KeyDuration {
				return slog.Attr{}
			}
			return a
		},
	})
	r := region.New("users")
	if err := r.Configure("memory", region.WithWrap(logging.New(logging.Options{Logger: slog.New(h)}))); err != nil {
		panic(err)
	}
	ctx := context.Background()
	_ = r.Set(ctx, "user:1", "ann")
	_, _, _ = r.Get(ctx, "user:1")
	_, _ = r.GetOrCreate(ctx, "user:2", func(context.Context) (any, error) {
		return nil, errors.New("no such user")
	})
	// Output:
	// level=DEBUG msg="cache set" region=users op=set key=user:1
	// level=DEBUG msg="cache get" region=users op=get key=user:1 found=true
	// level=DEBUG msg="cache get" region=users op=get key=user:2 found=false
	// level=DEBUG msg="cache get" region=users op=get key=user:2 found=false
	// level=WARN msg="cache creation" region=users op=create key=user:2 error="no such user"
}

// Log only creations (the misses that ran a creator) and errors, at Info
// and above, leaving every other operation at Debug.
func ExampleOptions_creationsOnly() {
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelInfo,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == logging.KeyDuration {
				return slog.Attr{}
			}
			return a
		},
	})
	p := logging.New(logging.Options{Logger: slog.New(h), CreationLevel: slog.LevelInfo})
	r := region.New("reports")
	if err := r.Configure("memory", region.WithWrap(p)); err != nil {
		panic(err)
	}
	ctx := context.Background()
	for range 3 {
		_, _ = r.GetOrCreate(ctx, "daily", func(context.Context) (any, error) { return "report", nil })
	}
	// Output:
	// level=INFO msg="cache creation" region=reports op=create key=daily
}

// Install the logging proxy from configuration by its registered name; it
// logs to slog.Default().
func ExampleProxy_fromConfig() {
	r := region.New("sessions")
	err := r.ConfigureFromConfig(map[string]any{
		"cache.backend": "memory",
		"cache.wrap":    "logging",
	}, "cache.")
	if err != nil {
		panic(err)
	}
	p := r.Backend().(*logging.Proxy)
	fmt.Println(p.RegionName())
	// Output: sessions
}
