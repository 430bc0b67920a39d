package region

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"time"
)

// DefaultFunctionKeyGenerator makes keys as dogpile's function_key_generator
// does: the function's name (the whole prefix, as given to
// CacheOnArguments), "|", then the arguments as Python's str() renders them,
// joined by spaces (see ArgumentString). For a Python function fn of module
// svc.mod, dogpile's prefix is "svc.mod:fn", so
//
//	CacheOnArguments(r, "svc.mod:fn", f).Key(42)  // "svc.mod:fn|42"
//
// is the key a Python service caching fn(42) uses.
func DefaultFunctionKeyGenerator(fnName string, arg any) string {
	return fnName + "|" + ArgumentString(arg)
}

// DefaultMultiFunctionKeyGenerator makes the key of one argument of a
// cached batch function (CacheMultiOnArguments) as dogpile's
// function_multi_key_generator does: the function's name, "|", then the
// argument as Python's str() renders it (see MultiArgumentString). A struct
// or slice argument is one Python tuple, so
//
//	CacheMultiOnArguments(r, "svc.mod:fn", f).Key(user{7, "ada"})  // "svc.mod:fn|(7, 'ada')"
//
// is the key of a Python batch function fn of module svc.mod called with
// the argument (7, 'ada').
func DefaultMultiFunctionKeyGenerator(fnName string, arg any) string {
	return fnName + "|" + MultiArgumentString(arg)
}

// FuncOption configures a cached function.
type FuncOption func(*funcSettings)

type funcSettings struct {
	calls     []CallOption
	keyGen    FunctionKeyGenerator // nil: the default of the kind of function
	namespace string
	enabled   func() bool // nil: always cached
}

// WithFuncNamespace gives the function dogpile's namespace: its keys'
// prefix becomes name + "|" + namespace, as cache_on_arguments(namespace=...)
// makes "svc.mod:fn|namespace".
func WithFuncNamespace(namespace string) FuncOption {
	return func(f *funcSettings) { f.namespace = namespace }
}

// off reports whether caching is switched off for this call
// (WithFuncEnabled).
func (f *funcSettings) off() bool { return f.enabled != nil && !f.enabled() }

// WithFuncExpiration sets the expiration of the function's values,
// overriding the region's (dogpile's expiration_time argument).
func WithFuncExpiration(d time.Duration) FuncOption {
	return func(f *funcSettings) { f.calls = append(f.calls, WithExpiration(d)) }
}

// WithFuncShouldCache decides which results are cached (dogpile's
// should_cache_fn).
func WithFuncShouldCache(fn func(any) bool) FuncOption {
	return func(f *funcSettings) { f.calls = append(f.calls, WithShouldCache(fn)) }
}

// WithFuncEnabled switches caching on and off: enabled is asked at every
// call, and while it returns false the cached function is the plain
// function. Call and Refresh call it and store nothing, Get finds nothing
// and Set stores nothing; Invalidate still deletes, so no stale value is
// left for when caching is switched on again. oslo.cache's [cache] enabled
// and [group] caching options work through it (package oslocache).
func WithFuncEnabled(enabled func() bool) FuncOption {
	return func(f *funcSettings) { f.enabled = enabled }
}

// WithFuncKeyGenerator sets the key generator for this function only.
func WithFuncKeyGenerator(g FunctionKeyGenerator) FuncOption {
	return func(f *funcSettings) { f.keyGen = g }
}

func newFuncSettings(r *Region, fn any, name string, opts []FuncOption) (funcSettings, string) {
	fs := funcSettings{keyGen: r.keyGenerator}
	for _, o := range opts {
		o(&fs)
	}
	if name == "" {
		name = goFunctionName(fn)
	}
	if fs.namespace != "" {
		name += "|" + fs.namespace
	}
	return fs, name
}

// goFunctionName names fn the way dogpile names a Python function,
// "<module>:<name>": its package path, ":", then the rest of its Go name
// ("example.com/svc/users:loadUser"). Closures and method values get names
// that change with unrelated edits ("users:New.func1"), so give
// CacheOnArguments a name of your own when processes of different builds
// share a cache.
func goFunctionName(fn any) string {
	full := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	slash := strings.LastIndexByte(full, '/')
	if dot := strings.IndexByte(full[slash+1:], '.'); dot >= 0 {
		i := slash + 1 + dot
		return full[:i] + ":" + full[i+1:]
	}
	return full
}

