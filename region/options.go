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

// WithFunctionKeyGenerator replaces DefaultFunctionKeyGenerator for the
// functions cached on this region.
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
	noStore     bool      // the backend just failed: don't write to it in this call
	deadline    time.Time // FailSafe.HardTimeout for this call; zero: none
}

// noCallSettings are the settings of a call without options (read-only).
var noCallSettings callSettings

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

// FailSafe configures serving old values when regeneration fails or is
// slow, as FusionCache's fail-safe does. The zero value turns it off.
type FailSafe struct {
	// Grace is how long past its expiration an expired value may still be
	// served when its regeneration fails: the caller gets the old value
	// instead of the creator's error, which goes to the ErrorHandler. For
	// GetOrCreateMulti this holds when every key given to the failing
	// creator had such a value; otherwise the call returns the error.
	Grace time.Duration
	// SoftTimeout bounds how long the caller regenerating an expired value
	// waits for the creator. Past it the caller gets the old value; the
	// creation goes on in the background and stores its value when done.
	// It applies to single-key calls (GetOrCreate, GetOrCreateAs and the
	// functions of CacheOnArguments): a multi-key creator serves keys with
	// and without old values at once, so it is always waited for.
	SoftTimeout time.Duration
	// HardTimeout bounds how long any caller with no value to fall back on
	// waits for a creator (its own or another caller's). Past it the call
	// returns an error wrapping ErrCreationTimeout; the creation goes on in
	// the background.
	HardTimeout time.Duration
	// CreatorTimeout bounds one creator call, in the foreground or left
	// running in the background by SoftTimeout or HardTimeout: the
	// creator's context ends this long after the call starts. The creation
	// then fails with an error wrapping ErrCreationTimeout (so do callers
	// waiting for it), stores nothing and frees the key's creation lock.
	// The creator must honour its context for this to stop it. Zero: a
	// background creation runs until its creator returns.
	CreatorTimeout time.Duration
}

// WithFailSafe turns on serving old values when regeneration fails or is
// slow, and bounds how long callers wait for creators.
func WithFailSafe(f FailSafe) Option {
	return func(r *Region) { r.failSafe = f }
}

// WithStrictBackendErrors makes GetOrCreate and GetOrCreateMulti return
// backend and lock errors. By default they fail open: when the backend
// cannot be read, written or locked, the creator's value is returned (and
// the error goes to the ErrorHandler), so a cache outage slows a service
// down instead of failing it.
func WithStrictBackendErrors() Option {
	return func(r *Region) { r.strict = true }
}

// WithEarlyRefresh regenerates hot values shortly before they expire, with
// probabilistic early expiration (XFetch: Vattani, Chierichetti and
// Lowenstein, "Optimal Probabilistic Cache Stampede Prevention", VLDB 2015).
// On each hit a value is treated as expired with a probability that grows
// as its expiry nears, scaled by how long the creator takes (measured by
// the region) and by beta (1.0 is the paper's default; larger refreshes
// earlier). The caller that wins the creation lock regenerates (or the async
// runner does); everyone else keeps getting the current value, so a key
// under steady load never reads as missing. It needs an expiration time.
func WithEarlyRefresh(beta float64) Option {
	return func(r *Region) { r.earlyBeta = beta }
}

// WithLockLeases keeps a distributed creation lock alive while its creator
// runs: a creator that takes longer than the lock's timeout extends the lock
// (memcached touch, Redis PEXPIRE, with the holder's token) every third of
// the timeout, so no second creator starts meanwhile. Extension stops if the
// lock was lost. It applies to mutexes with Extend and LockTimeout methods
// (those of package lockmutex).
func WithLockLeases() Option {
	return func(r *Region) { r.leases = true }
}
