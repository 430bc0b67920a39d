package oslocache

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/internal/pyrun"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// TestPythonInterop: Python's oslo.cache and this package read the same
// keystone.conf and share values on the same memcached: what one sets the
// other reads, under the same (SHA-1 mangled) keys, and a function memoized
// on one side is served from the cache on the other. It needs the
// dogpile.cache memcached backends (backends/memcache), the test memcached
// servers (make test) and Debian's python3-oslo.cache.
func TestPythonInterop(t *testing.T) {
	for _, backend := range []string{"dogpile.cache.memcached", "oslo_cache.memcache_pool", "dogpile.cache.pymemcache"} {
		t.Run(backend, func(t *testing.T) {
			servers := testservers.Memcached(t)
			py := needPython(t)
			path := writeConf(t, "keystone.conf", fmt.Sprintf(`[cache]
enabled = true
backend = %s
memcache_servers = %s
expiration_time = 600

[resource]
cache_time = 300
`, backend, strings.Join(servers, ",")))
			python := func(args ...string) string {
				t.Helper()
				return strings.TrimSpace(string(py.Run(t, pyrun.Script{File: "testdata/oslo_region.py", Args: append([]string{path}, args...)})))
			}
			conf, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			r := CreateRegion("interop")
			if err := conf.ConfigureCacheRegion(r); err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ctx := context.Background()
			key := testservers.UniqueKey(t, "oslo")

			// Python sets, Go reads.
			python("set", key+"-py", `"from python"`)
			if v, ok, err := region.GetAs[string](ctx, r, key+"-py"); err != nil || !ok || v != "from python" {
				t.Fatalf("Go read of Python's value: %q, %v, %v", v, ok, err)
			}
			// Go sets, Python reads.
			if err := r.Set(ctx, key+"-go", "from go"); err != nil {
				t.Fatal(err)
			}
			if got := python("get", key+"-go"); got != `"from go"` {
				t.Fatalf("Python read of Go's value: %s", got)
			}
			// A function memoized in Python is served to Go from the cache.
			arg := key + "-project"
			if got := python("memo", "resource", arg); got != `"python:`+arg+`"` {
				t.Fatalf("Python memoized call: %s", got)
			}
			f := region.CacheOnArguments(r, "__main__:get_project", func(_ context.Context, id string) (string, error) {
				return "go:" + id, nil
			}, conf.Memoize("resource")...)
			got, err := f.Call(ctx, arg)
			if err != nil || got != "python:"+arg {
				t.Fatalf("Go memoized call: %q, %v; want Python's cached value", got, err)
			}
			var fromPython string
			if err := json.Unmarshal([]byte(python("get", f.Key(arg))), &fromPython); err != nil || fromPython != got {
				t.Fatalf("key %q: Python reads %q (%v)", f.Key(arg), fromPython, err)
			}
		})
	}
}