// CachedFunc is a function whose results are cached in a region, keyed by
// its argument (dogpile's cache_on_arguments). Build it with
// CacheOnArguments.
type CachedFunc[A, R any] struct {
	region   *Region
	fn       func(context.Context, A) (R, error)
	name     string
	settings funcSettings
}

// CacheOnArguments caches fn's results in r, one value per argument
// (dogpile's cache_on_arguments). name is the whole key prefix, as dogpile
// names a Python function: give "svc.mod:fn" and the keys are those of a
// Python service caching fn of module svc.mod ("svc.mod:fn|42"; see
// DefaultFunctionKeyGenerator), so the two share cached values.
// WithFuncNamespace adds dogpile's namespace. An empty name uses the Go
// function's package path and name ("example.com/svc:loadUser").
//
// A struct or slice argument is several arguments, rendered in order.
func CacheOnArguments[A, R any](r *Region, name string, fn func(context.Context, A) (R, error), opts ...FuncOption) *CachedFunc[A, R] {
	fs, name := newFuncSettings(r, fn, name, opts)
	return &CachedFunc[A, R]{region: r, fn: fn, name: name, settings: fs}
}

// Key returns the cache key for a.
func (c *CachedFunc[A, R]) Key(a A) string {
	if c.settings.keyGen == nil {
		return DefaultFunctionKeyGenerator(c.name, a)
	}
	return c.settings.keyGen(c.name, a)
}

// Call returns the cached result for a, calling the function (once, under
// the dogpile lock) when there is none.
func (c *CachedFunc[A, R]) Call(ctx context.Context, a A) (R, error) {
	if c.settings.off() {
		return c.fn(ctx, a)
	}
	return GetOrCreateAs(ctx, c.region, c.Key(a), func(ctx context.Context) (R, error) { return c.fn(ctx, a) }, c.settings.calls...)
}

// Get returns the cached result for a without calling the function.
func (c *CachedFunc[A, R]) Get(ctx context.Context, a A) (R, bool, error) {
	if c.settings.off() {
		var zero R
		return zero, false, nil
	}
	return GetAs[R](ctx, c.region, c.Key(a), c.settings.calls...)
}

// Set stores v as the result for a.
func (c *CachedFunc[A, R]) Set(ctx context.Context, a A, v R) error {
	if c.settings.off() {
		return nil
	}
	return c.region.Set(ctx, c.Key(a), v)
}

// Invalidate removes the cached result for a.
func (c *CachedFunc[A, R]) Invalidate(ctx context.Context, a A) error {
	return c.region.Delete(ctx, c.Key(a))
}

// Refresh calls the function for a now, stores and returns its result.
func (c *CachedFunc[A, R]) Refresh(ctx context.Context, a A) (R, error) {
	v, err := c.fn(ctx, a)
	if err != nil {
		return v, err
	}
	return v, c.Set(ctx, a, v)
}

// Func returns the uncached function.
func (c *CachedFunc[A, R]) Func() func(context.Context, A) (R, error) { return c.fn }

// CachedMultiFunc is a batch function whose results are cached one key per
// argument (dogpile's cache_multi_on_arguments). Build it with
// CacheMultiOnArguments.
type CachedMultiFunc[A, R any] struct {
	region   *Region
	fn       func(context.Context, []A) ([]R, error)
	name     string
	settings funcSettings
}

// CacheMultiOnArguments caches a batch function (dogpile's
// cache_multi_on_arguments): fn gets the arguments whose results are not
// cached and returns one result per argument, in order. Each argument has
// its own key, made from name as dogpile's function_multi_key_generator
// makes it (DefaultMultiFunctionKeyGenerator: a struct or slice argument
// renders as a Python tuple), unless the region (WithFunctionKeyGenerator)
// or WithFuncKeyGenerator gives a generator of its own.
func CacheMultiOnArguments[A, R any](r *Region, name string, fn func(context.Context, []A) ([]R, error), opts ...FuncOption) *CachedMultiFunc[A, R] {
	fs, name := newFuncSettings(r, fn, name, opts)
	return &CachedMultiFunc[A, R]{region: r, fn: fn, name: name, settings: fs}
}

// Key returns the cache key for one argument.
func (c *CachedMultiFunc[A, R]) Key(a A) string {
	if c.settings.keyGen == nil {
		return DefaultMultiFunctionKeyGenerator(c.name, a)
	}
	return c.settings.keyGen(c.name, a)
}

