// Package region is a Go port of dogpile.cache's CacheRegion: a named cache
// in front of a pluggable backend chosen by short name, with optional
// proxies, key mangling, expiration, invalidation, function caching and the
// dogpile lock, which makes sure one expensive value is created by one
// caller while everyone else waits for it or keeps using the old one.
//
//	r := region.New("users")
//	err := r.Configure("memory", region.WithExpirationTime(10*time.Minute))
//	user, err := region.GetOrCreateAs(ctx, r, "user:42", loadUser42)
//
// Backends register themselves by name from their package's init function
// (import them for that side effect, as with database/sql drivers).
package region

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/lockmutex"
)

// Region is a named cache: the front end of one backend. Create it with New,
// give it a backend with Configure, then read and write through it. All
// methods are safe for concurrent use.
type Region struct {
	name            string
	explicitMangler func(string) string
	serializer      Serializer
	asyncRunner     AsyncCreationRunner
	keyGenerator    FunctionKeyGenerator
	onError         ErrorHandler
	observers       []Observer
	failSafe        FailSafe
	strict          bool          // WithStrictBackendErrors
	early           *earlyRefresh // WithEarlyRefresh; nil: off
	leases          bool          // WithLockLeases

	locks   *lockmutex.Registry
	flights *flights

	configMu     sync.Mutex // serializes Configure, Wrap and SetKeyMangler
	state        atomic.Pointer[regionState]
	unconfigured error // ErrNotConfigured, naming the region
}

// regionState is everything a call needs, swapped atomically on Configure,
// Wrap and SetKeyMangler so the read path takes no lock.
type regionState struct {
	backendName string
	backend     Backend // outermost proxy
	actual      Backend // under all proxies
	expiration  time.Duration
	invalidator InvalidationStrategy
	mangler     func(string) string
	observers   []Observer  // region's own plus those in the proxy chain
	fast        ValueReader // the chain's fast path, when every layer has one
}

func (s *regionState) mangle(key string) string {
	if s.mangler == nil {
		return key
	}
	return s.mangler(key)
}

// New returns an unconfigured region.
func New(name string, opts ...Option) *Region {
	r := &Region{name: name, locks: lockmutex.NewRegistry()}
	r.unconfigured = fmt.Errorf("%w: region %q", ErrNotConfigured, name)
	for _, o := range opts {
		o(r)
	}
	r.flights = newFlights()
	return r
}

// Name returns the region's name.
func (r *Region) Name() string { return r.name }

// IsConfigured reports whether Configure has succeeded.
func (r *Region) IsConfigured() bool { return r.state.Load() != nil }

// Backend returns the outermost backend (the first proxy, or the actual
// backend when there are none), or nil before Configure.
func (r *Region) Backend() Backend {
	if s := r.state.Load(); s != nil {
		return s.backend
	}
	return nil
}

// ActualBackend returns the backend under all proxies, or nil before
// Configure.
func (r *Region) ActualBackend() Backend {
	if s := r.state.Load(); s != nil {
		return s.actual
	}
	return nil
}

// BackendName returns the short name the region was configured with.
func (r *Region) BackendName() string {
	if s := r.state.Load(); s != nil {
		return s.backendName
	}
	return ""
}

// ExpirationTime returns the configured expiration time (0: none).
func (r *Region) ExpirationTime() time.Duration {
	if s := r.state.Load(); s != nil {
		return s.expiration
	}
	return 0
}

// KeyMangler returns the key mangler in use: the one given to New or
// SetKeyMangler, else the backend's suggestion, else nil.
func (r *Region) KeyMangler() func(string) string {
	if s := r.state.Load(); s != nil {
		return s.mangler
	}
	r.configMu.Lock()
	defer r.configMu.Unlock()
	return r.explicitMangler
}

// Invalidator returns the invalidation strategy in use, or nil before
// Configure.
func (r *Region) Invalidator() InvalidationStrategy {
	if s := r.state.Load(); s != nil {
		return s.invalidator
	}
	return nil
}

