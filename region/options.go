package region

import (
	"context"
	"time"
)

// NoExpiration, passed to WithExpiration, makes values read or created by
// that call never expire.
const NoExpiration time.Duration = -1

// Option configures a Region at New.
type Option func(*Region)

// WithKeyMangler sets the function applied to every key before it reaches
// the backend (SHA1MangleKey, for example). Without one the region uses the
// backend's suggested mangler, if it has one.
func WithKeyMangler(f func(string) string) Option {
	return func(r *Region) { r.explicitMangler = f }
}

// WithSerializer sets the serializer byte backends use for this region's
// payloads, replacing the backend's default.
func WithSerializer(s Serializer) Option {
	return func(r *Region) { r.serializer = s }
}

// AsyncCreationRunner runs a regeneration in the background. When a caller
// finds an expired value and wins the creation lock, the region returns the
// old value at once and hands the runner a job that creates the new value,
// stores it and releases the lock. The runner must call job exactly once,
// on any goroutine (GoroutineRunner starts a goroutine; a pool or queue
// works too). It is called on the caller's goroutine, so it must not block:
// a runner that waits for room in a full pool delays the caller it was
// meant to spare. A runner that panics before running the job gives the
// creation lock back; one that drops the job silently leaves the key locked
// until its creation lock expires (in-process: for good), so don't.
type AsyncCreationRunner func(key string, job func())

// GoroutineRunner is an AsyncCreationRunner that runs each job on a new
// goroutine.
func GoroutineRunner(_ string, job func()) { go job() }

// WithAsyncCreationRunner makes expired values regenerate in the background
// while every caller gets the old value (dogpile's async_creation_runner).
func WithAsyncCreationRunner(run AsyncCreationRunner) Option {
	return func(r *Region) { r.asyncRunner = run }
}

// FunctionKeyGenerator makes the cache key for one call of a cached function
// (CacheOnArguments). fnName is the key prefix (the name given to
// CacheOnArguments, with "|" and the namespace when WithFuncNamespace gives
// one) and arg the argument.
type FunctionKeyGenerator func(fnName string, arg any) string

// WithFunctionKeyGenerator replaces DefaultFunctionKeyGenerator (and, for
// batch functions, DefaultMultiFunctionKeyGenerator) for the functions
// cached on this region.
func WithFunctionKeyGenerator(g FunctionKeyGenerator) Option {
	return func(r *Region) { r.keyGenerator = g }
}

// ErrorHandler is told about errors the region does not return to a caller:
// values that could not be parsed (read as absent) and failures of
// background regenerations.
type ErrorHandler func(ctx context.Context, key string, err error)

// WithErrorHandler sets the region's ErrorHandler. By default such errors
// are logged with log/slog.
func WithErrorHandler(h ErrorHandler) Option {
	return func(r *Region) { r.onError = h }
}

// ConfigOption configures the backend side of a Region in Configure.
type ConfigOption func(*configSettings)

type configSettings struct {
	expiration  time.Duration
	args        Arguments
	wrap        []Proxy
	replace     bool
	invalidator InvalidationStrategy
}

// WithExpirationTime sets how long values stay fresh. After that a value
// reads as absent and GetOrCreate regenerates it (serving the old value to
// other callers meanwhile). Zero means values never expire.
func WithExpirationTime(d time.Duration) ConfigOption {
	return func(c *configSettings) { c.expiration = d }
}

// WithArguments passes arguments to the backend's factory. The map is not
// modified.
func WithArguments(a Arguments) ConfigOption {
	return func(c *configSettings) { c.args = a }
}

// WithWrap wraps the backend in proxies; the first listed is the outermost
// (it sees every call first): WithWrap(a, b) gives a(b(backend)).
func WithWrap(proxies ...Proxy) ConfigOption {
	return func(c *configSettings) { c.wrap = append(c.wrap, proxies...) }
}

// WithReplaceExistingBackend lets Configure replace the backend of a region
// that is already configured.
func WithReplaceExistingBackend() ConfigOption {
	return func(c *configSettings) { c.replace = true }
}

// WithInvalidator replaces the default in-process invalidation strategy,
// for example with one that keeps its timestamps in a shared backend.
func WithInvalidator(s InvalidationStrategy) ConfigOption {
	return func(c *configSettings) { c.invalidator = s }
}

// CallOption adjusts one read or create call. CallOptions are plain values,
// so passing them costs no allocation.
type CallOption struct {
	expiration  time.Duration
	setExp      bool
	ignoreExp   bool
	shouldCache func(any) bool
}

// WithExpiration overrides the region's expiration time for this call only.
// NoExpiration (or any negative duration) means never; zero means every
// value is expired (dogpile's expiration_time=0).
func WithExpiration(d time.Duration) CallOption {
	return CallOption{expiration: d, setExp: true}
}

// IgnoreExpiration returns values however old they are (and however softly
// invalidated). Hard-invalidated values still read as absent.
func IgnoreExpiration() CallOption { return CallOption{ignoreExp: true} }

// WithShouldCache decides, for a freshly created value, whether it is
// stored; values for which it returns false are returned but not cached.
func WithShouldCache(f func(any) bool) CallOption { return CallOption{shouldCache: f} }

type callSettings struct {
	expiration  time.Duration
	setExp      bool
	ignoreExp   bool
	shouldCache func(any) bool
	deadline    time.Time // FailSafe.HardTimeout for this call; zero: none
}

func collect(opts []CallOption) callSettings {
	var s callSettings
	for _, o := range opts {
		if o.setExp {
			s.expiration, s.setExp = o.expiration, true
		}
		if o.ignoreExp {
			s.ignoreExp = true
		}
		if o.shouldCache != nil {
			s.shouldCache = o.shouldCache
		}
	}
	return s
}
