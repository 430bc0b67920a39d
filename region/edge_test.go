package region_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/region"
)

func TestAsyncRunnerPanicOrDoubleCallLeavesNoStuckKey(t *testing.T) {
	ctx := context.Background()
	for name, runner := range map[string]region.AsyncCreationRunner{
		"panics":      func(string, func()) { panic("pool closed") },
		"calls-twice": func(_ string, job func()) { job(); job() },
	} {
		t.Run(name, func(t *testing.T) {
			var reported atomic.Int32
			r := configured(t, "async-"+name, []region.Option{
				region.WithAsyncCreationRunner(runner),
				region.WithErrorHandler(func(context.Context, string, error) { reported.Add(1) }),
			}, region.WithExpirationTime(time.Minute))
			setOld(t, r, "k", "old", time.Hour)
			var calls atomic.Int32
			creator := func(context.Context) (any, error) { calls.Add(1); return "new", nil }
			if v, err := r.GetOrCreate(ctx, "k", creator); err != nil || v != "old" {
				t.Fatalf("GetOrCreate = %v, %v; want the old value", v, err)
			}
			if locked, _ := r.KeyIsLocked(ctx, "k"); locked {
				t.Fatal("the key is still locked after the runner returned")
			}
			if name == "calls-twice" && calls.Load() != 1 {
				t.Fatalf("the job ran the creator %d times; want once", calls.Load())
			}
			if name == "panics" && reported.Load() == 0 {
				t.Fatal("the runner's panic was not reported")
			}
			r.Invalidate(true)
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = r.GetOrCreate(ctx, "k", creator)
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("GetOrCreate hangs after the runner misbehaved")
			}
		})
	}
}

func TestReplaceBackendKeepsInvalidator(t *testing.T) {
	r := configured(t, "replace-inv", nil)
	custom := region.NewInvalidationStrategy()
	if err := r.Configure("memory", region.WithReplaceExistingBackend(), region.WithInvalidator(custom)); err != nil {
		t.Fatal(err)
	}
	r.Invalidate(true)
	if err := r.Configure("memory_serialized", region.WithReplaceExistingBackend()); err != nil {
		t.Fatal(err)
	}
	if r.Invalidator() != custom || !wasInvalidated(custom, true) {
		t.Fatal("replacing the backend dropped the invalidation strategy")
	}
}

func TestEarlyRefreshFailureServesCurrentValue(t *testing.T) {
	r := configured(t, "early-fail", []region.Option{region.WithEarlyRefresh(1e9)}, region.WithExpirationTime(time.Hour))
	ctx := context.Background()
	// Teach the region that creation takes a while, so early refresh fires.
	if _, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) {
		time.Sleep(20 * time.Millisecond)
		return "current", nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		v, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return nil, errCreator })
		if err != nil || v != "current" {
			t.Fatalf("call %d = %v, %v; a failed early refresh must serve the unexpired value", i, v, err)
		}
	}
}

