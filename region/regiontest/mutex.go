package regiontest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// RunMutexTests runs the suite's tests of a backend's own mutex (the one its
// GetMutex returns) on the named backend: the Mutex test of
// RunBackendTests, and what it does not check. A waiting Acquire ends with
// its context and gets a released lock within two seconds, keys lock
// independently, and a second region on the backend (with its own
// connections, as in another process) sees and waits for a creation lock
// the first holds. Every test is skipped when GetMutex returns nil.
func RunMutexTests(t *testing.T, backend string, args region.Arguments) {
	t.Helper()
	(&Suite{Backend: backend, Arguments: args}).RunMutex(t)
}

// RunMutex runs the suite's mutex tests as subtests of t.
func (s *Suite) RunMutex(t *testing.T) {
	s.run(t, []namedTest{
		{"Mutex", s.testMutex},
		{"WaitEndsWithContext", s.testMutexWaitEndsWithContext},
		{"ReleaseWakesWaiter", s.testMutexReleaseWakesWaiter},
		{"IndependentKeys", s.testMutexIndependentKeys},
		{"TwoRegionsOneKey", s.testMutexTwoRegions},
	})
}

// backendMutex returns the backend's mutex for key, skipping the test when
// the backend has none.
func backendMutex(t *testing.T, r *region.Region, key string) region.Mutex {
	t.Helper()
	m := r.Backend().GetMutex(key)
	if m == nil {
		t.Skip("backend uses the region's in-process mutex")
	}
	return m
}

func mustAcquire(t *testing.T, ctx context.Context, m region.Mutex, wait bool) {
	t.Helper()
	if ok, err := m.Acquire(ctx, wait); err != nil || !ok {
		t.Fatalf("Acquire(wait=%v) = %v, %v; want true", wait, ok, err)
	}
}

func mustRelease(t *testing.T, ctx context.Context, m region.Mutex) {
	t.Helper()
	if err := m.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
}

// holdCreation starts r.GetOrCreate(ctx, key) with a creator that returns
// value once released, and returns while that creator runs (holding key's
// creation lock). release lets the creator return and gives GetOrCreate's
// error; it is also called when the test ends.
func holdCreation(t *testing.T, ctx context.Context, r *region.Region, key string, value any) (release func() error) {
	t.Helper()
	inside, unblock, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var err error // GetOrCreate's, once done is closed
	go func() {
		defer close(done)
		_, err = r.GetOrCreate(ctx, key, func(context.Context) (any, error) {
			close(inside)
			<-unblock
			return value, nil
		})
	}()
	var once sync.Once
	release = func() error {
		once.Do(func() {
			close(unblock)
			<-done
		})
		return err
	}
	t.Cleanup(func() { _ = release() })
	select {
	case <-inside:
	case <-done:
		t.Fatalf("GetOrCreate(%q) returned before its creator ran: %v", key, err)
	}
	return release
}

func (s *Suite) testMutexWaitEndsWithContext(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "k")
	holder := backendMutex(t, r, k)
	mustAcquire(t, ctx, holder, false)
	other := r.Backend().GetMutex(k)
	for range 3 {
		if ok, err := other.Acquire(ctx, false); err != nil || ok {
			t.Fatalf("Acquire(wait=false) while held = %v, %v; want false", ok, err)
		}
	}
	// A waiting Acquire gives up when its context ends.
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if ok, err := other.Acquire(wctx, true); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting Acquire = %v, %v; want context.DeadlineExceeded", ok, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("waiting Acquire returned after %v", d)
	}
	mustRelease(t, ctx, holder)
	mustAcquire(t, ctx, other, false)
	mustRelease(t, ctx, other)
}

func (s *Suite) testMutexReleaseWakesWaiter(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "k")
	holder := backendMutex(t, r, k)
	mustAcquire(t, ctx, holder, false)
	got := make(chan time.Time, 1)
	go func() {
		m := r.Backend().GetMutex(k)
		if ok, err := m.Acquire(ctx, true); err != nil || !ok {
			t.Errorf("waiter Acquire = %v, %v", ok, err)
		}
		got <- time.Now()
		_ = m.Release(ctx)
	}()
	time.Sleep(150 * time.Millisecond)
	released := time.Now()
	mustRelease(t, ctx, holder)
	at := <-got
	if at.Before(released) {
		t.Fatal("the waiter got the lock before it was released")
	}
	if d := at.Sub(released); d > 2*time.Second {
		t.Fatalf("the waiter got the lock %v after release", d)
	}
}

func (s *Suite) testMutexIndependentKeys(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k1, k2 := ctxT(t), s.Key(t, "k1"), s.Key(t, "k2")
	m1 := backendMutex(t, r, k1)
	mustAcquire(t, ctx, m1, false)
	if locked, err := r.Backend().GetMutex(k2).Locked(ctx); err != nil || locked {
		t.Fatalf("k2 Locked while only k1 is held = %v, %v", locked, err)
	}
	m2 := r.Backend().GetMutex(k2)
	mustAcquire(t, ctx, m2, false)
	mustRelease(t, ctx, m1)
	if locked, err := r.Backend().GetMutex(k2).Locked(ctx); err != nil || !locked {
		t.Fatalf("releasing k1 released k2: %v, %v", locked, err)
	}
	mustRelease(t, ctx, m2)
}

// testMutexTwoRegions: regions configured separately have their own
// backends (and connections), so only the backend's mutex keeps them apart,
// as it does processes.
func (s *Suite) testMutexTwoRegions(t *testing.T) {
	r := s.NewRegion(t)
	ctx, k := ctxT(t), s.Key(t, "k")
	backendMutex(t, r, k)
	other := s.NewRegion(t)
	release := holdCreation(t, ctx, r, k, "first")
	if locked, err := other.KeyIsLocked(ctx, k); err != nil || !locked {
		t.Fatalf("other region: KeyIsLocked = %v, %v; want true", locked, err)
	}
	got := make(chan any, 1)
	go func() {
		v, err := other.GetOrCreate(ctx, k, func(context.Context) (any, error) { return "second", nil })
		if err != nil {
			t.Error(err)
		}
		got <- v
	}()
	time.Sleep(100 * time.Millisecond)
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != "first" {
		t.Fatalf("the waiting region got %v; want the first region's value", v)
	}
}
