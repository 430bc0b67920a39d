package redismutex

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/lockmutex/internal/mutextest"
)

var _ mutextest.Mutex = (*PyLock)(nil)

func newPyLock(t *testing.T, c redis.UniversalClient, key string, o PyLockOptions) *PyLock {
	t.Helper()
	return NewPyLock(c, nil, key, o)
}

func pttl(t *testing.T, c *redis.Client, key string) time.Duration {
	t.Helper()
	d, err := c.PTTL(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Without a timeout the lock key never expires (redis-py's timeout=None);
// its value is a token shaped like redis-py's.
func TestPyLockNoTimeout(t *testing.T) {
	c := testservers.RedisClient(t)
	key := testservers.UniqueKey(t, "")
	a, other := newPyLock(t, c, key, PyLockOptions{}), newPyLock(t, c, key, PyLockOptions{})
	if a.LockKey() != "_lock"+key || a.LockTimeout() != 0 {
		t.Fatalf("LockKey, LockTimeout = %q, %v", a.LockKey(), a.LockTimeout())
	}
	if mutextest.Locked(t, a) {
		t.Fatal("fresh key reads as locked")
	}
	mutextest.MustAcquire(t, a, false)
	if !mutextest.Locked(t, other) || !a.Held() {
		t.Fatal("acquired lock does not read as locked")
	}
	if d := pttl(t, c, a.LockKey()); d != -1 {
		// go-redis reports "no expiry" as -1 (nanoseconds).
		t.Fatalf("PTTL of a lock without timeout = %v; want none (-1)", d)
	}
	token, err := c.Get(context.Background(), a.LockKey()).Result()
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(token) {
		t.Fatalf("lock token = %q, %v; want 32 hex digits", token, err)
	}
	mutextest.MustNotAcquire(t, other)
	if err := other.Release(context.Background()); !errors.Is(err, lockmutex.ErrNotHeld) {
		t.Fatalf("loser's Release = %v; want lockmutex.ErrNotHeld", err)
	}
	if err := a.Extend(context.Background()); err != nil {
		t.Fatalf("Extend of a held lock without timeout = %v; want nil", err)
	}
	mutextest.MustRelease(t, a)
	if mutextest.Locked(t, other) {
		t.Fatal("released lock still reads as locked")
	}
	if err := a.Extend(context.Background()); !errors.Is(err, lockmutex.ErrNotHeld) {
		t.Fatalf("Extend after Release = %v; want lockmutex.ErrNotHeld", err)
	}
	mutextest.MustAcquire(t, other, true)
	mutextest.MustRelease(t, other)
}

// With a timeout the lock key gets it as its TTL, truncated to whole
// milliseconds, and Extend restores it.
func TestPyLockTimeout(t *testing.T) {
	c := testservers.RedisClient(t)
	m := newPyLock(t, c, testservers.UniqueKey(t, ""), PyLockOptions{Timeout: 1500*time.Millisecond + 700*time.Microsecond})
	mutextest.MustAcquire(t, m, false)
	if d := pttl(t, c, m.LockKey()); d <= 0 || d > 1500*time.Millisecond {
		t.Fatalf("PTTL after Acquire = %v; want in (0, 1.5s]", d)
	}
	time.Sleep(300 * time.Millisecond)
	if err := m.Extend(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := pttl(t, c, m.LockKey()); d <= 1200*time.Millisecond || d > 1500*time.Millisecond {
		t.Fatalf("PTTL after Extend = %v; want close to 1.5s", d)
	}
	mutextest.MustRelease(t, m)
}

func TestPyLockNotReentrant(t *testing.T) {
	c := testservers.RedisClient(t)
	for _, timeout := range []time.Duration{0, time.Minute} {
		m := newPyLock(t, c, testservers.UniqueKey(t, ""), PyLockOptions{Timeout: timeout})
		mutextest.MustAcquire(t, m, false)
		for _, wait := range []bool{false, true} {
			if ok, err := m.Acquire(context.Background(), wait); ok || !errors.Is(err, lockmutex.ErrAlreadyHeld) {
				t.Fatalf("timeout %v: second Acquire(wait=%v) = %v, %v; want lockmutex.ErrAlreadyHeld", timeout, wait, ok, err)
			}
		}
		mutextest.MustRelease(t, m)
	}
}

// A lock that expired under its holder and was taken by another is left
// alone by the first holder's Release and Extend.
func TestPyLockReleaseAfterExpiry(t *testing.T) {
	c := testservers.RedisClient(t)
	key := testservers.UniqueKey(t, "")
	a := newPyLock(t, c, key, PyLockOptions{Timeout: 300 * time.Millisecond})
	mutextest.MustAcquire(t, a, false)
	mutextest.WaitUnlocked(t, a, 10*time.Second)
	b := newPyLock(t, c, key, PyLockOptions{}) // no expiry
	mutextest.MustAcquire(t, b, false)
	bToken := c.Get(context.Background(), b.LockKey()).Val()
	if err := a.Release(context.Background()); !errors.Is(err, lockmutex.ErrLockLost) || !errors.Is(err, lockmutex.ErrNotHeld) {
		t.Fatalf("Release of an expired lock = %v; want lockmutex.ErrLockLost", err)
	}
	if a.Held() {
		t.Fatal("a still counts as holding a lost lock")
	}
	if v := c.Get(context.Background(), b.LockKey()).Val(); v != bToken {
		t.Fatalf("after the old holder's Release the lock key holds %q; want b's token %q", v, bToken)
	}
	mutextest.MustRelease(t, b)

	// Extend finds the loss too.
	mutextest.MustAcquire(t, a, false)
	mutextest.WaitUnlocked(t, a, 10*time.Second)
	mutextest.MustAcquire(t, b, false)
	if err := a.Extend(context.Background()); !errors.Is(err, lockmutex.ErrLockLost) {
		t.Fatalf("Extend of an expired lock = %v; want lockmutex.ErrLockLost", err)
	}
	if ttl := pttl(t, c, b.LockKey()); ttl != -1 {
		t.Fatalf("the old holder's Extend gave the new holder's lock a TTL (%v)", ttl)
	}
	mutextest.MustRelease(t, b)
}

// A waiting Acquire polls every Sleep, and gives up with (false, nil) once
// BlockingTimeout would pass, as redis-py's acquire returns False.
func TestPyLockBlockingTimeout(t *testing.T) {
	c := testservers.RedisClient(t)
	key := testservers.UniqueKey(t, "")
	a := newPyLock(t, c, key, PyLockOptions{})
	mutextest.MustAcquire(t, a, false)
	defer mutextest.MustRelease(t, a)

	b := newPyLock(t, c, key, PyLockOptions{Sleep: 200 * time.Millisecond, BlockingTimeout: time.Second})
	start := time.Now()
	ok, err := b.Acquire(mutextest.Context(t, 30*time.Second), true)
	elapsed := time.Since(start)
	if ok || err != nil {
		t.Fatalf("Acquire past the blocking timeout = %v, %v; want false, nil", ok, err)
	}
	// Attempts at 0, 0.2, 0.4, 0.6, 0.8s; one at 1.0s would be past it.
	if elapsed < 700*time.Millisecond || elapsed > 5*time.Second {
		t.Fatalf("Acquire gave up after %v; want about 0.8s", elapsed)
	}
	if b.Held() {
		t.Fatal("a lock that was not acquired counts as held")
	}
}

// A negative BlockingTimeout is redis-py's blocking_timeout=0: a waiting
// Acquire makes one attempt and gives up before its first pause; zero is
// blocking_timeout=None: no bound.
func TestPyLockSingleAttempt(t *testing.T) {
	c := testservers.RedisClient(t)
	key := testservers.UniqueKey(t, "")
	once := newPyLock(t, c, key, PyLockOptions{Sleep: time.Minute, BlockingTimeout: -1})
	mutextest.MustAcquire(t, once, true) // free: the one attempt takes it
	mutextest.MustRelease(t, once)

	a := newPyLock(t, c, key, PyLockOptions{})
	mutextest.MustAcquire(t, a, false)
	defer mutextest.MustRelease(t, a)
	start := time.Now()
	ok, err := once.Acquire(mutextest.Context(t, 30*time.Second), true)
	if ok || err != nil {
		t.Fatalf("Acquire of a held lock with a negative blocking timeout = %v, %v; want false, nil", ok, err)
	}
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Fatalf("Acquire gave up after %v; want one attempt, no pause of a minute", elapsed)
	}

	unbounded := newPyLock(t, c, key, PyLockOptions{Sleep: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if ok, err := unbounded.Acquire(ctx, true); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire without a blocking timeout = %v, %v; want it to wait until its context ends", ok, err)
	}
}

// A waiter gets the lock on its first poll after the holder releases it.
func TestPyLockWaiterGetsReleasedLock(t *testing.T) {
	c := testservers.RedisClient(t)
	key := testservers.UniqueKey(t, "")
	a := newPyLock(t, c, key, PyLockOptions{Timeout: time.Minute})
	mutextest.MustAcquire(t, a, false)
	b := newPyLock(t, c, key, PyLockOptions{Sleep: 20 * time.Millisecond})
	released := make(chan time.Time, 1)
	time.AfterFunc(300*time.Millisecond, func() {
		_ = a.Release(context.Background())
		released <- time.Now()
	})
	mutextest.MustAcquire(t, b, true)
	got := time.Now()
	at := <-released
	if got.Before(at) {
		t.Fatal("the waiter got the lock before the holder released it")
	}
	if d := got.Sub(at); d > 5*time.Second {
		t.Fatalf("the waiter got the lock %v after its release", d)
	}
	mutextest.MustRelease(t, b)
}

func TestPyLockContext(t *testing.T) {
	c := testservers.RedisClient(t)
	key := testservers.UniqueKey(t, "")
	a := newPyLock(t, c, key, PyLockOptions{})
	mutextest.MustAcquire(t, a, false)
	defer mutextest.MustRelease(t, a)
	b := newPyLock(t, c, key, PyLockOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if ok, err := b.Acquire(ctx, true); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire past its deadline = %v, %v; want context.DeadlineExceeded", ok, err)
	}
	if ok, err := b.Acquire(ctx, false); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire with an ended context = %v, %v; want context.DeadlineExceeded", ok, err)
	}
}

func TestPyLockMutualExclusion(t *testing.T) {
	c := testservers.RedisClient(t)
	key := testservers.UniqueKey(t, "")
	ctx := mutextest.Context(t, 2*time.Minute)
	for _, timeout := range []time.Duration{0, time.Minute} {
		var inside, maxInside, total atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 15 {
					m := newPyLock(t, c, key, PyLockOptions{Timeout: timeout, Sleep: time.Millisecond})
					if ok, err := m.Acquire(ctx, true); !ok || err != nil {
						t.Errorf("Acquire = %v, %v", ok, err)
						return
					}
					n := inside.Add(1)
					for old := maxInside.Load(); n > old && !maxInside.CompareAndSwap(old, n); old = maxInside.Load() {
					}
					total.Add(1)
					time.Sleep(100 * time.Microsecond)
					inside.Add(-1)
					if err := m.Release(ctx); err != nil {
						t.Errorf("Release = %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		if maxInside.Load() != 1 || total.Load() != 8*15 {
			t.Errorf("timeout %v: %d inside at once, %d sections; want 1 and %d", timeout, maxInside.Load(), total.Load(), 8*15)
		}
	}
}

func TestPyLockServerDown(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: testservers.ClosedAddr(t), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	for _, timeout := range []time.Duration{0, time.Minute} {
		key := testservers.UniqueKey(t, "")
		mutextest.CheckServerDown(t, mutextest.Context(t, 30*time.Second), NewPyLock(c, nil, key, PyLockOptions{Timeout: timeout}), key)
	}
}

func TestPyLockNilClient(t *testing.T) {
	m := NewPyLock(nil, nil, "k", PyLockOptions{})
	ctx := context.Background()
	if _, err := m.Acquire(ctx, false); !errors.Is(err, lockmutex.ErrNilClient) {
		t.Errorf("Acquire = %v; want lockmutex.ErrNilClient", err)
	}
	if _, err := m.Locked(ctx); !errors.Is(err, lockmutex.ErrNilClient) {
		t.Errorf("Locked = %v; want lockmutex.ErrNilClient", err)
	}
	if err := m.Release(ctx); !errors.Is(err, lockmutex.ErrNilClient) {
		t.Errorf("Release = %v; want lockmutex.ErrNilClient", err)
	}
	if err := m.Extend(ctx); !errors.Is(err, lockmutex.ErrNilClient) {
		t.Errorf("Extend = %v; want lockmutex.ErrNilClient", err)
	}
}
