package oslocache

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/dogpile-go/dogpile/internal/plugins"
	"github.com/dogpile-go/dogpile/region"
)

// CreateRegion returns a new region for ConfigureCacheRegion, as
// oslo.cache's create_region does: a dogpile region whose cached functions
// are keyed by dogpile's function_key_generator (the region's default key
// generator, region.DefaultFunctionKeyGenerator: arguments rendered as
// Python's str() renders them) and its batch functions by dogpile's
// function_multi_key_generator (region.DefaultMultiFunctionKeyGenerator).
// opts may give a key generator of their own.
func CreateRegion(name string, opts ...region.Option) *region.Region {
	return region.New(name, opts...)
}

// ConfigureCacheRegion configures r from the [cache] section, as
// oslo.cache's configure_cache_region does: the backend and its arguments,
// the expiration time, the proxies ([cache] proxies, and the logging proxy
// with debug_cache_backend), and SHA-1 key mangling (region.SHA1MangleKey)
// when neither the region nor its backend has a key mangler of its own.
// With [cache] enabled = false the region gets dogpile.cache.null.
//
// As in oslo.cache, a region that is already configured is left as it is
// (and nil returned). Configure the region before it is used: the key
// mangler is set just after the backend.
//
// The backend is chosen by its registered name, so the program must import
// the package that registers it (backends/memory for the in-process names,
// backends/memcache for the memcached ones, ...). Errors are the
// *OptionErrors of RegionSettings, an *OptionError naming the option whose
// argument the backend refuses (wrapping the region's error, so
// errors.Is(err, region.ErrBadArgument) holds), or the region's.
func (c *Config) ConfigureCacheRegion(r *region.Region) error {
	s, err := c.RegionSettings()
	if err != nil {
		return err
	}
	return s.Apply(r)
}

// Apply configures r with the settings (see ConfigureCacheRegion). A region
// that is already configured is left as it is.
//
// When the backend refuses an argument that a [cache] option was mapped to
// (a *region.ArgumentError or *region.UnknownArgumentError), the error is
// an *OptionError naming that option and its line ("keystone.conf:7:
// [cache] memcache_dead_retry: backend dogpile.cache.memcached: argument
// \"dead_retry\": ..."), wrapping the backend's error. An argument changed
// in Arguments after RegionSettings is not blamed on the file.
func (s *RegionSettings) Apply(r *region.Region) error {
	if r == nil {
		return errors.New("oslocache: ConfigureCacheRegion needs a region (see CreateRegion)")
	}
	if r.IsConfigured() {
		return nil
	}
	proxies := make([]region.Proxy, 0, len(s.Proxies))
	for _, name := range s.Proxies {
		p, err := region.NewProxy(name)
		if err != nil {
			return fmt.Errorf("oslocache: [cache] proxies: %w", err)
		}
		proxies = append(proxies, p)
	}
	err := r.Configure(s.Backend,
		region.WithExpirationTime(s.ExpirationTime),
		region.WithArguments(s.Arguments),
		region.WithWrap(proxies...))
	switch {
	case errors.Is(err, region.ErrAlreadyConfigured):
		return nil // configured meanwhile: as above
	case errors.Is(err, region.ErrPluginNotFound):
		// The region's error names the package to import, if any.
		return fmt.Errorf("oslocache: [cache] backend %s is not registered in this program: %w", s.Backend, err)
	case err != nil:
		if oe := s.argumentOptionError(err); oe != nil {
			return oe
		}
		return fmt.Errorf("oslocache: [cache] backend: %w", err)
	}
	if r.KeyMangler() == nil {
		r.SetKeyMangler(region.SHA1MangleKey)
	}
	return nil
}

// argumentOptionError maps a backend's refusal of an argument back to the
// [cache] option it was made from; nil when err is not about an argument
// the file set (or the argument was changed since).
func (s *RegionSettings) argumentOptionError(err error) *OptionError {
	var names []string
	var inner error
	var ae *region.ArgumentError
	var ue *region.UnknownArgumentError
	var re *region.RefusedArgumentError
	switch {
	case errors.As(err, &ae):
		names, inner = []string{ae.Name}, ae
	case errors.As(err, &ue):
		names, inner = ue.Names, ue
	case errors.As(err, &re):
		names, inner = []string{re.Name}, re
	default:
		return nil
	}
	for _, name := range names {
		name, _, _ = strings.Cut(name, ".") // connection_kwargs.ssl_ciphers: made from connection_kwargs
		o, ok := s.origins[name]
		if !ok || !reflect.DeepEqual(o.value, s.Arguments[name]) {
			continue
		}
		return &OptionError{Pos: o.pos, Section: cacheSection, Option: o.option, Value: o.text, Kind: ErrBadValue,
			Msg: fmt.Sprintf("backend %s: %s", s.Backend, strings.TrimPrefix(inner.Error(), "region: ")), Err: err}
	}
	return nil
}

// RegisteringPackage returns the package of this module that registers a
// backend name ("" for names no package of this module registers).
func RegisteringPackage(backend string) string {
	return plugins.BackendPackage(backend)
}

// Memoize returns the options oslo.cache's get_memoization_decorator(conf,
// region, group) gives a cached function (region.CacheOnArguments):
//
//   - caching is on when [cache] enabled and [group] caching (default true)
//     are; while it is off, calls go straight to the function
//     (region.WithFuncEnabled);
//   - values expire after [group] cache_time seconds when the file sets it
//     (-1: never; 0: at once), else after the region's expiration time,
//     which is [cache] expiration_time.
//
// A group the file does not have gets the defaults (caching on, the
// region's expiration).
func (c *Config) Memoize(group string) []region.FuncOption {
	return c.MemoizeExpirationGroup(group, "")
}

// MemoizeExpirationGroup is get_memoization_decorator's expiration_group
// form: caching is switched by [group], the expiration read from
// [expirationGroup] cache_time (from [group] when expirationGroup is "").
func (c *Config) MemoizeExpirationGroup(group, expirationGroup string) []region.FuncOption {
	if expirationGroup == "" {
		expirationGroup = group
	}
	enabled := c.CachingEnabled(group)
	opts := []region.FuncOption{region.WithFuncEnabled(func() bool { return enabled })}
	if d, ok := c.CacheTime(expirationGroup); ok {
		opts = append(opts, region.WithFuncExpiration(d))
	}
	return opts
}

// CachingEnabled reports whether functions memoized for group are cached:
// [cache] enabled and [group] caching (default true).
func (c *Config) CachingEnabled(group string) bool {
	if !c.Enabled() {
		return false
	}
	g, ok := c.memo[normalizeSection(group)]
	return !ok || g.caching
}

// CacheTime returns [group] cache_time as the expiration of a memoized
// function: ok is false when the file does not set it (the region's
// expiration applies); -1 gives region.NoExpiration.
func (c *Config) CacheTime(group string) (d time.Duration, ok bool) {
	g, found := c.memo[normalizeSection(group)]
	if !found || g.cacheTime == nil {
		return 0, false
	}
	if *g.cacheTime == -1 {
		return region.NoExpiration, true
	}
	return time.Duration(*g.cacheTime) * time.Second, true
}
