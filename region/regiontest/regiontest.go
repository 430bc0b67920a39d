// Package regiontest is the generic backend test suite, ported from
// dogpile.cache's: every backend in this module runs it, and a plugin
// author runs it on a new backend to check that the region behaves on it as
// on the built-in ones:
//
//	func TestMyBackend(t *testing.T) {
//		regiontest.RunBackendTests(t, "mybackend", region.Arguments{"url": addr})
//	}
//
// A backend with a mutex of its own (GetMutex returns one) can also run
// RunMutexTests, which tests that mutex in more depth.
//
// The suite configures fresh regions on the named backend, uses keys unique
// to each run (so a shared server needs no flushing) and takes about ten
// seconds, most of it waiting for values to expire.
package regiontest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// Timing of the expiration tests. Values expire after Expiration; tests
// wait ExpiryWait for that (a wide margin for a loaded machine).
const (
	Expiration = 400 * time.Millisecond
	ExpiryWait = 1000 * time.Millisecond
)

// Suite holds what the tests need to build regions on one backend.
type Suite struct {
	Backend   string
	Arguments region.Arguments
	// RegionOptions are passed to region.New for every region made.
	RegionOptions []region.Option
	// Proxies, when set, makes the proxies every region made is wrapped in
	// (region.WithWrap), new ones for each region: a proxy's author runs
	// the suite through the proxy.
	Proxies func() []region.Proxy
	prefix  string
}

// RunBackendTests runs the whole generic suite on the named backend.
func RunBackendTests(t *testing.T, backend string, args region.Arguments) {
	t.Helper()
	(&Suite{Backend: backend, Arguments: args}).Run(t)
}

// Run runs the whole suite as subtests of t.
func (s *Suite) Run(t *testing.T) {
	s.run(t, []namedTest{
		{"GetMissing", s.testGetMissing},
		{"SetGet", s.testSetGet},
		{"SetMultiThenGetEach", s.testSetMultiThenGet},
		{"GetMultiKeyOrder", s.testGetMultiOrder},
		{"EmptyMultiCalls", s.testEmptyMulti},
		{"DeleteTwice", s.testDeleteTwice},
		{"DeleteMulti", s.testDeleteMulti},
		{"GetOrCreateOnce", s.testGetOrCreateOnce},
		{"KeyIsLocked", s.testKeyIsLocked},
		{"TypedRoundTrip", s.testTyped},
		{"ShouldCacheFalse", s.testShouldCache},
		{"GetOrCreateMultiNilNotCached", s.testMultiShouldCacheNil},
		{"FailingCreator", s.testFailingCreator},
		{"ReentrantGetOrCreate", s.testReentrant},
		{"GetOrCreateMultiOnlyMissing", s.testMultiOnlyMissing},
		{"HardInvalidation", s.testHardInvalidation},
		{"SoftInvalidationNeedsExpiration", s.testSoftNeedsExpiration},
		{"CancelledWaiter", s.testCancelledWaiter},
		{"ErrorReachesWaiters", s.testErrorReachesWaiters},
		{"Mutex", s.testMutex},
		{"Expiration", s.testExpiration},
		{"PerCallExpiration", s.testPerCallExpiration},
		{"SoftInvalidation", s.testSoftInvalidation},
		{"StaleServing", s.testStaleServing},
		{"ThreadedDogpile", s.testThreadedDogpile},
		{"ThreadedGetOrCreateMulti", s.testThreadedMulti},
	})
}

// namedTest is one subtest of a run of the suite.
type namedTest struct {
	name string
	fn   func(*testing.T)
}

// run runs tests as subtests of t, their keys under a new random prefix.
func (s *Suite) run(t *testing.T, tests []namedTest) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	s.prefix = "regiontest-" + hex.EncodeToString(b[:]) + "-"
	for _, tc := range tests {
		t.Run(tc.name, tc.fn)
	}
}

