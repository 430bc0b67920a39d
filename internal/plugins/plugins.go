// Package plugins knows which package of this module registers each
// backend and proxy name, so that an error about a name this program has
// not registered can say which package to import. Backends and proxies
// register themselves in init, as database/sql drivers do, so a program
// that does not import backends/memcache has no "memcached" backend; the
// region's ErrPluginNotFound names the import that would give it one.
package plugins

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dogpile-go/dogpile/internal/suggest"
)

// Module is the import path of this module.
const Module = "github.com/dogpile-go/dogpile"

// backendPackages maps every backend name a package of this module
// registers to that package (relative to Module).
var backendPackages = map[string]string{
	"memory":                      "backends/memory",
	"memory_serialized":           "backends/memory",
	"null":                        "backends/memory",
	"openstack.kvs.Memory":        "backends/memory",
	"dogpile.cache.memory":        "backends/memory",
	"dogpile.cache.memory_pickle": "backends/memory",
	"dogpile.cache.null":          "backends/memory",
	"oslo_cache.dict":             "backends/memory",

	"memcached":                "backends/memcache",
	"openstack.kvs.Memcached":  "backends/memcache",
	"dogpile.cache.memcached":  "backends/memcache",
	"dogpile.cache.pymemcache": "backends/memcache",
	"dogpile.cache.pylibmc":    "backends/memcache",
	"dogpile.cache.bmemcached": "backends/memcache",
	"oslo_cache.memcache_pool": "backends/memcache",

	"dogpile.cache.redis":          "backends/redis",
	"dogpile.cache.redis_sentinel": "backends/redis",
	"dogpile.cache.redis_cluster":  "backends/redis",

	"gocache":           "backends/gocache",
	"gocache.go_cache":  "backends/gocache",
	"gocache.ristretto": "backends/gocache",
	"gocache.redis":     "backends/gocache",
	"gocache.memcache":  "backends/gocache",
}

// proxyPackages maps every proxy name a package of this module registers
// to that package (relative to Module).
var proxyPackages = map[string]string{
	"logging": "proxies/logging",
	"metrics": "proxies/metrics",
}

// BackendPackage returns the import path of the package of this module
// that registers the backend name, or "" when none does.
func BackendPackage(name string) string { return qualified(backendPackages[name]) }

// ProxyPackage returns the import path of the package of this module that
// registers the proxy name, or "" when none does.
func ProxyPackage(name string) string { return qualified(proxyPackages[name]) }

// BackendNames returns every backend name a package of this module
// registers, sorted.
func BackendNames() []string { return sortedKeys(backendPackages) }

// ProxyNames returns every proxy name a package of this module registers,
// sorted.
func ProxyNames() []string { return sortedKeys(proxyPackages) }

func qualified(pkg string) string {
	if pkg == "" {
		return ""
	}
	return Module + "/" + pkg
}

func sortedKeys(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Hint is what an error about an unregistered backend (kind "backend") or
// proxy (kind "proxy") adds after the list of registered names: the import
// that registers it when a package of this module does; else the name
// meant, when name looks like a typo of a registered name or of one a
// package of this module registers (with that package's import when it is
// not registered); else how names get registered. registered lists the
// names registered in this program.
func Hint(kind, name string, registered []string) string {
	pkgOf := BackendPackage
	known := BackendNames()
	if kind == "proxy" {
		pkgOf, known = ProxyPackage, ProxyNames()
	}
	if pkg := pkgOf(name); pkg != "" {
		return fmt.Sprintf("package %s registers it: add import _ %q", pkg, pkg)
	}
	candidates := slices.Concat(registered, known)
	if meant := suggest.Closest(name, candidates); meant != "" {
		if slices.Contains(registered, meant) {
			return fmt.Sprintf("did you mean %q?", meant)
		}
		pkg := pkgOf(meant)
		return fmt.Sprintf("did you mean %q? (package %s registers it: add import _ %q)", meant, pkg, pkg)
	}
	if kind == "proxy" {
		return "a proxy is registered by importing its package (import _ \"<package path>\")"
	}
	if strings.HasPrefix(name, "openstack.kvs.") {
		return "openstack.kvs.<Name> backends other than Memory and Memcached are aliases from kvs.Config.Backends, or a backend's own registration"
	}
	return "a backend is registered by importing its package (import _ \"<package path>\"), as database/sql drivers are"
}