// GetOrCreateAs has a hit path of its own; early refresh must reach it too.
func TestEarlyRefreshReachesTypedHits(t *testing.T) {
	r := configured(t, "early-typed", []region.Option{region.WithEarlyRefresh(1e9)}, region.WithExpirationTime(time.Hour))
	ctx := context.Background()
	if _, err := region.GetOrCreateAs(ctx, r, "k", func(context.Context) (string, error) {
		time.Sleep(20 * time.Millisecond) // teach the region that creation takes a while
		return "first", nil
	}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	for range 20 {
		if _, err := region.GetOrCreateAs(ctx, r, "k", func(context.Context) (string, error) {
			calls.Add(1)
			return "refreshed", nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() == 0 {
		t.Fatal("with a huge early-refresh factor, fresh hits never regenerated the value")
	}
}

// GetOrCreateAs decides on early refresh once per call, as GetOrCreate
// does: a value that the first draw keeps is not drawn for again, nor one it
// picks. At an age where one draw refreshes about half the time, both calls
// refresh about equally often (three draws in a row would make the typed
// call's count a quarter of the other's).
func TestEarlyRefreshDrawsOncePerCall(t *testing.T) {
	const exp = 10 * time.Second
	const creation = 10 * time.Millisecond
	r := configured(t, "early-once", []region.Option{region.WithEarlyRefresh(1)}, region.WithExpirationTime(exp))
	ctx := context.Background()
	var calls atomic.Int32
	creator := func(context.Context) (string, error) {
		calls.Add(1)
		time.Sleep(creation) // the region learns that creation takes about this long
		return "new", nil
	}
	for i := range 5 {
		if _, err := region.GetOrCreateAs(ctx, r, fmt.Sprint("learn-", i), creator); err != nil {
			t.Fatal(err)
		}
	}
	// One draw refreshes with probability exp(-(exp-age)/creation): 1/2 at
	// this age, more if creation took longer than asked (sleeps overrun).
	age := exp - time.Duration(math.Round(float64(creation)*math.Ln2))
	const trials = 200
	refreshed := map[string]int32{}
	for _, call := range []struct {
		name string
		get  func() error
	}{
		{"GetOrCreateAs", func() error { _, err := region.GetOrCreateAs(ctx, r, "k", creator); return err }},
		{"GetOrCreate", func() error {
			_, err := r.GetOrCreate(ctx, "k", func(ctx context.Context) (any, error) { return creator(ctx) })
			return err
		}},
	} {
		calls.Store(0)
		for range trials {
			setOld(t, r, "k", "old", age)
			if err := call.get(); err != nil {
				t.Fatal(err)
			}
		}
		refreshed[call.name] = calls.Load()
	}
	// Compared with each other, the counts do not depend on how long the
	// sleeps really took: with three draws, GetOrCreateAs would refresh
	// p^3/p of GetOrCreate's count (an eighth at p = 1/2).
	typed, untyped := refreshed["GetOrCreateAs"], refreshed["GetOrCreate"]
	if untyped < trials/10 || float64(typed) < 0.7*float64(untyped) {
		t.Fatalf("refreshed %d times through GetOrCreateAs, %d through GetOrCreate (of %d each); want about the same", typed, untyped, trials)
	}
}

// lookupCounter counts the reads of the region's fast path.
type lookupCounter struct {
	region.ProxyBackend
	next region.ValueReader
	n    atomic.Int32
}

func (p *lookupCounter) SetProxied(b region.Backend) {
	p.ProxyBackend.SetProxied(b)
	p.next = b.(region.ValueReader)
}

func (p *lookupCounter) Lookup(key string) *region.CachedValue {
	p.n.Add(1)
	return p.next.Lookup(key)
}

// A miss costs GetOrCreateAs the same reads as GetOrCreate: the value its
// hit path read is handed on, not read again.
func TestGetOrCreateAsMissReadsOnce(t *testing.T) {
	ctx := context.Background()
	counter := &lookupCounter{}
	r := configured(t, "miss-reads", nil, region.WithWrap(counter))
	if _, err := r.GetOrCreate(ctx, "a", func(context.Context) (any, error) { return "v", nil }); err != nil {
		t.Fatal(err)
	}
	untyped := counter.n.Swap(0)
	if _, err := region.GetOrCreateAs(ctx, r, "b", func(context.Context) (string, error) { return "v", nil }); err != nil {
		t.Fatal(err)
	}
	if typed := counter.n.Load(); typed != untyped {
		t.Fatalf("a miss read the backend %d times through GetOrCreateAs, %d through GetOrCreate", typed, untyped)
	}
}

// GetMulti on a byte backend reads in key order: a key asked twice gets its
// value twice, a corrupt one reads as absent, with or without a proxy.
func TestGetMultiSerializedKeyOrder(t *testing.T) {
	ctx := context.Background()
	for _, wrap := range [][]region.Proxy{nil, {&region.ProxyBackend{}}} {
		r := region.New("multi-order")
		if err := r.Configure("memory_serialized", region.WithWrap(wrap...)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		if err := r.SetMulti(ctx, map[string]any{"a": "A", "b": "B"}); err != nil {
			t.Fatal(err)
		}
		bytes := r.ActualBackend().(*region.SerializedBackend).Bytes()
		if err := bytes.SetSerialized(ctx, "bad", []byte("not an envelope")); err != nil {
			t.Fatal(err)
		}
		got, err := r.GetMulti(ctx, []string{"b", "a", "missing", "a", "bad"})
		if err != nil {
			t.Fatal(err)
		}
		want := []any{"B", "A", region.NoValue, "A", region.NoValue}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("with %d proxies: GetMulti = %v, want %v", len(wrap), got, want)
		}
	}
}

func TestGetOrCreateMultiKeysManglingAlike(t *testing.T) {
	r := configured(t, "mangle-alike", []region.Option{region.WithKeyMangler(strings.ToLower)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var asked []string
	vals, err := r.GetOrCreateMulti(ctx, []string{"A", "a", "b"}, func(_ context.Context, keys []string) ([]any, error) {
		asked = keys
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = "v-" + strings.ToLower(k)
		}
		return out, nil
	})
	if err != nil {
		t.Fatalf("GetOrCreateMulti: %v", err)
	}
	if len(asked) != 2 || vals[0] != "v-a" || vals[1] != "v-a" || vals[2] != "v-b" {
		t.Fatalf("asked %v, got %v", asked, vals)
	}
}

// lockProxy hands out one shared mutex for every key.
type lockProxy struct {
	region.ProxyBackend
	m region.Mutex
}

func (p *lockProxy) GetMutex(string) region.Mutex { return p.m }

// heldLockRegion is a region with a 200ms FailSafe.HardTimeout whose
// creation lock for "k" someone else holds until the test ends.
func heldLockRegion(t *testing.T, name string) *region.Region {
	t.Helper()
	locks := lockmutex.NewRegistry()
	held := locks.Mutex("k")
	ctx := context.Background()
	if ok, _ := held.Acquire(ctx, false); !ok {
		t.Fatal("could not take the lock")
	}
	t.Cleanup(func() { _ = held.Release(ctx) })
	return configured(t, name, []region.Option{region.WithFailSafe(region.FailSafe{HardTimeout: 200 * time.Millisecond})},
		region.WithWrap(&lockProxy{m: locks.Mutex("k")}))
}

func TestHardTimeoutBoundsContendedLock(t *testing.T) {
	ctx := context.Background()
	r := heldLockRegion(t, "hard-lock")
	start := time.Now()
	_, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return "v", nil })
	if !errors.Is(err, region.ErrCreationTimeout) {
		t.Fatalf("err = %v; want ErrCreationTimeout", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("waited %v with a 200ms hard timeout", took)
	}
}

func TestCancelWhileWaitingForCreationLock(t *testing.T) {
	locks := lockmutex.NewRegistry()
	held := locks.Mutex("k")
	if ok, _ := held.Acquire(context.Background(), false); !ok {
		t.Fatal("could not take the lock")
	}
	defer held.Release(context.Background())
	r := configured(t, "cancel-lock", nil, region.WithWrap(&lockProxy{m: locks.Mutex("k")}))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var called atomic.Bool
	_, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { called.Store(true); return "v", nil })
	if !errors.Is(err, context.DeadlineExceeded) || called.Load() {
		t.Fatalf("err = %v, creator called %v; want the context's error and no creation", err, called.Load())
	}
}

// busyMutex reports the lock busy, as a memcached lock out of attempts does.
type busyMutex struct{}

func (busyMutex) Acquire(context.Context, bool) (bool, error) {
	return false, fmt.Errorf("%w: 3 attempts on \"_lockk\"", lockmutex.ErrMaxLockAttempts)
}
func (busyMutex) Release(context.Context) error        { return nil }
func (busyMutex) Locked(context.Context) (bool, error) { return true, nil }

func TestBusyLockIsNotFailOpen(t *testing.T) {
	r := configured(t, "busy", nil, region.WithWrap(&lockProxy{m: busyMutex{}}))
	var called atomic.Bool
	_, err := r.GetOrCreate(context.Background(), "k", func(context.Context) (any, error) { called.Store(true); return "v", nil })
	if !errors.Is(err, lockmutex.ErrMaxLockAttempts) || called.Load() {
		t.Fatalf("err = %v, creator called %v; a busy lock must not start a second creator", err, called.Load())
	}
}

// gaveUpMutex is held by someone else and gives up waiting without an
// error, as a PyLock past its BlockingTimeout does (redis-py's acquire
// returns False).
type gaveUpMutex struct{}

func (gaveUpMutex) Acquire(context.Context, bool) (bool, error) { return false, nil }
func (gaveUpMutex) Release(context.Context) error               { return errors.New("released a lock never taken") }
func (gaveUpMutex) Locked(context.Context) (bool, error)        { return true, nil }

// TestWaitBoundCreatesWithoutLock: a waiting Acquire that gives up without
// an error lets the caller create the value without the lock, as dogpile
// does, on a strict region too, and reports nothing.
func TestWaitBoundCreatesWithoutLock(t *testing.T) {
	for _, strict := range []bool{false, true} {
		var log errorLog
		opts := []region.Option{region.WithErrorHandler(log.handler)}
		if strict {
			opts = append(opts, region.WithStrictBackendErrors())
		}
		r := configured(t, "gave-up", opts, region.WithWrap(&lockProxy{m: gaveUpMutex{}}))
		v, err := r.GetOrCreate(context.Background(), "k", func(context.Context) (any, error) { return "v", nil })
		if err != nil || v != "v" {
			t.Fatalf("strict=%v: GetOrCreate = %v, %v; want the creator's value", strict, v, err)
		}
		if got, ok, _ := r.Get(context.Background(), "k"); !ok || got != "v" {
			t.Fatalf("strict=%v: the value was not stored (%v, %v)", strict, got, ok)
		}
		vals, err := r.GetOrCreateMulti(context.Background(), []string{"a"}, func(context.Context, []string) ([]any, error) { return []any{"A"}, nil })
		if err != nil || vals[0] != "A" {
			t.Fatalf("strict=%v: GetOrCreateMulti = %v, %v; want the creator's value", strict, vals, err)
		}
		log.mu.Lock()
		reported := log.errs
		log.mu.Unlock()
		if len(reported) != 0 {
			t.Fatalf("strict=%v: reported %v; giving up waiting is the lock's bound, not a failure", strict, reported)
		}
	}
}

func TestPerCallZeroExpirationAlwaysRegenerates(t *testing.T) {
	r := configured(t, "zero-exp", nil, region.WithExpirationTime(time.Hour))
	ctx := context.Background()
	n := 0
	creator := func(context.Context) (any, error) { n++; return n, nil }
	for i := 1; i <= 3; i++ {
		v, err := r.GetOrCreate(ctx, "k", creator, region.WithExpiration(0))
		if err != nil || v != i {
			t.Fatalf("call %d = %v, %v; WithExpiration(0) means always expired", i, v, err)
		}
		time.Sleep(time.Millisecond)
	}
	if v, _ := r.GetOrCreate(ctx, "k", creator); v != 3 {
		t.Fatalf("without the option = %v; want the cached 3", v)
	}
}

func TestSoftInvalidationWithoutExpirationFirstCall(t *testing.T) {
	r := configured(t, "soft-first", nil)
	ctx := context.Background()
	r.Invalidate(false)
	if _, err := r.GetOrCreate(ctx, "never-set", func(context.Context) (any, error) { return "v", nil }); !errors.Is(err, region.ErrSoftInvalidationNeedsExpiration) {
		t.Fatalf("err = %v; want ErrSoftInvalidationNeedsExpiration", err)
	}
	if _, ok, _ := r.Get(ctx, "never-set"); ok {
		t.Fatal("a value was stored")
	}
	if _, err := r.GetOrCreateMulti(ctx, []string{"m"}, func(context.Context, []string) ([]any, error) { return []any{1}, nil }); !errors.Is(err, region.ErrSoftInvalidationNeedsExpiration) {
		t.Fatalf("multi err = %v", err)
	}
}

func TestNilProxyRejected(t *testing.T) {
	var typedNil *counterProxy
	for _, p := range []region.Proxy{nil, typedNil} {
		r := region.New("nil-proxy")
		err := r.Configure("memory", region.WithWrap(p))
		if !errors.Is(err, region.ErrBadArgument) || r.IsConfigured() {
			t.Fatalf("WithWrap(%#v): err = %v", p, err)
		}
	}
}

func TestCoerceStringKeepsTextThatIsNotANumber(t *testing.T) {
	for in, want := range map[string]any{"600": 600, "1.5": 1.5, "0123": "0123", "1e3": "1e3", "1.10": "1.10", "true": true, "None": nil, "a,b": "a,b"} {
		if got := region.CoerceString(in); got != want {
			t.Errorf("CoerceString(%q) = %#v; want %#v", in, got, want)
		}
	}
	if n, err := (region.Arguments{"x": "0123"}).Int("x", 0); err != nil || n != 123 {
		t.Errorf("Int of \"0123\" = %v, %v", n, err)
	}
}

func TestNilCreatorIsArgumentError(t *testing.T) {
	r := configured(t, "nil-creator", nil)
	if _, err := r.GetOrCreate(context.Background(), "k", nil); !errors.Is(err, region.ErrBadArgument) || !strings.Contains(err.Error(), `"k"`) {
		t.Fatalf("err = %v", err)
	}
}

// rejectingProxy refuses every write as a caller error (an illegal key,
// say), as the memcached backend does.
type rejectingProxy struct{ region.ProxyBackend }

func (rejectingProxy) Set(_ context.Context, key string, _ region.CachedValue) error {
	return &region.ArgumentError{Name: "key", Value: key, Want: "a legal key"}
}

func TestCallerErrorsAreNotFailOpen(t *testing.T) {
	r := configured(t, "caller-error", nil, region.WithWrap(&rejectingProxy{}))
	_, err := r.GetOrCreate(context.Background(), "has space", func(context.Context) (any, error) { return "v", nil })
	if !errors.Is(err, region.ErrBadArgument) {
		t.Fatalf("err = %v; an illegal key must be returned, not hidden by fail-open", err)
	}
}

// panicOnSecondGet panics on its second Get: the re-read after winning a
// stale value's lock.
type panicOnSecondGet struct {
	region.ProxyBackend
	gets atomic.Int32
}

func (p *panicOnSecondGet) Get(ctx context.Context, key string) (region.CachedValue, bool, error) {
	if p.gets.Add(1) == 2 {
		panic("proxy exploded")
	}
	return p.Proxied.Get(ctx, key)
}

func TestPanicDuringStaleRegenerationFreesTheKey(t *testing.T) {
	proxy := &panicOnSecondGet{}
	r := configured(t, "stale-panic", nil, region.WithExpirationTime(time.Minute), region.WithWrap(proxy))
	setOld(t, r, "k", "old", time.Hour)
	ctx := context.Background()
	func() {
		defer func() { _ = recover() }()
		_, _ = r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return "new", nil })
	}()
	if locked, _ := r.KeyIsLocked(ctx, "k"); locked {
		t.Fatal("the key stayed locked after a panic during regeneration")
	}
	v, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return "new", nil })
	if err != nil || v != "new" {
		t.Fatalf("after the panic: %v, %v; want the key regenerated", v, err)
	}
}