// Configure gives the region its backend, by registered short name.
// An unknown name is ErrPluginNotFound; configuring twice without
// WithReplaceExistingBackend is ErrAlreadyConfigured. When replacing, the
// old backend is closed if it implements io.Closer.
func (r *Region) Configure(backend string, opts ...ConfigOption) error {
	var cs configSettings
	for _, o := range opts {
		o(&cs)
	}
	if cs.expiration < 0 {
		return &ArgumentError{Name: "expiration_time", Value: cs.expiration, Want: "a duration of zero or more"}
	}
	for _, p := range cs.wrap {
		if isNilProxy(p) {
			return &ArgumentError{Name: "wrap", Value: p, Want: "a proxy"}
		}
	}
	r.configMu.Lock()
	defer r.configMu.Unlock()
	old := r.state.Load()
	if old != nil && !cs.replace {
		return fmt.Errorf("%w: region %q already has backend %q (use WithReplaceExistingBackend to replace it)", ErrAlreadyConfigured, r.name, old.backendName)
	}
	actual, err := NewBackend(backend, cs.args)
	if err != nil {
		return fmt.Errorf("region %q: %w", r.name, err)
	}
	if ss, ok := actual.(SerializerSetter); ok {
		ss.SetSerializer(r.serializer)
	}
	if ch, ok := actual.(interface {
		SetCorruptionHandler(func(ctx context.Context, key string, err error))
	}); ok {
		ch.SetCorruptionHandler(r.reportError)
	}
	st := &regionState{
		backendName: backend,
		backend:     actual,
		actual:      actual,
		expiration:  cs.expiration,
		invalidator: cs.invalidator,
		mangler:     r.explicitMangler,
	}
	switch {
	case st.invalidator == nil && old != nil:
		st.invalidator = old.invalidator // replacing the backend keeps the invalidations
	case st.invalidator == nil:
		st.invalidator = NewInvalidationStrategy()
	}
	if si, ok := st.invalidator.(*SharedInvalidation); ok {
		si.bind(r)
	}
	if st.mangler == nil {
		if km, ok := BackendAs[KeyMangler](actual); ok {
			st.mangler = km.KeyMangler()
		}
	}
	if ms, ok := BackendAs[KeyManglerSetter](actual); ok {
		ms.SetKeyMangler(st.mangler)
	}
	for i := len(cs.wrap) - 1; i >= 0; i-- {
		cs.wrap[i].SetProxied(st.backend)
		st.backend = cs.wrap[i]
	}
	st.observers = chainObservers(r.name, r.observers, st.backend)
	st.fast = fastPath(st.backend)
	r.state.Store(st)
	if old != nil {
		if c, ok := BackendAs[io.Closer](old.actual); ok {
			_ = c.Close()
		}
		if c, ok := old.invalidator.(io.Closer); ok && old.invalidator != st.invalidator {
			_ = c.Close()
		}
	}
	return nil
}

// fastPath returns b as a ValueReader when every layer of the chain from b
// down implements ValueReader, else nil.
func fastPath(b Backend) ValueReader {
	top, ok := b.(ValueReader)
	if !ok {
		return nil
	}
	for layer := b; layer != nil; {
		if _, ok := layer.(ValueReader); !ok {
			return nil
		}
		u, ok := layer.(interface{ Unwrap() Backend })
		if !ok {
			break
		}
		layer = u.Unwrap()
	}
	return top
}