// Keys returns the cache keys for args.
func (c *CachedMultiFunc[A, R]) Keys(args []A) []string {
	keys := make([]string, len(args))
	for i, a := range args {
		keys[i] = c.Key(a)
	}
	return keys
}

// Call returns one result per argument, calling the function once with the
// arguments whose results are not cached.
func (c *CachedMultiFunc[A, R]) Call(ctx context.Context, args []A) ([]R, error) {
	if c.settings.off() {
		return c.callDirect(ctx, args)
	}
	keys := c.Keys(args)
	byKey := make(map[string]A, len(args))
	for i, k := range keys {
		byKey[k] = args[i]
	}
	return GetOrCreateMultiAs(ctx, c.region, keys, func(ctx context.Context, missing []string) ([]R, error) {
		in := make([]A, len(missing))
		for i, k := range missing {
			in[i] = byKey[k]
		}
		return c.fn(ctx, in)
	}, c.settings.calls...)
}

// Get returns the cached results for args without calling the function;
// found[i] tells whether args[i] had one.
func (c *CachedMultiFunc[A, R]) Get(ctx context.Context, args []A) (values []R, found []bool, err error) {
	if c.settings.off() {
		return make([]R, len(args)), make([]bool, len(args)), nil
	}
	return GetMultiAs[R](ctx, c.region, c.Keys(args), c.settings.calls...)
}

// Set stores values[i] as the result for args[i].
func (c *CachedMultiFunc[A, R]) Set(ctx context.Context, args []A, values []R) error {
	if len(args) != len(values) {
		return &ArgumentError{Name: "values", Value: len(values), Want: fmt.Sprintf("%d values, one per argument", len(args))}
	}
	if c.settings.off() {
		return nil
	}
	m := make(map[string]any, len(args))
	for i, a := range args {
		m[c.Key(a)] = values[i]
	}
	return c.region.SetMulti(ctx, m)
}

// Invalidate removes the cached results for args.
func (c *CachedMultiFunc[A, R]) Invalidate(ctx context.Context, args ...A) error {
	return c.region.DeleteMulti(ctx, c.Keys(args))
}

// Refresh calls the function for every argument now, stores and returns the
// results.
func (c *CachedMultiFunc[A, R]) Refresh(ctx context.Context, args []A) ([]R, error) {
	values, err := c.callDirect(ctx, args)
	if err != nil {
		return nil, err
	}
	return values, c.Set(ctx, args, values)
}

// callDirect calls the function for args, checking it returns one value
// per argument.
func (c *CachedMultiFunc[A, R]) callDirect(ctx context.Context, args []A) ([]R, error) {
	values, err := c.fn(ctx, args)
	if err != nil {
		return nil, err
	}
	if len(values) != len(args) {
		return nil, fmt.Errorf("region %q: function returned %d values for %d arguments", c.region.name, len(values), len(args))
	}
	return values, nil
}

// Func returns the uncached function.
func (c *CachedMultiFunc[A, R]) Func() func(context.Context, []A) ([]R, error) { return c.fn }

func (r *Region) getOrCreateMultiState(ctx context.Context, keys []string, creator func(context.Context, []string) ([]any, error), opts []CallOption) ([]any, error) {
	s, err := r.load()
	if err != nil {
		return nil, err
	}
	cs := collect(opts)
	return r.getOrCreateMulti(ctx, s, keys, creator, &cs)
}

func payloadsAs[R any](keys []string, payloads []any) ([]R, error) {
	out := make([]R, len(payloads))
	for i, p := range payloads {
		v, err := payloadAs[R](keys[i], p)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// GetOrCreateMultiAs is GetOrCreateMulti with a typed creator and results.
func GetOrCreateMultiAs[T any](ctx context.Context, r *Region, keys []string, creator func(ctx context.Context, keys []string) ([]T, error), opts ...CallOption) ([]T, error) {
	values, err := r.getOrCreateMultiState(ctx, keys, func(ctx context.Context, missing []string) ([]any, error) {
		res, err := creator(ctx, missing)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(res))
		for i := range res {
			out[i] = res[i]
		}
		return out, nil
	}, opts)
	if err != nil {
		return nil, err
	}
	return payloadsAs[T](keys, values)
}
