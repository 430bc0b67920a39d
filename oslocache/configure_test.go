package oslocache_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/oslocache"
	"github.com/dogpile-go/dogpile/proxies/logging"
	"github.com/dogpile-go/dogpile/region"
)

func parse(t *testing.T, text string) *oslocache.Config {
	t.Helper()
	c, err := oslocache.Parse("keystone.conf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func configure(t *testing.T, text string, opts ...region.Option) *region.Region {
	t.Helper()
	r := oslocache.CreateRegion("test", opts...)
	if err := parse(t, text).ConfigureCacheRegion(r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestConfigureCacheRegion(t *testing.T) {
	ctx := context.Background()
	r := configure(t, "[cache]\nenabled = true\nbackend = dogpile.cache.memory\nexpiration_time = 300\ndebug_cache_backend = true\n")
	if r.BackendName() != "dogpile.cache.memory" || r.ExpirationTime().Seconds() != 300 {
		t.Errorf("backend %s, expiration %v", r.BackendName(), r.ExpirationTime())
	}
	if _, ok := r.Backend().(*logging.Proxy); !ok {
		t.Errorf("outermost backend %T, want the logging proxy (debug_cache_backend)", r.Backend())
	}
	if err := r.Set(ctx, "user:42", "ada"); err != nil {
		t.Fatal(err)
	}
	// oslo.cache's SHA-1 key mangler: the backend holds the key's hex SHA-1.
	b := r.ActualBackend().(*memory.Backend)
	if _, ok, _ := b.Get(ctx, sha1Hex("user:42")); !ok {
		t.Error("the backend has no value under the key's SHA-1")
	}
	// A region's own key mangler is kept.
	own := configure(t, "[cache]\nenabled = true\nbackend = dogpile.cache.memory\n", region.WithKeyMangler(strings.ToUpper))
	if err := own.Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := own.ActualBackend().(*memory.Backend).Get(ctx, "K"); !ok {
		t.Error("the region's own key mangler was replaced")
	}
	// A configured region is left as it is, as oslo.cache does.
	if err := parse(t, "[cache]\nenabled = true\nbackend = oslo_cache.dict\n").ConfigureCacheRegion(r); err != nil || r.BackendName() != "dogpile.cache.memory" {
		t.Errorf("second configure: %v, backend %s", err, r.BackendName())
	}
}

// TestDisabledCallsCreators: with enabled = false (the default) the region
// gets dogpile.cache.null, so every call runs its creator.
func TestDisabledCallsCreators(t *testing.T) {
	r := configure(t, "[cache]\nbackend = oslo_cache.memcache_pool\nmemcache_servers = 127.0.0.1:1\n")
	if r.BackendName() != oslocache.NullBackend {
		t.Fatalf("backend %s", r.BackendName())
	}
	var calls atomic.Int32
	for range 3 {
		if _, err := r.GetOrCreate(context.Background(), "k", func(context.Context) (any, error) { return calls.Add(1), nil }); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 3 {
		t.Errorf("creator ran %d times, want 3", calls.Load())
	}
}

func TestConfigureErrors(t *testing.T) {
	r := oslocache.CreateRegion("errors")
	// An argument the backend does not know: the region's error.
	err := parse(t, "[cache]\nenabled = true\nbackend = dogpile.cache.memory\nbackend_argument = lokc_timeout:5\n").ConfigureCacheRegion(r)
	var ue *region.UnknownArgumentError
	if !errors.Is(err, region.ErrBadArgument) || !errors.As(err, &ue) || ue.Backend != "dogpile.cache.memory" {
		t.Fatalf("err = %v, want an *UnknownArgumentError for dogpile.cache.memory", err)
	}
	if !strings.Contains(err.Error(), "lokc_timeout") || !strings.Contains(err.Error(), "lock_timeout") {
		t.Errorf("%v does not name the argument and the likely one", err)
	}
	// ... blamed on the line that set it, once.
	var oe *oslocache.OptionError
	if !errors.As(err, &oe) || oe.Option != "backend_argument" || oe.Pos.Line != 4 || oe.Value != "lokc_timeout:5" ||
		err.Error() != `keystone.conf:4: [cache] backend_argument: backend dogpile.cache.memory: unknown argument "lokc_timeout" (did you mean "lock_timeout"?)` {
		t.Errorf("err = %q, want an *OptionError for line 4's backend_argument", err)
	}
	// A value the backend refuses, from an oslo.cache option: that option
	// and its line.
	err = parse(t, "[cache]\nenabled = true\nbackend = dogpile.cache.memcached\nmemcache_dead_retry = 999999999999999\n").ConfigureCacheRegion(r)
	var ae *region.ArgumentError
	if !errors.As(err, &oe) || !errors.As(err, &ae) || !errors.Is(err, region.ErrBadArgument) || !errors.Is(err, oslocache.ErrBadValue) ||
		oe.Option != "memcache_dead_retry" || oe.Pos.Line != 4 || ae.Name != "dead_retry" ||
		!strings.HasPrefix(err.Error(), `keystone.conf:4: [cache] memcache_dead_retry: backend dogpile.cache.memcached: argument "dead_retry": cannot use 999999999999999 as a duration`) {
		t.Errorf("err = %q, want an *OptionError for memcache_dead_retry wrapping the *ArgumentError", err)
	}
	// An argument the backend knows but refuses (dogpile.cache drops a db
	// next to a url): the backend_argument line that set it.
	err = parse(t, "[cache]\nenabled = true\nbackend = dogpile.cache.redis\nbackend_argument = url:redis://127.0.0.1:1/0\nbackend_argument = db:3\n").ConfigureCacheRegion(r)
	var re *region.RefusedArgumentError
	if !errors.As(err, &oe) || !errors.As(err, &re) || oe.Option != "backend_argument" || oe.Pos.Line != 5 || re.Name != "db" ||
		!strings.HasPrefix(err.Error(), `keystone.conf:5: [cache] backend_argument: backend dogpile.cache.redis: argument "db" refused`) {
		t.Errorf("err = %q, want an *OptionError for line 5's backend_argument wrapping the *RefusedArgumentError", err)
	}
	// An argument changed after RegionSettings is not blamed on the file.
	s, err := parse(t, "[cache]\nenabled = true\nbackend = dogpile.cache.memcached\nmemcache_dead_retry = 5\n").RegionSettings()
	if err != nil {
		t.Fatal(err)
	}
	s.Arguments["dead_retry"] = "x"
	err = s.Apply(r)
	if !errors.As(err, &ae) || errors.As(err, &oe) {
		t.Errorf("err = %v, want the region's *ArgumentError alone", err)
	}
	if r.IsConfigured() {
		t.Error("a failed configure left the region configured")
	}
	if err := parse(t, "[cache]\n").ConfigureCacheRegion(nil); err == nil {
		t.Error("nil region accepted")
	}
	// A backend this program does not register: which package to import.
	// The test binary imports backends/memory, backends/memcache and
	// backends/redis, not backends/gocache.
	if region.IsBackendRegistered("gocache.ristretto") {
		t.Fatal("gocache.ristretto is registered in this test binary: this test needs a backend whose package is not imported")
	}
	// (Every oslo.cache name this package accepts is registered here, so
	// the settings name the backend directly.)
	err = (&oslocache.RegionSettings{Backend: "gocache.ristretto", Enabled: true, Arguments: region.Arguments{}}).Apply(r)
	if !errors.Is(err, region.ErrPluginNotFound) || !strings.Contains(err.Error(), `import _ "github.com/dogpile-go/dogpile/backends/gocache"`) {
		t.Errorf("err = %v, want ErrPluginNotFound naming the import of backends/gocache", err)
	}
	if r.IsConfigured() {
		t.Error("a failed configure left the region configured")
	}
}

func TestMemoize(t *testing.T) {
	ctx := context.Background()
	conf := parse(t, `[cache]
enabled = true
backend = dogpile.cache.memory
[token]
caching = false
[catalog]
cache_time = 0
[role]
cache_time = -1
`)
	r := oslocache.CreateRegion("memo")
	if err := conf.ConfigureCacheRegion(r); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	calls := func(name string, opts []region.FuncOption) int32 {
		t.Helper()
		var n atomic.Int32
		f := region.CacheOnArguments(r, name, func(context.Context, int) (int32, error) { return n.Add(1), nil }, opts...)
		for range 3 {
			if _, err := f.Call(ctx, 1); err != nil {
				t.Fatal(err)
			}
		}
		return n.Load()
	}
	for _, c := range []struct {
		name  string
		opts  []region.FuncOption
		calls int32
	}{
		{"token", conf.Memoize("token"), 3},                                             // caching = false: straight to the function
		{"identity", conf.Memoize("identity"), 1},                                       // no such group: defaults, cached
		{"catalog", conf.Memoize("catalog"), 3},                                         // cache_time = 0: every value expired
		{"role", conf.Memoize("role"), 1},                                               // cache_time = -1: never expires
		{"identity-exp-catalog", conf.MemoizeExpirationGroup("identity", "catalog"), 3}, // expiration from [catalog]
		{"token-exp-role", conf.MemoizeExpirationGroup("token", "role"), 3},             // switched by [token]
	} {
		if got := calls("mod:"+c.name, c.opts); got != c.calls {
			t.Errorf("%s: function called %d times for 3 calls, want %d", c.name, got, c.calls)
		}
	}
	if d, ok := conf.CacheTime("role"); !ok || d != region.NoExpiration {
		t.Errorf("CacheTime(role) = %v, %v", d, ok)
	}
	if _, ok := conf.CacheTime("token"); ok {
		t.Error("CacheTime(token) set")
	}
	off := parse(t, "[cache]\nbackend = dogpile.cache.memory\n[token]\ncaching = true\n")
	if off.CachingEnabled("token") {
		t.Error("caching on with [cache] enabled = false")
	}
}
