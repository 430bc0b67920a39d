package region_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/region"
)

var errCreator = errors.New("creator failed")

// errorLog collects what reaches a region's ErrorHandler.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) handler(_ context.Context, _ string, err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errorLog) count(target error) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.errs {
		if errors.Is(e, target) {
			n++
		}
	}
	return n
}

func setOld(t *testing.T, r *region.Region, key string, payload any, age time.Duration) {
	t.Helper()
	cv := region.CachedValue{Payload: payload, Metadata: region.Metadata{CreatedAt: time.Now().Add(-age), Version: region.ValueVersion}}
	if err := r.Backend().Set(context.Background(), key, cv); err != nil {
		t.Fatal(err)
	}
}

// graceRegion is a region with a 1 min expiration and an hour of fail-safe
// grace, whose errors go to the returned log.
func graceRegion(t *testing.T, name string) (*region.Region, *errorLog) {
	log := &errorLog{}
	r := configured(t, name, []region.Option{
		region.WithFailSafe(region.FailSafe{Grace: time.Hour}),
		region.WithErrorHandler(log.handler),
	}, region.WithExpirationTime(time.Minute))
	return r, log
}

func TestFailSafeServesStaleOnCreatorError(t *testing.T) {
	r, log := graceRegion(t, "failsafe")
	ctx := context.Background()
	setOld(t, r, "k", "old", 2*time.Minute)
	failing := func(context.Context) (any, error) { return nil, errCreator }
	v, err := r.GetOrCreate(ctx, "k", failing)
	if err != nil || v != "old" {
		t.Fatalf("GetOrCreate = %v, %v; want the expired value", v, err)
	}
	if log.count(errCreator) != 1 {
		t.Fatalf("the creator's error reached the hook %d times; want 1", log.count(errCreator))
	}
	// Past the grace period the error is returned.
	setOld(t, r, "k", "ancient", 2*time.Hour)
	if _, err := r.GetOrCreate(ctx, "k", failing); !errors.Is(err, errCreator) {
		t.Fatalf("beyond grace: err = %v; want the creator's error", err)
	}
	// Without fail-safe the error is returned too.
	plain := configured(t, "no-failsafe", nil, region.WithExpirationTime(time.Minute))
	setOld(t, plain, "k", "old", 2*time.Minute)
	if _, err := plain.GetOrCreate(ctx, "k", failing); !errors.Is(err, errCreator) {
		t.Fatalf("without fail-safe: err = %v", err)
	}
}

func TestFailSafeGraceMulti(t *testing.T) {
	r, log := graceRegion(t, "failsafe-multi")
	ctx := context.Background()
	failing := func(context.Context, []string) ([]any, error) { return nil, errCreator }
	setOld(t, r, "a", "old-a", 2*time.Minute)
	setOld(t, r, "b", "old-b", 2*time.Minute)
	vals, err := r.GetOrCreateMulti(ctx, []string{"a", "b"}, failing)
	if err != nil || len(vals) != 2 || vals[0] != "old-a" || vals[1] != "old-b" {
		t.Fatalf("GetOrCreateMulti = %v, %v; want the expired values", vals, err)
	}
	if log.count(errCreator) != 1 {
		t.Fatalf("the creator's error reached the hook %d times; want 1", log.count(errCreator))
	}
	// A key with nothing to fall back on fails the call.
	if _, err := r.GetOrCreateMulti(ctx, []string{"a", "missing"}, failing); !errors.Is(err, errCreator) {
		t.Fatalf("with a missing key: err = %v; want the creator's error", err)
	}
	// So does a key past the grace period.
	setOld(t, r, "b", "ancient", 2*time.Hour)
	if _, err := r.GetOrCreateMulti(ctx, []string{"a", "b"}, failing); !errors.Is(err, errCreator) {
		t.Fatalf("beyond grace: err = %v; want the creator's error", err)
	}
	// Without fail-safe the error is returned.
	plain := configured(t, "no-failsafe-multi", nil, region.WithExpirationTime(time.Minute))
	setOld(t, plain, "a", "old-a", 2*time.Minute)
	if _, err := plain.GetOrCreateMulti(ctx, []string{"a"}, failing); !errors.Is(err, errCreator) {
		t.Fatalf("without fail-safe: err = %v", err)
	}
}

