package kvs

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// Option configures a store in Configure.
type Option func(*options)

type options struct {
	mangler func(string) string
	proxies []func() (region.Proxy, error) // each makes one proxy; first outermost
	locking bool
	args    region.Arguments
}

// WithKeyMangler sets the function that turns every key into the key the
// backend stores (Keystone's key_mangler argument). It is used unless the
// backend insists on its own (BackendKeyManglerUser), and only while
// Config.EnableKeyMangler is true. Without one the backend's mangler is
// used, else region.SHA1MangleKey. Lock keys are never mangled.
func WithKeyMangler(f func(string) string) Option {
	return func(o *options) { o.mangler = f }
}

// WithProxies wraps the backend in proxies (Keystone's proxy_list), the
// first listed outermost: it sees every call first. Give each store proxy
// values of its own. Proxies are applied after the key mangler is set, so
// it is set on the backend itself. WithProxies and WithProxyNames append,
// in the order given.
func WithProxies(proxies ...region.Proxy) Option {
	return func(o *options) {
		for _, p := range proxies {
			o.proxies = append(o.proxies, func() (region.Proxy, error) { return p, nil })
		}
	}
}

// WithProxyNames is WithProxies for proxies registered with
// region.RegisterProxy, by name, as a configuration file names them (and
// Keystone's proxy_list named classes). An unknown name is an error
// (region.ErrPluginNotFound), as an unimportable class path was in
// Keystone.
func WithProxyNames(names ...string) Option {
	return func(o *options) {
		for _, name := range names {
			o.proxies = append(o.proxies, func() (region.Proxy, error) { return region.NewProxy(name) })
		}
	}
}

// WithLocking sets whether the store's locks take a mutex (Keystone's
// locking argument, default true). With false, GetLock returns locks whose
// Acquire and Release do nothing, though they still become active and
// expire.
func WithLocking(enabled bool) Option {
	return func(o *options) { o.locking = enabled }
}

// WithArguments passes arguments to the backend (Keystone's
// **region_config_args); the map is not modified. Two are handled by the
// store:
//
//	lock_timeout      the lock timeout, seconds or a duration (default
//	                  Config.DefaultLockTimeout); the backend is given it
//	                  plus LockWindow, in seconds, when it is not zero
//	distributed_lock  default true
//
// String values are coerced as in a configuration file ("600" is 600,
// "true" is true), since they travel through the flat configuration map.
// Calling WithArguments twice merges the maps, later values winning.
func WithArguments(args region.Arguments) Option {
	return func(o *options) {
		if o.args == nil {
			o.args = region.Arguments{}
		}
		maps.Copy(o.args, args)
	}
}

// BackendKeyManglerUser is implemented by backends that insist on their own
// key mangler (Keystone's use_backend_key_mangler attribute): when
// UseBackendKeyMangler returns true and the backend has a mangler
// (region.KeyMangler), it wins even over WithKeyMangler.
type BackendKeyManglerUser interface {
	UseBackendKeyMangler() bool
}