// NewRegion returns a region configured on the suite's backend, closed at
// the end of the test.
func (s *Suite) NewRegion(t testing.TB, opts ...region.ConfigOption) *region.Region {
	t.Helper()
	r := region.New(t.Name(), s.RegionOptions...)
	opts = append([]region.ConfigOption{region.WithArguments(s.Arguments)}, opts...)
	if s.Proxies != nil {
		opts = append(opts, region.WithWrap(s.Proxies()...))
	}
	if err := r.Configure(s.Backend, opts...); err != nil {
		t.Fatalf("configure %q: %v", s.Backend, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// Key returns a key unique to this run of the suite.
func (s *Suite) Key(t testing.TB, name string) string {
	return s.prefix + t.Name() + "/" + name
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustGetString(t testing.TB, r *region.Region, key string, opts ...region.CallOption) (string, bool) {
	t.Helper()
	v, ok, err := region.GetAs[string](ctxT(t), r, key, opts...)
	if err != nil {
		t.Fatalf("GetAs(%q): %v", key, err)
	}
	return v, ok
}

func (s *Suite) testGetMissing(t *testing.T) {
	r := s.NewRegion(t)
	v, ok, err := r.Get(ctxT(t), s.Key(t, "nothing"))
	if err != nil || ok || v != nil {
		t.Fatalf("Get(missing) = %v, %v, %v; want nil, false, nil", v, ok, err)
	}
	md, err := r.GetValueMetadata(ctxT(t), s.Key(t, "nothing"))
	if err != nil || md != nil {
		t.Fatalf("GetValueMetadata(missing) = %v, %v; want nil, nil", md, err)
	}
}

func (s *Suite) testSetGet(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "k")
	before := time.Now()
	if err := r.Set(ctx, k, "some value"); err != nil {
		t.Fatal(err)
	}
	v, ok, err := r.Get(ctx, k)
	if err != nil || !ok || v != "some value" {
		t.Fatalf("Get = %#v, %v, %v; want \"some value\"", v, ok, err)
	}
	md, err := r.GetValueMetadata(ctx, k)
	if err != nil || md == nil {
		t.Fatalf("GetValueMetadata = %v, %v", md, err)
	}
	if md.Payload != "some value" || md.Metadata.Version != region.ValueVersion {
		t.Fatalf("metadata = %+v", md)
	}
	if age := md.Metadata.CreatedAt.Sub(before); age < -time.Second || age > 10*time.Second {
		t.Fatalf("CreatedAt %v is not around %v", md.Metadata.CreatedAt, before)
	}
}

func (s *Suite) testSetMultiThenGet(t *testing.T) {
	r := s.NewRegion(t)
	ctx := ctxT(t)
	m := map[string]any{}
	for i := 1; i <= 3; i++ {
		m[s.Key(t, fmt.Sprint("key", i))] = fmt.Sprint("value", i)
	}
	if err := r.SetMulti(ctx, m); err != nil {
		t.Fatal(err)
	}
	for k, want := range m {
		if got, ok := mustGetString(t, r, k); !ok || got != want {
			t.Fatalf("Get(%q) = %q, %v; want %q", k, got, ok, want)
		}
	}
}

func (s *Suite) testGetMultiOrder(t *testing.T) {
	r := s.NewRegion(t)
	ctx := ctxT(t)
	keys := make([]string, 6)
	for i := range keys {
		keys[i] = s.Key(t, fmt.Sprint("key", i+1))
	}
	if err := r.DeleteMulti(ctx, keys[:5]); err != nil {
		t.Fatal(err)
	}
	if err := r.SetMulti(ctx, map[string]any{keys[0]: "v1", keys[2]: "v3", keys[4]: "v5"}); err != nil {
		t.Fatal(err)
	}
	got, err := r.GetMulti(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"v1", region.NoValue, "v3", region.NoValue, "v5", region.NoValue}
	if !slices.Equal(got, want) {
		t.Fatalf("GetMulti = %v; want %v", got, want)
	}
}

func (s *Suite) testEmptyMulti(t *testing.T) {
	r := s.NewRegion(t)
	ctx := ctxT(t)
	got, err := r.GetMulti(ctx, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("GetMulti(empty) = %v, %v", got, err)
	}
	if err := r.SetMulti(ctx, map[string]any{}); err != nil {
		t.Fatalf("SetMulti(empty): %v", err)
	}
	if err := r.DeleteMulti(ctx, nil); err != nil {
		t.Fatalf("DeleteMulti(empty): %v", err)
	}
	called := false
	vals, err := r.GetOrCreateMulti(ctx, nil, func(context.Context, []string) ([]any, error) {
		called = true
		return nil, nil
	})
	if err != nil || len(vals) != 0 || called {
		t.Fatalf("GetOrCreateMulti(empty) = %v, %v (creator called: %v)", vals, err, called)
	}
}

func (s *Suite) testDeleteTwice(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "k")
	if err := r.Set(ctx, k, "v"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := r.Delete(ctx, k); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if _, ok := mustGetString(t, r, k); ok {
		t.Fatal("value still there after Delete")
	}
}

func (s *Suite) testDeleteMulti(t *testing.T) {
	r := s.NewRegion(t)
	ctx := ctxT(t)
	k1, k2, k3, k10 := s.Key(t, "k1"), s.Key(t, "k2"), s.Key(t, "k3"), s.Key(t, "k10")
	if err := r.SetMulti(ctx, map[string]any{k1: "v1", k2: "v2", k3: "v3"}); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteMulti(ctx, []string{k2, k10}); err != nil {
		t.Fatalf("DeleteMulti with an absent key: %v", err)
	}
	got, err := r.GetMulti(ctx, []string{k1, k2, k3, k10})
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{"v1", region.NoValue, "v3", region.NoValue}; !slices.Equal(got, want) {
		t.Fatalf("after DeleteMulti: %v; want %v", got, want)
	}
}

func (s *Suite) testGetOrCreateOnce(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "k")
	var calls atomic.Int32
	creator := func(context.Context) (any, error) {
		calls.Add(1)
		return "some value", nil
	}
	for i := 0; i < 3; i++ {
		v, err := r.GetOrCreate(ctx, k, creator)
		if err != nil || v != "some value" {
			t.Fatalf("GetOrCreate #%d = %v, %v", i+1, v, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("creator called %d times; want 1", n)
	}
}

func (s *Suite) testKeyIsLocked(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "k")
	for i := 0; i < 2; i++ { // checking must not take the lock
		if locked, err := r.KeyIsLocked(ctx, k); err != nil || locked {
			t.Fatalf("KeyIsLocked(unused) = %v, %v", locked, err)
		}
	}
	release := holdCreation(t, ctx, r, k, "v")
	if locked, err := r.KeyIsLocked(ctx, k); err != nil || !locked {
		t.Errorf("KeyIsLocked during creation = %v, %v; want true", locked, err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if locked, err := r.KeyIsLocked(ctx, k); err != nil || locked {
		t.Fatalf("KeyIsLocked after creation = %v, %v; want false", locked, err)
	}
}

type sample struct {
	Name  string
	Count int
	Tags  []string
}

func (s *Suite) testTyped(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "k")
	want := sample{Name: "n", Count: 42, Tags: []string{"a", "b"}}
	got, err := region.GetOrCreateAs(ctx, r, k, func(context.Context) (sample, error) { return want, nil })
	if err != nil || got.Name != want.Name || got.Count != 42 || !slices.Equal(got.Tags, want.Tags) {
		t.Fatalf("GetOrCreateAs = %+v, %v", got, err)
	}
	again, ok, err := region.GetAs[sample](ctx, r, k)
	if err != nil || !ok || again.Count != 42 || !slices.Equal(again.Tags, want.Tags) {
		t.Fatalf("GetAs = %+v, %v, %v", again, ok, err)
	}
	if err := r.Set(ctx, k, 7); err != nil {
		t.Fatal(err)
	}
	n, ok, err := region.GetAs[int](ctx, r, k)
	if err != nil || !ok || n != 7 {
		t.Fatalf("GetAs[int] = %v, %v, %v", n, ok, err)
	}
	if err := r.Set(ctx, k, "text"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := region.GetAs[int](ctx, r, k); !errors.Is(err, region.ErrTypeMismatch) {
		t.Fatalf("GetAs[int] of a string: err = %v; want ErrTypeMismatch", err)
	}
}

func (s *Suite) testShouldCache(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "k")
	n := 0
	creator := func(context.Context) (any, error) { n++; return n, nil }
	onlyOdd := region.WithShouldCache(func(v any) bool { return v.(int)%2 == 1 })
	if v, err := r.GetOrCreate(ctx, k, creator, onlyOdd); err != nil || v != 1 {
		t.Fatalf("first = %v, %v", v, err)
	}
	if err := r.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if v, err := r.GetOrCreate(ctx, k, creator, onlyOdd); err != nil || v != 2 {
		t.Fatalf("second = %v, %v", v, err)
	}
	if _, ok, _ := r.Get(ctx, k); ok {
		t.Fatal("a value should-cache rejected was stored")
	}
	if v, err := r.GetOrCreate(ctx, k, creator, onlyOdd); err != nil || v != 3 {
		t.Fatalf("third = %v, %v", v, err)
	}
	if got, ok, _ := region.GetAs[int](ctx, r, k); !ok || got != 3 {
		t.Fatalf("stored = %v, %v; want 3", got, ok)
	}
}

func (s *Suite) testMultiShouldCacheNil(t *testing.T) {
	r := s.NewRegion(t)
	ctx := ctxT(t)
	keys := []string{s.Key(t, "1"), s.Key(t, "2"), s.Key(t, "3")}
	got, err := r.GetOrCreateMulti(ctx, keys, func(_ context.Context, ks []string) ([]any, error) {
		return make([]any, len(ks)), nil
	}, region.WithShouldCache(func(v any) bool { return v != nil }))
	if err != nil || !slices.Equal(got, []any{nil, nil, nil}) {
		t.Fatalf("GetOrCreateMulti = %v, %v; want [nil nil nil]", got, err)
	}
	vals, err := r.GetMulti(ctx, keys)
	if err != nil || !slices.Equal(vals, []any{region.NoValue, region.NoValue, region.NoValue}) {
		t.Fatalf("after: GetMulti = %v, %v; want nothing stored", vals, err)
	}
}

var errBoom = errors.New("boom")

func (s *Suite) testFailingCreator(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "k")
	_, err := r.GetOrCreate(ctx, k, func(context.Context) (any, error) { return nil, errBoom })
	if !errors.Is(err, errBoom) {
		t.Fatalf("GetOrCreate err = %v; want the creator's error", err)
	}
	if _, ok, _ := r.Get(ctx, k); ok {
		t.Fatal("a failing creator stored a value")
	}
	if locked, _ := r.KeyIsLocked(ctx, k); locked {
		t.Fatal("the creation lock is still held after a failing creator")
	}
	v, err := r.GetOrCreate(ctx, k, func(context.Context) (any, error) { return "ok", nil })
	if err != nil || v != "ok" {
		t.Fatalf("after failure: %v, %v", v, err)
	}
}

func (s *Suite) testReentrant(t *testing.T) {
	r := s.NewRegion(t)
	ctx, foo, bar := ctxT(t), s.Key(t, "foo"), s.Key(t, "bar")
	createFoo := func(ctx context.Context) (any, error) {
		b, err := r.GetOrCreate(ctx, bar, func(context.Context) (any, error) { return "bar", nil })
		if err != nil {
			return nil, err
		}
		return "foo" + b.(string), nil
	}
	for i := 0; i < 2; i++ {
		v, err := r.GetOrCreate(ctx, foo, createFoo)
		if err != nil || v != "foobar" {
			t.Fatalf("nested GetOrCreate #%d = %v, %v", i+1, v, err)
		}
	}
}

func (s *Suite) testMultiOnlyMissing(t *testing.T) {
	r := s.NewRegion(t)
	ctx := ctxT(t)
	k2, k3, k5 := s.Key(t, "k2"), s.Key(t, "k3"), s.Key(t, "k5")
	if err := r.Set(ctx, k3, "existing"); err != nil {
		t.Fatal(err)
	}
	var asked [][]string
	creator := func(_ context.Context, keys []string) ([]any, error) {
		asked = append(asked, keys)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = "made " + k
		}
		return out, nil
	}
	got, err := r.GetOrCreateMulti(ctx, []string{k5, k3, k2, k5}, creator)
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{"made " + k5, "existing", "made " + k2, "made " + k5}; !slices.Equal(got, want) {
		t.Fatalf("GetOrCreateMulti = %v; want %v", got, want)
	}
	if len(asked) != 1 || !slices.Equal(asked[0], []string{k2, k5}) {
		t.Fatalf("creator got %v; want one call with the missing keys [%s %s], sorted", asked, k2, k5)
	}
	if _, err := r.GetOrCreateMulti(ctx, []string{k2, k3, k5}, creator); err != nil || len(asked) != 1 {
		t.Fatalf("second call: err %v, creator calls %d; want no new call", err, len(asked))
	}
}

func (s *Suite) testHardInvalidation(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "k")
	n := 0
	creator := func(context.Context) (any, error) { n++; return fmt.Sprint("v", n), nil }
	if v, _ := r.GetOrCreate(ctx, k, creator); v != "v1" {
		t.Fatalf("first = %v", v)
	}
	time.Sleep(10 * time.Millisecond)
	r.Invalidate(true)
	if _, ok, _ := r.Get(ctx, k); ok {
		t.Fatal("Get returned a hard-invalidated value")
	}
	if _, ok, _ := r.Get(ctx, k, region.IgnoreExpiration()); ok {
		t.Fatal("Get(IgnoreExpiration) returned a hard-invalidated value")
	}
	for i := 0; i < 2; i++ {
		if v, _ := r.GetOrCreate(ctx, k, creator); v != "v2" {
			t.Fatalf("after invalidation #%d = %v; want v2", i+1, v)
		}
	}
}

func (s *Suite) testSoftNeedsExpiration(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "k")
	creator := func(context.Context) (any, error) { return "v", nil }
	if _, err := r.GetOrCreate(ctx, k, creator); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	r.Invalidate(false)
	if _, err := r.GetOrCreate(ctx, k, creator); !errors.Is(err, region.ErrSoftInvalidationNeedsExpiration) {
		t.Fatalf("GetOrCreate after soft invalidation without expiration: err = %v", err)
	}
	if _, err := r.GetOrCreateMulti(ctx, []string{k}, func(context.Context, []string) ([]any, error) {
		return []any{"v"}, nil
	}); !errors.Is(err, region.ErrSoftInvalidationNeedsExpiration) {
		t.Fatalf("GetOrCreateMulti after soft invalidation without expiration: err = %v", err)
	}
}