// isNilProxy reports whether p is nil or a typed nil pointer.
func isNilProxy(p Proxy) bool {
	if p == nil {
		return true
	}
	v := reflect.ValueOf(p)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// BackendAs finds an optional interface (io.Closer, KeyManglerSetter, a
// backend's own type, ...) on b or on what b wraps: it walks down proxies
// (anything with an Unwrap() Backend method, as ProxyBackend has) and looks
// through a SerializedBackend to its byte store.
func BackendAs[I any](b Backend) (I, bool) {
	for b != nil {
		if i, ok := b.(I); ok {
			return i, true
		}
		if sb, ok := b.(*SerializedBackend); ok {
			i, ok := sb.Bytes().(I)
			return i, ok
		}
		u, ok := b.(interface{ Unwrap() Backend })
		if !ok {
			break
		}
		b = u.Unwrap()
	}
	var zero I
	return zero, false
}

// Wrap adds a proxy outside the current chain: it becomes Backend() and sees
// every call first.
func (r *Region) Wrap(p Proxy) error {
	if isNilProxy(p) {
		return &ArgumentError{Name: "proxy", Value: p, Want: "a proxy"}
	}
	r.configMu.Lock()
	defer r.configMu.Unlock()
	old := r.state.Load()
	if old == nil {
		return fmt.Errorf("%w: region %q: Wrap needs a configured backend", ErrNotConfigured, r.name)
	}
	st := *old
	p.SetProxied(st.backend)
	st.backend = p
	st.fast = fastPath(st.backend)
	st.observers = chainObservers(r.name, r.observers, st.backend)
	r.state.Store(&st)
	return nil
}

// SetKeyMangler replaces the key mangler (nil: none) and tells the backend,
// if it wants to know (KeyManglerSetter). Values stored under the old
// mangled keys are not moved.
func (r *Region) SetKeyMangler(f func(string) string) {
	r.configMu.Lock()
	defer r.configMu.Unlock()
	r.explicitMangler = f
	old := r.state.Load()
	if old == nil {
		return
	}
	st := *old
	st.mangler = f
	if ms, ok := BackendAs[KeyManglerSetter](st.actual); ok {
		ms.SetKeyMangler(f)
	}
	r.state.Store(&st)
}

// Close stops what the region started (a shared invalidation strategy's
// refresher) and closes the actual backend if it implements io.Closer
// (stopping background cleanup, closing connections). The region is
// unusable after.
func (r *Region) Close() error {
	s := r.state.Load()
	if s == nil {
		return nil
	}
	var errs []error
	if c, ok := s.invalidator.(io.Closer); ok {
		errs = append(errs, c.Close())
	}
	if c, ok := BackendAs[io.Closer](s.actual); ok {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// load returns the region's state, or ErrNotConfigured. It is inlined into
// the data calls.
func (r *Region) load() (*regionState, error) {
	if s := r.state.Load(); s != nil {
		return s, nil
	}
	return nil, r.unconfigured
}

func (r *Region) reportError(ctx context.Context, key string, err error) {
	if r.onError != nil {
		r.onError(ctx, key, err)
		return
	}
	slog.WarnContext(ctx, "dogpile: region error", "region", r.name, "key", key, "error", err)
}

// Invalidate invalidates every value the region holds now, through its
// InvalidationStrategy. Hard: values read as absent and GetOrCreate callers
// wait for a new one. Soft: values read as expired; GetOrCreate serves the
// old value while one caller regenerates (this needs an expiration time).
// Before Configure it does nothing.
func (r *Region) Invalidate(hard bool) {
	if s := r.state.Load(); s != nil {
		s.invalidator.Invalidate(hard)
	}
}

// ContextInvalidator is implemented by invalidation strategies whose
// Invalidate does I/O (SharedInvalidation writes its record to the
// backend): InvalidateContext bounds it by ctx and returns its error.
type ContextInvalidator interface {
	InvalidateContext(ctx context.Context, hard bool) error
}

// InvalidateContext is Invalidate with a context and an error: for a
// strategy that writes the invalidation somewhere (a ContextInvalidator,
// such as SharedInvalidation) the write is bounded by ctx and its error
// returned rather than sent to the ErrorHandler. Other strategies invalidate
// as Invalidate does. Before Configure it returns ErrNotConfigured.
func (r *Region) InvalidateContext(ctx context.Context, hard bool) error {
	s, err := r.load()
	if err != nil {
		return err
	}
	if ci, ok := s.invalidator.(ContextInvalidator); ok {
		if err := ci.InvalidateContext(ctx, hard); err != nil {
			return fmt.Errorf("region %q: invalidate: %w", r.name, err)
		}
		return nil
	}
	s.invalidator.Invalidate(hard)
	return nil
}

// SHA1MangleKey returns the hex SHA-1 of key, like dogpile's
// sha1_mangle_key: any key becomes 40 characters safe for every backend.
func SHA1MangleKey(key string) string {
	var buf [256]byte // keys up to this long are hashed without an allocation
	sum := sha1.Sum(append(buf[:0], key...))
	var out [2 * sha1.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// mutexFor returns the mutex guarding creation of a mangled key: the
// backend's, or the region's in-process one.
func (r *Region) mutexFor(s *regionState, mkey string) Mutex {
	if m := s.backend.GetMutex(mkey); m != nil {
		return m
	}
	return r.locks.Mutex(mkey)
}

// KeyIsLocked reports whether key's creation lock is held (a value is being
// created for it).
func (r *Region) KeyIsLocked(ctx context.Context, key string) (bool, error) {
	s, err := r.load()
	if err != nil {
		return false, err
	}
	return r.mutexFor(s, s.mangle(key)).Locked(ctx)
}

// nilCreator is the error for a create call without a creator.
func nilCreator(key string) error {
	return &ArgumentError{Name: "creator", Value: nil, Want: fmt.Sprintf("a creator function for key %q", key)}
}
