package region

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dogpile-go/dogpile/internal/plugins"
)

var registry = struct {
	sync.RWMutex
	backends map[string]BackendFactory
	proxies  map[string]ProxyFactory
}{
	backends: map[string]BackendFactory{},
	proxies:  map[string]ProxyFactory{},
}

// RegisterBackend makes a backend available by name, the way database/sql
// drivers register: a backend package calls it from init, and programs
// select the backend by name in Configure. It panics if name is empty, f is
// nil, or name is already registered.
func RegisterBackend(name string, f BackendFactory) {
	registry.Lock()
	defer registry.Unlock()
	if name == "" || f == nil {
		panic("region: RegisterBackend needs a name and a factory")
	}
	if _, dup := registry.backends[name]; dup {
		panic("region: RegisterBackend called twice for backend " + name)
	}
	registry.backends[name] = f
}

// RegisteredBackends returns the registered backend names, sorted.
func RegisteredBackends() []string {
	registry.RLock()
	defer registry.RUnlock()
	return sortedKeys(registry.backends)
}

// IsBackendRegistered reports whether a backend of that name is registered.
func IsBackendRegistered(name string) bool {
	registry.RLock()
	defer registry.RUnlock()
	_, ok := registry.backends[name]
	return ok
}

// ProxyFactory builds a new proxy for a region configured by name (the
// "wrap" configuration key).
type ProxyFactory func() (Proxy, error)

// RegisterProxy makes a proxy available by name for configuration files
// (ConfigureFromConfig's "wrap" key). It panics if name is empty, f is nil,
// or name is already registered.
func RegisterProxy(name string, f ProxyFactory) {
	registry.Lock()
	defer registry.Unlock()
	if name == "" || f == nil {
		panic("region: RegisterProxy needs a name and a factory")
	}
	if _, dup := registry.proxies[name]; dup {
		panic("region: RegisterProxy called twice for proxy " + name)
	}
	registry.proxies[name] = f
}

// RegisteredProxies returns the registered proxy names, sorted.
func RegisteredProxies() []string {
	registry.RLock()
	defer registry.RUnlock()
	return sortedKeys(registry.proxies)
}

func lookupBackend(name string) (BackendFactory, error) {
	registry.RLock()
	f, ok := registry.backends[name]
	registry.RUnlock()
	if !ok {
		registered := RegisteredBackends()
		return nil, fmt.Errorf("%w: no backend named %q (registered: %s); %s", ErrPluginNotFound, name, listOrNone(registered), plugins.Hint("backend", name, registered))
	}
	return f, nil
}

// NewBackend builds the backend registered under name from args, outside any
// region (args is not modified). Configure is the usual way to get one;
// this is for code that composes backends itself.
func NewBackend(name string, args Arguments) (Backend, error) {
	f, err := lookupBackend(name)
	if err != nil {
		return nil, err
	}
	b, err := f(args.Clone())
	if err != nil {
		return nil, fmt.Errorf("backend %q: %w", name, err)
	}
	if b == nil {
		return nil, fmt.Errorf("backend %q: factory returned no backend", name)
	}
	return b, nil
}

// NewProxy builds the proxy registered under name.
func NewProxy(name string) (Proxy, error) {
	registry.RLock()
	f, ok := registry.proxies[name]
	registry.RUnlock()
	if !ok {
		registered := RegisteredProxies()
		return nil, fmt.Errorf("%w: no proxy named %q (registered: %s); %s", ErrPluginNotFound, name, listOrNone(registered), plugins.Hint("proxy", name, registered))
	}
	p, err := f()
	if err != nil {
		return nil, fmt.Errorf("region: proxy %q: %w", name, err)
	}
	return p, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