func (s *Suite) testCancelledWaiter(t *testing.T) {
	r := s.NewRegion(t)
	k := s.Key(t, "k")
	release := holdCreation(t, context.Background(), r, k, "v")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.GetOrCreate(ctx, k, func(context.Context) (any, error) { return "other", nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiter err = %v; want context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("waiter returned after %v; want promptly after its deadline", waited)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
}

func (s *Suite) testErrorReachesWaiters(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "k")
	var calls atomic.Int32
	creator := func(context.Context) (any, error) {
		calls.Add(1)
		time.Sleep(300 * time.Millisecond)
		return nil, errBoom
	}
	const n = 10
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := r.GetOrCreate(ctx, k, creator)
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; !errors.Is(err, errBoom) {
			t.Errorf("caller %d: err = %v; want the creator's error", i, err)
		}
	}
	// Callers that arrive while the creator runs share its error; a
	// straggler arriving after it ended may run the creator again, but
	// never more than a few times.
	if c := calls.Load(); c < 1 || c > 3 {
		t.Fatalf("creator ran %d times for %d concurrent callers", c, n)
	}
}

func (s *Suite) testMutex(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "mutex")
	m := backendMutex(t, r, k)
	if ok, err := m.Acquire(ctx, true); err != nil || !ok {
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	if ok, err := r.Backend().GetMutex(k).Acquire(ctx, false); err != nil || ok {
		t.Fatalf("second Acquire(wait=false) while held = %v, %v; want false", ok, err)
	}
	if locked, err := m.Locked(ctx); err != nil || !locked {
		t.Fatalf("Locked while held = %v, %v", locked, err)
	}
	if err := m.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if locked, err := m.Locked(ctx); err != nil || locked {
		t.Fatalf("Locked after release = %v, %v", locked, err)
	}
	// Distinct mutex values for one key exclude each other.
	var inCritical, overlaps atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 5; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				mu := r.Backend().GetMutex(k)
				if ok, err := mu.Acquire(ctx, true); err != nil || !ok {
					t.Errorf("Acquire = %v, %v", ok, err)
					return
				}
				if inCritical.Add(1) > 1 {
					overlaps.Add(1)
				}
				time.Sleep(2 * time.Millisecond)
				inCritical.Add(-1)
				if err := mu.Release(ctx); err != nil {
					t.Errorf("Release: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d overlapping holders of one mutex", n)
	}
}

