package region

import "context"

// Proxy is a Backend that wraps another one: logging, metrics, value
// transformation, ... The region calls SetProxied when it wraps its backend.
type Proxy interface {
	Backend
	SetProxied(Backend)
}

// ProxyBackend delegates every Backend method to Proxied. Embed it (as a
// value or a pointer) in a proxy type and override only the methods the proxy
// cares about:
//
//	type LoggingProxy struct{ region.ProxyBackend }
//
//	func (p *LoggingProxy) Set(ctx context.Context, key string, v region.CachedValue) error {
//		log.Printf("set %s", key)
//		return p.Proxied.Set(ctx, key, v)
//	}
type ProxyBackend struct {
	// Proxied is the next backend in the chain: another proxy or the
	// actual backend.
	Proxied Backend
}

// SetProxied sets the backend this proxy delegates to.
func (p *ProxyBackend) SetProxied(b Backend) { p.Proxied = b }

// Get delegates to Proxied.
func (p *ProxyBackend) Get(ctx context.Context, key string) (CachedValue, bool, error) {
	return p.Proxied.Get(ctx, key)
}

// GetMulti delegates to Proxied.
func (p *ProxyBackend) GetMulti(ctx context.Context, keys []string) (map[string]CachedValue, error) {
	return p.Proxied.GetMulti(ctx, keys)
}

// Set delegates to Proxied.
func (p *ProxyBackend) Set(ctx context.Context, key string, v CachedValue) error {
	return p.Proxied.Set(ctx, key, v)
}

// SetMulti delegates to Proxied.
func (p *ProxyBackend) SetMulti(ctx context.Context, m map[string]CachedValue) error {
	return p.Proxied.SetMulti(ctx, m)
}

// Delete delegates to Proxied.
func (p *ProxyBackend) Delete(ctx context.Context, key string) error {
	return p.Proxied.Delete(ctx, key)
}

// DeleteMulti delegates to Proxied.
func (p *ProxyBackend) DeleteMulti(ctx context.Context, keys []string) error {
	return p.Proxied.DeleteMulti(ctx, keys)
}

// GetMutex delegates to Proxied.
func (p *ProxyBackend) GetMutex(key string) Mutex { return p.Proxied.GetMutex(key) }

// Unwrap returns the proxied backend, so code holding a proxy can walk the
// chain down to the actual backend.
func (p *ProxyBackend) Unwrap() Backend { return p.Proxied }