func TestHardTimeoutBoundsGetOrCreateMulti(t *testing.T) {
	ctx := context.Background()
	r := heldLockRegion(t, "hard-multi")
	start := time.Now()
	_, err := r.GetOrCreateMulti(ctx, []string{"k"}, func(context.Context, []string) ([]any, error) { return []any{1}, nil })
	if !errors.Is(err, region.ErrCreationTimeout) || time.Since(start) > 3*time.Second {
		t.Fatalf("err = %v after %v; want ErrCreationTimeout soon after 200ms", err, time.Since(start))
	}
}

// flagStrategy is a strategy of a program's own: every invalidation is
// hard.
type flagStrategy struct {
	mu     sync.Mutex
	cutoff time.Time
}

func (f *flagStrategy) Invalidate(bool) { f.mu.Lock(); f.cutoff = time.Now(); f.mu.Unlock() }
func (f *flagStrategy) LastInvalidation() *region.Invalidation {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cutoff.IsZero() {
		return nil
	}
	return &region.Invalidation{At: f.cutoff, Hard: true}
}

// A strategy of the program's own is asked on every hit path.
func TestCustomInvalidationStrategyOnHitPaths(t *testing.T) {
	ctx := context.Background()
	r := configured(t, "custom-inv", nil, region.WithInvalidator(&flagStrategy{}))
	if err := r.Set(ctx, "k", "old"); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := region.GetAs[string](ctx, r, "k"); !ok || v != "old" {
		t.Fatalf("before Invalidate: %v, %v", v, ok)
	}
	time.Sleep(time.Millisecond)
	r.Invalidate(true)
	if _, ok, _ := r.Get(ctx, "k"); ok {
		t.Error("Get returned an invalidated value")
	}
	if _, ok, _ := region.GetAs[string](ctx, r, "k"); ok {
		t.Error("GetAs returned an invalidated value")
	}
	if v, err := region.GetOrCreateAs(ctx, r, "k", func(context.Context) (string, error) { return "new", nil }); err != nil || v != "new" {
		t.Errorf("GetOrCreateAs = %v, %v; want the value regenerated", v, err)
	}
}