// Configure gives the store its backend, by registered name
// ("openstack.kvs.Memory", "openstack.kvs.Memcached", an alias from
// Config.Backends, or any region backend). It is Keystone's
// KeyValueStore.configure, in three steps:
//
//  1. the region is configured from the flat map dogpile reads,
//     "<prefix>.backend" = backingStore and "<prefix>.arguments.<name>" for
//     every argument (see WithArguments), with region.ConfigureFromConfig;
//     values never expire;
//  2. the key mangler is chosen (see WithKeyMangler) and set on the region
//     and, through region.KeyManglerSetter, on the backend;
//  3. the proxies are applied.
//
// A store configures once: a second Configure, or one that loses a race
// with another, returns ErrAlreadyConfigured. If step 1 fails the store
// stays unconfigured; if step 3 fails it is configured without its proxies
// (as in Keystone).
func (s *KeyValueStore) Configure(backingStore string, opts ...Option) error {
	o := options{locking: true}
	for _, opt := range opts {
		opt(&o)
	}
	s.configMu.Lock()
	defer s.configMu.Unlock()
	if s.region.IsConfigured() {
		return fmt.Errorf("%w: KVS region %s is already configured. Cannot reconfigure.", ErrAlreadyConfigured, s.region.Name())
	}
	cfg := CurrentConfig()
	args := o.args.Clone()
	timeout, err := args.Duration("lock_timeout", cfg.DefaultLockTimeout)
	if err != nil {
		return fmt.Errorf("kvs: store %s: %w", s.region.Name(), err)
	}
	delete(args, "lock_timeout")

	// Step A: the region, through the flat configuration map.
	if !args.Has("distributed_lock") {
		args["distributed_lock"] = true
	}
	backendTimeout := timeout
	if backendTimeout > 0 {
		backendTimeout += LockWindow
	}
	args["lock_timeout"] = seconds(backendTimeout)
	conf := regionConfig(cfg.ConfigPrefix, backingStore, args)
	if err := s.region.ConfigureFromConfig(conf, cfg.ConfigPrefix+"."); err != nil {
		if errors.Is(err, region.ErrAlreadyConfigured) {
			return fmt.Errorf("%w: KVS region %s is already configured. Cannot reconfigure: %w", ErrAlreadyConfigured, s.region.Name(), err)
		}
		return fmt.Errorf("kvs: store %s: %w", s.region.Name(), err)
	}
	s.settings.Store(&storeSettings{locking: o.locking, lockTimeout: timeout})

	// Step B: the key mangler.
	s.setKeyManglerLocked(o.mangler, cfg)

	// Step C: the proxies.
	if err := s.applyProxies(o.proxies); err != nil {
		return fmt.Errorf("kvs: store %s: %w", s.region.Name(), err)
	}
	return nil
}

// regionConfig builds the map region.ConfigureFromConfig reads.
func regionConfig(prefix, backend string, args region.Arguments) map[string]any {
	conf := make(map[string]any, len(args)+1)
	conf[prefix+".backend"] = backend
	for k, v := range args {
		conf[prefix+".arguments."+k] = v
	}
	return conf
}

// seconds turns a duration into the seconds Keystone's backends were
// given: an int when whole, else a float64. Both read back through
// region.Arguments.Duration, and whole seconds also through Int.
func seconds(d time.Duration) any {
	if d%time.Second == 0 {
		return int(d / time.Second)
	}
	return d.Seconds()
}

// setKeyMangler is Keystone's _set_key_mangler: it can be called again
// after Configure to change the mangler.
func (s *KeyValueStore) setKeyMangler(explicit func(string) string) error {
	s.configMu.Lock()
	defer s.configMu.Unlock()
	if err := s.assertConfigured(); err != nil {
		return err
	}
	s.setKeyManglerLocked(explicit, CurrentConfig())
	return nil
}

// setKeyManglerLocked picks the mangler in Keystone's order: the backend's
// when it insists on it, else the explicit one, else the backend's, else
// SHA-1. With key mangling disabled it sets none on the backend and leaves
// the region's as region.Configure chose it (the backend's suggestion).
func (s *KeyValueStore) setKeyManglerLocked(explicit func(string) string, cfg Config) {
	actual := s.region.ActualBackend()
	km := explicit
	forced := false
	if u, ok := region.BackendAs[BackendKeyManglerUser](actual); ok {
		forced = u.UseBackendKeyMangler()
	}
	if km == nil || forced {
		if b, ok := region.BackendAs[region.KeyMangler](actual); ok {
			if bm := b.KeyMangler(); bm != nil {
				km = bm
			}
		}
	}
	if !cfg.EnableKeyMangler {
		if setter, ok := region.BackendAs[region.KeyManglerSetter](actual); ok {
			setter.SetKeyMangler(nil)
		}
		return
	}
	if km == nil {
		km = region.SHA1MangleKey
	}
	s.region.SetKeyMangler(km) // also tells the backend (region.KeyManglerSetter)
}

// applyProxies is Keystone's _apply_region_proxy: the first proxy ends up
// outermost. A nil proxy is refused, as region.Wrap refuses it.
func (s *KeyValueStore) applyProxies(makers []func() (region.Proxy, error)) error {
	proxies := make([]region.Proxy, len(makers))
	for i, newProxy := range makers {
		p, err := newProxy()
		if err != nil {
			return err
		}
		proxies[i] = p
	}
	for _, p := range slices.Backward(proxies) {
		if err := s.region.Wrap(p); err != nil {
			return err
		}
	}
	return nil
}