func (s *Suite) testExpiration(t *testing.T) {
	t.Parallel()
	r := s.NewRegion(t, region.WithExpirationTime(Expiration))
	ctx, k := ctxT(t), s.Key(t, "k")
	n := 0
	creator := func(context.Context) (any, error) { n++; return fmt.Sprint("some value ", n), nil }
	if v, _ := r.GetOrCreate(ctx, k, creator); v != "some value 1" {
		t.Fatalf("first = %v", v)
	}
	time.Sleep(ExpiryWait)
	if _, ok := mustGetString(t, r, k); ok {
		t.Fatal("Get returned an expired value")
	}
	if v, ok := mustGetString(t, r, k, region.IgnoreExpiration()); !ok || v != "some value 1" {
		t.Fatalf("Get(IgnoreExpiration) = %q, %v; want the expired value", v, ok)
	}
	if v, _ := r.GetOrCreate(ctx, k, creator, region.WithExpiration(region.NoExpiration)); v != "some value 1" {
		t.Fatalf("GetOrCreate(NoExpiration) = %v; want the old value", v)
	}
	if v, _ := r.GetOrCreate(ctx, k, creator); v != "some value 2" {
		t.Fatalf("after expiry = %v; want regenerated", v)
	}
	if v, ok := mustGetString(t, r, k); !ok || v != "some value 2" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
}