func TestFailSafeSoftTimeout(t *testing.T) {
	r := configured(t, "soft-timeout", []region.Option{
		region.WithFailSafe(region.FailSafe{SoftTimeout: 100 * time.Millisecond}),
	}, region.WithExpirationTime(time.Minute))
	ctx := context.Background()
	setOld(t, r, "k", "old", 2*time.Minute)
	finished := make(chan struct{})
	start := time.Now()
	v, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) {
		defer close(finished)
		time.Sleep(time.Second)
		return "new", nil
	})
	if err != nil || v != "old" {
		t.Fatalf("GetOrCreate = %v, %v; want the old value after the soft timeout", v, err)
	}
	if took := time.Since(start); took > 700*time.Millisecond {
		t.Fatalf("took %v; the soft timeout is 100ms", took)
	}
	<-finished
	deadline := time.Now().Add(5 * time.Second)
	for {
		if v, ok, _ := r.Get(ctx, "k"); ok && v == "new" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background creation never stored its value")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A creator left running in the background by the soft timeout is stopped
// by CreatorTimeout, which frees the key for the next regeneration.
func TestFailSafeCreatorTimeout(t *testing.T) {
	var log errorLog
	r := configured(t, "creator-timeout", []region.Option{
		region.WithFailSafe(region.FailSafe{SoftTimeout: 50 * time.Millisecond, CreatorTimeout: 300 * time.Millisecond}),
		region.WithErrorHandler(log.handler),
	}, region.WithExpirationTime(time.Minute))
	ctx := context.Background()
	setOld(t, r, "k", "old", 2*time.Minute)
	hung := func(ctx context.Context) (any, error) {
		<-ctx.Done() // hangs until its context ends
		return nil, ctx.Err()
	}
	if v, err := r.GetOrCreate(ctx, "k", hung); err != nil || v != "old" {
		t.Fatalf("GetOrCreate = %v, %v; want the old value after the soft timeout", v, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		locked, err := r.KeyIsLocked(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if !locked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hung creator still holds the key's lock long after CreatorTimeout")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if log.count(region.ErrCreationTimeout) != 1 {
		t.Fatalf("ErrCreationTimeout reached the hook %d times; want 1", log.count(region.ErrCreationTimeout))
	}
	if v, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return "new", nil }); err != nil || v != "new" {
		t.Fatalf("next regeneration = %v, %v; want the new value", v, err)
	}

	// In the foreground, with no old value, the caller gets the error and
	// nothing is stored.
	start := time.Now()
	if _, err := r.GetOrCreate(ctx, "fresh-key", hung); !errors.Is(err, region.ErrCreationTimeout) {
		t.Fatalf("foreground hung creator: err = %v; want ErrCreationTimeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %v with a 300ms creator timeout", took)
	}
	if _, ok, _ := r.Get(ctx, "fresh-key"); ok {
		t.Fatal("a timed-out creation stored a value")
	}
}

func TestFailSafeHardTimeout(t *testing.T) {
	r := configured(t, "hard-timeout", []region.Option{
		region.WithFailSafe(region.FailSafe{HardTimeout: 200 * time.Millisecond}),
	})
	ctx := context.Background()
	release := make(chan struct{})
	stored := make(chan struct{})
	creator := func(context.Context) (any, error) {
		<-release
		return "late", nil
	}
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			_, err := r.GetOrCreate(ctx, "k", creator)
			if !errors.Is(err, region.ErrCreationTimeout) {
				t.Errorf("err = %v; want ErrCreationTimeout", err)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("a caller waited %v; the hard timeout is 200ms", took)
			}
		}()
	}
	wg.Wait()
	close(release)
	go func() {
		defer close(stored)
		for {
			if v, ok, _ := r.Get(ctx, "k"); ok && v == "late" {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	select {
	case <-stored:
	case <-time.After(5 * time.Second):
		t.Fatal("the creation that outlived its callers did not store its value")
	}
}

// outage is a proxy that fails every call while down.
type outage struct {
	region.ProxyBackend
	down atomic.Bool
}

var errDown = errors.New("backend unreachable")

func (o *outage) Get(ctx context.Context, key string) (region.CachedValue, bool, error) {
	if o.down.Load() {
		return region.CachedValue{}, false, errDown
	}
	return o.Proxied.Get(ctx, key)
}

func (o *outage) GetMulti(ctx context.Context, keys []string) (map[string]region.CachedValue, error) {
	if o.down.Load() {
		return nil, errDown
	}
	return o.Proxied.GetMulti(ctx, keys)
}

func (o *outage) Set(ctx context.Context, key string, v region.CachedValue) error {
	if o.down.Load() {
		return errDown
	}
	return o.Proxied.Set(ctx, key, v)
}

func (o *outage) SetMulti(ctx context.Context, m map[string]region.CachedValue) error {
	if o.down.Load() {
		return errDown
	}
	return o.Proxied.SetMulti(ctx, m)
}

func (o *outage) GetMutex(key string) region.Mutex {
	if o.down.Load() {
		return downMutex{}
	}
	return nil
}

type downMutex struct{}

func (downMutex) Acquire(context.Context, bool) (bool, error) { return false, errDown }
func (downMutex) Release(context.Context) error               { return errDown }
func (downMutex) Locked(context.Context) (bool, error)        { return false, errDown }

func TestBackendOutageServesCreatorValue(t *testing.T) {
	var log errorLog
	o := &outage{}
	r := configured(t, "outage", []region.Option{region.WithErrorHandler(log.handler)}, region.WithWrap(o))
	ctx := context.Background()
	o.down.Store(true)
	var calls atomic.Int32
	creator := func(context.Context) (any, error) { calls.Add(1); return "from creator", nil }
	v, err := r.GetOrCreate(ctx, "k", creator)
	if err != nil || v != "from creator" {
		t.Fatalf("GetOrCreate during outage = %v, %v; want the creator's value", v, err)
	}
	vals, err := r.GetOrCreateMulti(ctx, []string{"a", "b"}, func(_ context.Context, ks []string) ([]any, error) {
		return []any{"A", "B"}, nil
	})
	if err != nil || vals[0] != "A" || vals[1] != "B" {
		t.Fatalf("GetOrCreateMulti during outage = %v, %v", vals, err)
	}
	// One failed read per call; after it the call neither locks nor writes.
	if log.count(errDown) != 2 {
		t.Fatalf("outage errors reported %d times; want the failed read of each call (2)", log.count(errDown))
	}
	// Plain reads still report the error.
	if _, _, err := r.Get(ctx, "k"); !errors.Is(err, errDown) {
		t.Fatalf("Get during outage: err = %v", err)
	}
	// Recovery is automatic.
	o.down.Store(false)
	if v, err := r.GetOrCreate(ctx, "k", creator); err != nil || v != "from creator" {
		t.Fatal(v, err)
	}
	before := calls.Load()
	if v, _ := r.GetOrCreate(ctx, "k", creator); v != "from creator" || calls.Load() != before {
		t.Fatal("after recovery the value is not served from the cache")
	}

	strict := region.New("strict", region.WithStrictBackendErrors())
	so := &outage{}
	if err := strict.Configure("memory", region.WithWrap(so)); err != nil {
		t.Fatal(err)
	}
	so.down.Store(true)
	if _, err := strict.GetOrCreate(ctx, "k", creator); !errors.Is(err, errDown) {
		t.Fatalf("strict: err = %v; want the backend error", err)
	}
	if _, err := strict.GetOrCreateMulti(ctx, []string{"a"}, func(context.Context, []string) ([]any, error) { return []any{1}, nil }); !errors.Is(err, errDown) {
		t.Fatalf("strict multi: err = %v; want the backend error", err)
	}
}

// secondReadFails is a proxy whose GetMulti fails from its second call on,
// and which counts SetMulti calls.
type secondReadFails struct {
	region.ProxyBackend
	reads, writes atomic.Int32
}

func (p *secondReadFails) GetMulti(ctx context.Context, keys []string) (map[string]region.CachedValue, error) {
	if p.reads.Add(1) > 1 {
		return nil, errDown
	}
	return p.Proxied.GetMulti(ctx, keys)
}

func (p *secondReadFails) SetMulti(ctx context.Context, m map[string]region.CachedValue) error {
	p.writes.Add(1)
	return p.Proxied.SetMulti(ctx, m)
}

// TestMultiSecondReadFailsOpen: when GetOrCreateMulti's second read (of
// the keys it waited for) fails on a non-strict region, the call goes on
// without the backend, as GetOrCreate does: the creator's values are
// returned, the failure is reported, and nothing is written.
func TestMultiSecondReadFailsOpen(t *testing.T) {
	var log errorLog
	p := &secondReadFails{}
	r := configured(t, "second-read", []region.Option{region.WithErrorHandler(log.handler)}, region.WithWrap(p))
	vals, err := r.GetOrCreateMulti(context.Background(), []string{"a", "b"}, func(_ context.Context, ks []string) ([]any, error) {
		return []any{"A", "B"}, nil
	})
	if err != nil || len(vals) != 2 || vals[0] != "A" || vals[1] != "B" {
		t.Fatalf("GetOrCreateMulti = %v, %v; want the creator's values", vals, err)
	}
	if p.reads.Load() != 2 {
		t.Fatalf("%d reads; want 2 (the second one failing)", p.reads.Load())
	}
	if log.count(errDown) != 1 {
		t.Fatalf("the failed read was reported %d times; want 1", log.count(errDown))
	}
	if p.writes.Load() != 0 {
		t.Fatalf("SetMulti called %d times after the backend failed in the call; want 0", p.writes.Load())
	}
}

// versionedValue records when it was made, so a reader can tell its age.
type versionedValue struct{ made time.Time }

// TestEarlyRefreshKeepsHotKeyFresh: a hot key is regenerated before it
// expires, so no reader ever gets an expired value. XFetch regenerates
// about scale*ln(reads per second * scale) before expiry, scale being the
// creation time (100ms) times beta (3): a second or more here, well above
// the pauses a loaded machine makes; a reader counts a value as expired by
// its age when the call began, so a pause after the call does not count.
func TestEarlyRefreshKeepsHotKeyFresh(t *testing.T) {
	const (
		exp = 3 * time.Second
		run = 8 * time.Second
	)
	r := configured(t, "early", []region.Option{region.WithEarlyRefresh(3)}, region.WithExpirationTime(exp))
	ctx := context.Background()
	var calls atomic.Int32
	creator := func(context.Context) (any, error) {
		calls.Add(1)
		time.Sleep(100 * time.Millisecond)
		return versionedValue{time.Now()}, nil
	}
	if _, err := r.GetOrCreate(ctx, "hot", creator); err != nil {
		t.Fatal(err)
	}
	var stale, served atomic.Int32
	stop := time.Now().Add(run)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				start := time.Now()
				v, err := r.GetOrCreate(ctx, "hot", creator)
				if err != nil {
					t.Error(err)
					return
				}
				served.Add(1)
				// A value made before the call began and already older
				// than the expiration then was an expired value served.
				if made := v.(versionedValue).made; made.Before(start) && start.Sub(made) > exp {
					stale.Add(1)
				}
				time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d reads in %v, %d creations", served.Load(), run, calls.Load())
	if n := stale.Load(); n != 0 {
		t.Fatalf("%d of %d reads got an expired value; early refresh should regenerate before expiry", n, served.Load())
	}
	// Without early refresh: at most one creation per expiration.
	if c, most := calls.Load(), int32(run/exp)+1; c <= most {
		t.Fatalf("creator ran %d times in %v with a %v expiration; want regular early refreshes (more than %d)", c, run, exp, most)
	}
}

// countingObserver counts what the region reports.
type countingObserver struct {
	creations, failures, waits atomic.Int32
}

func (o *countingObserver) ObserveCreation(_ context.Context, _ string, _ time.Duration, err error) {
	o.creations.Add(1)
	if err != nil {
		o.failures.Add(1)
	}
}

func (o *countingObserver) ObserveLockWait(context.Context, string, time.Duration) { o.waits.Add(1) }

func TestObserver(t *testing.T) {
	obs := &countingObserver{}
	r := configured(t, "observed", []region.Option{region.WithObserver(obs)})
	ctx := context.Background()
	_, _ = r.GetOrCreate(ctx, "a", func(context.Context) (any, error) { return 1, nil })
	_, _ = r.GetOrCreate(ctx, "a", func(context.Context) (any, error) { return 1, nil })
	_, _ = r.GetOrCreate(ctx, "b", func(context.Context) (any, error) { return nil, errCreator })
	_, _ = r.GetOrCreateMulti(ctx, []string{"c", "d"}, func(context.Context, []string) ([]any, error) { return []any{1, 2}, nil })
	inside := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = r.GetOrCreate(ctx, "slow", func(context.Context) (any, error) {
			close(inside)
			time.Sleep(200 * time.Millisecond)
			return 1, nil
		})
	}()
	<-inside
	_, _ = r.GetOrCreate(ctx, "slow", func(context.Context) (any, error) { return 2, nil })
	<-done
	if c, f, w := obs.creations.Load(), obs.failures.Load(), obs.waits.Load(); c != 4 || f != 1 || w != 1 {
		t.Fatalf("creations %d failures %d waits %d; want 4, 1, 1", c, f, w)
	}
}

// fakeLease is an in-process lock that expires unless extended, like the
// memcached and Redis locks, on a clock the test moves (advance): however
// slowly the machine runs, it expires only when the test says time has
// passed. Each GetMutex gives a fakeLeaseMutex, one holder.
type fakeLease struct {
	timeout time.Duration

	mu       sync.Mutex
	now      time.Duration // the fake clock
	holder   int64         // 0: free
	expires  time.Duration
	next     int64
	extended int // successful extensions
	refused  int // acquisitions refused while the lock was held
}

func newFakeLease(timeout time.Duration) *fakeLease { return &fakeLease{timeout: timeout} }

// advance moves the fake clock on by d.
func (l *fakeLease) advance(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.now += d
}

// underLock returns f's result under the lock's mutex.
func underLock[T any](l *fakeLease, f func() T) T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return f()
}

