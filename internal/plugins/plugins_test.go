package plugins_test

import (
	"slices"
	"strings"
	"testing"

	_ "github.com/dogpile-go/dogpile/backends/gocache"
	_ "github.com/dogpile-go/dogpile/backends/memcache"
	_ "github.com/dogpile-go/dogpile/backends/memory"
	_ "github.com/dogpile-go/dogpile/backends/redis"
	"github.com/dogpile-go/dogpile/internal/plugins"
	_ "github.com/dogpile-go/dogpile/proxies/logging"
	_ "github.com/dogpile-go/dogpile/proxies/metrics"
	"github.com/dogpile-go/dogpile/region"
)

// The table and the registrations agree: with every backend and proxy
// package of the module imported (and nothing else), the registered names
// are exactly the names the table knows, so a new backend name cannot be
// added without its package, nor a name dropped while the table keeps it.
func TestTableMatchesRegistrations(t *testing.T) {
	if got, want := region.RegisteredBackends(), plugins.BackendNames(); !slices.Equal(got, want) {
		t.Errorf("registered backends %v\ntable's backends    %v", got, want)
	}
	if got, want := region.RegisteredProxies(), plugins.ProxyNames(); !slices.Equal(got, want) {
		t.Errorf("registered proxies %v\ntable's proxies    %v", got, want)
	}
	for _, name := range plugins.BackendNames() {
		if !strings.HasPrefix(plugins.BackendPackage(name), plugins.Module+"/backends/") {
			t.Errorf("backend %s: package %q", name, plugins.BackendPackage(name))
		}
	}
}

func TestPackages(t *testing.T) {
	for name, want := range map[string]string{
		"openstack.kvs.Memory":        "github.com/dogpile-go/dogpile/backends/memory",
		"openstack.kvs.Memcached":     "github.com/dogpile-go/dogpile/backends/memcache",
		"dogpile.cache.redis_cluster": "github.com/dogpile-go/dogpile/backends/redis",
		"gocache.redis":               "github.com/dogpile-go/dogpile/backends/gocache",
		"openstack.kvs.Redis":         "",
		"memcache":                    "",
	} {
		if got := plugins.BackendPackage(name); got != want {
			t.Errorf("BackendPackage(%q) = %q; want %q", name, got, want)
		}
	}
	if got := plugins.ProxyPackage("metrics"); got != "github.com/dogpile-go/dogpile/proxies/metrics" {
		t.Errorf("ProxyPackage(metrics) = %q", got)
	}
	if got := plugins.ProxyPackage("memory"); got != "" {
		t.Errorf("ProxyPackage(memory) = %q; want none", got)
	}
}

func TestHint(t *testing.T) {
	memoryOnly := []string{"memory", "memory_serialized", "null", "openstack.kvs.Memory"}
	for _, tc := range []struct {
		kind, name string
		registered []string
		want       []string // substrings
	}{
		// A name of this module, its package not imported.
		{"backend", "openstack.kvs.Memcached", memoryOnly,
			[]string{`add import _ "github.com/dogpile-go/dogpile/backends/memcache"`}},
		{"backend", "dogpile.cache.redis", memoryOnly,
			[]string{`import _ "github.com/dogpile-go/dogpile/backends/redis"`}},
		{"proxy", "metrics", nil,
			[]string{`import _ "github.com/dogpile-go/dogpile/proxies/metrics"`}},
		// A typo of a registered name.
		{"backend", "memroy", memoryOnly, []string{`did you mean "memory"?`}},
		// A typo of a name whose package is not imported.
		{"backend", "memcache", memoryOnly,
			[]string{`did you mean "memcached"?`, `import _ "github.com/dogpile-go/dogpile/backends/memcache"`}},
		{"backend", "openstack.kvs.memcached", memoryOnly,
			[]string{`did you mean "openstack.kvs.Memcached"?`, `backends/memcache"`}},
		// Unknown names: how names get registered.
		{"backend", "openstack.kvs.Redis", memoryOnly, []string{"kvs.Config.Backends"}},
		{"backend", "mycompany.store", memoryOnly, []string{"importing its package", "database/sql"}},
		{"proxy", "audit", []string{"logging"}, []string{"importing its package"}},
	} {
		got := plugins.Hint(tc.kind, tc.name, tc.registered)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("Hint(%s, %q) = %q; want it to contain %q", tc.kind, tc.name, got, w)
			}
		}
	}
}