func (s *Suite) testPerCallExpiration(t *testing.T) {
	t.Parallel()
	r := s.NewRegion(t, region.WithExpirationTime(time.Hour))
	ctx, k := ctxT(t), s.Key(t, "k")
	if err := r.Set(ctx, k, "v1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(ExpiryWait)
	if _, ok := mustGetString(t, r, k, region.WithExpiration(Expiration)); ok {
		t.Fatal("Get(WithExpiration(short)) returned an older value")
	}
	if v, ok := mustGetString(t, r, k); !ok || v != "v1" {
		t.Fatal("the per-call expiration leaked into a later call")
	}
	v, err := r.GetOrCreate(ctx, k, func(context.Context) (any, error) { return "v2", nil }, region.WithExpiration(Expiration))
	if err != nil || v != "v2" {
		t.Fatalf("GetOrCreate(WithExpiration(short)) = %v, %v; want regenerated", v, err)
	}
}

func (s *Suite) testSoftInvalidation(t *testing.T) {
	t.Parallel()
	r := s.NewRegion(t, region.WithExpirationTime(time.Hour))
	ctx, k := ctxT(t), s.Key(t, "k")
	n := 0
	creator := func(context.Context) (any, error) { n++; return fmt.Sprint("v", n), nil }
	if v, _ := r.GetOrCreate(ctx, k, creator); v != "v1" {
		t.Fatalf("first = %v", v)
	}
	time.Sleep(10 * time.Millisecond)
	r.Invalidate(false)
	if _, ok := mustGetString(t, r, k); ok {
		t.Fatal("Get returned a soft-invalidated value")
	}
	if v, ok := mustGetString(t, r, k, region.IgnoreExpiration()); !ok || v != "v1" {
		t.Fatalf("Get(IgnoreExpiration) = %q, %v; soft invalidation keeps the old value readable", v, ok)
	}
	if v, _ := r.GetOrCreate(ctx, k, creator); v != "v2" {
		t.Fatalf("after soft invalidation = %v; want v2 (this caller won the lock)", v)
	}
}

func (s *Suite) testStaleServing(t *testing.T) {
	t.Parallel()
	r := s.NewRegion(t, region.WithExpirationTime(Expiration))
	ctx, k := ctxT(t), s.Key(t, "k")
	if err := r.Set(ctx, k, "old"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(ExpiryWait)
	const slow = 2 * time.Second
	var calls atomic.Int32
	creator := func(context.Context) (any, error) {
		calls.Add(1)
		time.Sleep(slow)
		return "new", nil
	}
	const n = 20
	type result struct {
		v    any
		err  error
		took time.Duration
	}
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		go func() {
			start := time.Now()
			v, err := r.GetOrCreate(ctx, k, creator)
			results <- result{v, err, time.Since(start)}
		}()
	}
	var olds, news int
	for i := 0; i < n; i++ {
		res := <-results
		switch {
		case res.err != nil:
			t.Errorf("GetOrCreate: %v", res.err)
		case res.v == "old":
			olds++
			if res.took > slow/2 {
				t.Errorf("a caller waited %v for the old value; want it at once", res.took)
			}
		case res.v == "new":
			news++
		}
	}
	if c := calls.Load(); c != 1 {
		t.Fatalf("creator ran %d times; want exactly 1", c)
	}
	if news != 1 || olds != n-1 {
		t.Fatalf("%d callers got the new value and %d the old; want 1 and %d", news, olds, n-1)
	}
}

func (s *Suite) testThreadedDogpile(t *testing.T) {
	t.Parallel()
	r := s.NewRegion(t, region.WithExpirationTime(250*time.Millisecond))
	ctx, k := ctxT(t), s.Key(t, "k")
	var running, overlaps, calls atomic.Int32
	creator := func(context.Context) (any, error) {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		calls.Add(1)
		time.Sleep(250 * time.Millisecond)
		running.Add(-1)
		return "some value", nil
	}
	// With a backend mutex, half the goroutines use a second region on
	// the same backend: separate in-process flights, as in two processes,
	// so only the backend's lock keeps the creators apart.
	regions := []*region.Region{r}
	if r.Backend().GetMutex(k) != nil {
		regions = append(regions, s.NewRegion(t, region.WithExpirationTime(250*time.Millisecond)))
	}
	var wg sync.WaitGroup
	for g := 0; g < 10; g++ {
		wg.Add(1)
		r := regions[g%len(regions)]
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				v, err := r.GetOrCreate(ctx, k, creator)
				if err != nil || v != "some value" {
					t.Errorf("GetOrCreate = %v, %v", v, err)
					return
				}
				time.Sleep(500 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if c := calls.Load(); c < 2 {
		t.Fatalf("creator ran %d times; the value should have expired and been regenerated", c)
	}
	if o := overlaps.Load(); o != 0 {
		t.Fatalf("%d creators overlapped on one key", o)
	}
}

func (s *Suite) testThreadedMulti(t *testing.T) {
	t.Parallel()
	r := s.NewRegion(t, region.WithExpirationTime(250*time.Millisecond))
	ctx := ctxT(t)
	keys := make([]string, 10)
	running := map[string]*atomic.Int32{}
	for i := range keys {
		keys[i] = s.Key(t, fmt.Sprint(i))
		running[keys[i]] = new(atomic.Int32)
	}
	var overlaps, created atomic.Int32
	creator := func(_ context.Context, ks []string) ([]any, error) {
		for _, k := range ks {
			if running[k].Add(1) > 1 {
				overlaps.Add(1)
			}
		}
		created.Add(int32(len(ks)))
		time.Sleep(200 * time.Millisecond)
		out := make([]any, len(ks))
		for i, k := range ks {
			running[k].Add(-1)
			out[i] = "some value " + k
		}
		return out, nil
	}
	var wg sync.WaitGroup
	for g := 0; g < 5; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				ks := []string{keys[(g+i)%10], keys[(g*3+i)%10], keys[(g+2*i)%10]}
				vals, err := r.GetOrCreateMulti(ctx, ks, creator)
				if err != nil {
					t.Errorf("GetOrCreateMulti: %v", err)
					return
				}
				for j, v := range vals {
					if v != "some value "+ks[j] {
						t.Errorf("value for %s = %v", ks[j], v)
					}
				}
				time.Sleep(300 * time.Millisecond)
			}
		}(g)
	}
	wg.Wait()
	if created.Load() < 10 {
		t.Fatalf("only %d values created", created.Load())
	}
	if o := overlaps.Load(); o != 0 {
		t.Fatalf("%d creations overlapped on one key", o)
	}
}