// left is how long the current hold has before it expires.
func (l *fakeLease) left() time.Duration {
	return underLock(l, func() time.Duration { return l.expires - l.now })
}

func (l *fakeLease) extensions() int { return underLock(l, func() int { return l.extended }) }
func (l *fakeLease) refusals() int   { return underLock(l, func() int { return l.refused }) }

type fakeLeaseMutex struct {
	l    *fakeLease
	hold int64 // this holder's hold; 0: none
}

func (m *fakeLeaseMutex) Acquire(ctx context.Context, wait bool) (bool, error) {
	l := m.l
	for {
		l.mu.Lock()
		if l.holder == 0 || l.now >= l.expires {
			l.next++
			l.holder, m.hold = l.next, l.next
			l.expires = l.now + l.timeout
			l.mu.Unlock()
			return true, nil
		}
		l.refused++
		l.mu.Unlock()
		if !wait {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

func (m *fakeLeaseMutex) Release(context.Context) error {
	m.l.mu.Lock()
	defer m.l.mu.Unlock()
	if m.l.holder == m.hold {
		m.l.holder = 0
	}
	m.hold = 0
	return nil
}

func (m *fakeLeaseMutex) Locked(context.Context) (bool, error) {
	m.l.mu.Lock()
	defer m.l.mu.Unlock()
	return m.l.holder != 0 && m.l.now < m.l.expires, nil
}

func (m *fakeLeaseMutex) Extend(context.Context) error {
	m.l.mu.Lock()
	defer m.l.mu.Unlock()
	if m.l.holder != m.hold || m.l.now >= m.l.expires {
		return lockmutex.ErrNotHeld
	}
	m.l.extended++
	m.l.expires = m.l.now + m.l.timeout
	return nil
}

// LockTimeout is the fake clock's timeout; the lease extends every third
// of it in real time.
func (m *fakeLeaseMutex) LockTimeout() time.Duration { return m.l.timeout }

type leaseProxy struct {
	region.ProxyBackend
	l *fakeLease
}

func (p *leaseProxy) GetMutex(string) region.Mutex { return &fakeLeaseMutex{l: p.l} }

// waitUntil waits (a minute at most) until cond holds and reports whether
// it did.
func waitUntil(cond func() bool) bool {
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// TestLockLeaseKeepsCreatorAlone: two regions (two processes) share one
// lock that expires unless extended. A creator runs for three lock
// timeouts on the lock's clock while the other region waits for the lock:
// with leases the lock is extended and the other creator does not start;
// without, the lock expires under the first creator and the second starts.
// The lock's clock moves only when the test moves it, half a timeout at a
// time, and with leases each step waits for the lease's next extension.
func TestLockLeaseKeepsCreatorAlone(t *testing.T) {
	const timeout = 300 * time.Millisecond // the lease extends every 100ms
	for _, leases := range []bool{true, false} {
		t.Run(fmt.Sprint("leases=", leases), func(t *testing.T) {
			lock := newFakeLease(timeout)
			var opts []region.Option
			if leases {
				opts = append(opts, region.WithLockLeases())
			}
			// Two regions stand for two processes: separate in-process
			// flights, one shared lock.
			a := configured(t, "lease-a", opts, region.WithWrap(&leaseProxy{l: lock}))
			b := configured(t, "lease-b", opts, region.WithWrap(&leaseProxy{l: lock}))
			ctx := context.Background()
			var running, overlaps atomic.Int32
			inside := make(chan struct{})
			secondStarted := make(chan struct{})
			first := func(context.Context) (any, error) {
				running.Add(1)
				defer running.Add(-1)
				close(inside)
				if !waitUntil(func() bool { return lock.refusals() > 0 }) {
					t.Error("the other region never tried for the lock")
				}
				for range 6 { // three lock timeouts on the lock's clock
					lock.advance(timeout / 2)
					if leases && !waitUntil(func() bool { return lock.left() > timeout/2 }) {
						t.Error("the lease did not extend the lock")
						break
					}
				}
				if !leases {
					select {
					case <-secondStarted:
					case <-time.After(time.Minute):
					}
				}
				return "v", nil
			}
			second := func(context.Context) (any, error) {
				if running.Add(1) > 1 {
					overlaps.Add(1)
				}
				defer running.Add(-1)
				close(secondStarted)
				return "v", nil
			}
			var wg sync.WaitGroup
			wg.Go(func() { _, _ = a.GetOrCreate(ctx, "k", first) })
			<-inside
			wg.Go(func() { _, _ = b.GetOrCreate(ctx, "k", second) })
			wg.Wait()
			if leases {
				if overlaps.Load() != 0 {
					t.Fatal("a second creator ran while the first held its lease")
				}
				if n := lock.extensions(); n < 6 {
					t.Fatalf("lease extended %d times in three lock timeouts; want it kept alive", n)
				}
			} else if overlaps.Load() == 0 {
				t.Fatal("without leases the lock expired under the creator and a second one should have started; the test cannot tell otherwise")
			}
		})
	}
}

// lostMutex is a lock whose every extension finds it lost.
type lostMutex struct {
	fakeLeaseMutex
	attempts *atomic.Int32
}

func (m *lostMutex) Extend(context.Context) error {
	m.attempts.Add(1)
	return lockmutex.ErrNotHeld
}

type lostLockProxy struct {
	region.ProxyBackend
	lock     *fakeLease
	attempts *atomic.Int32
}

func (p *lostLockProxy) GetMutex(string) region.Mutex {
	return &lostMutex{fakeLeaseMutex{l: p.lock}, p.attempts}
}

// A lease whose lock was lost stops extending it (someone else may hold it
// now) and reports the loss.
func TestLockLeaseStopsWhenLost(t *testing.T) {
	const timeout = 30 * time.Millisecond // the lease tries every 10ms
	var attempts atomic.Int32
	var log errorLog
	r := configured(t, "lease-lost", []region.Option{region.WithLockLeases(), region.WithErrorHandler(log.handler)},
		region.WithWrap(&lostLockProxy{lock: newFakeLease(timeout), attempts: &attempts}))
	v, err := r.GetOrCreate(context.Background(), "k", func(context.Context) (any, error) {
		if !waitUntil(func() bool { return attempts.Load() > 0 }) {
			t.Error("the lease never tried to extend the lock")
		}
		time.Sleep(10 * timeout) // about 30 more extension ticks
		return "v", nil
	})
	if err != nil || v != "v" {
		t.Fatalf("GetOrCreate = %v, %v", v, err)
	}
	if n := attempts.Load(); n != 1 {
		t.Fatalf("the lease tried to extend a lost lock %d times; want once, then stop", n)
	}
	if log.count(lockmutex.ErrNotHeld) != 1 {
		t.Fatalf("the lost lock was reported %d times; want once", log.count(lockmutex.ErrNotHeld))
	}
}
