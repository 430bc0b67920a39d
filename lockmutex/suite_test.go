package lockmutex

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/testservers"
)

// regionMutex is region.Mutex, restated here because lockmutex must not
// import region.
type regionMutex interface {
	Acquire(ctx context.Context, wait bool) (bool, error)
	Release(ctx context.Context) error
	Locked(ctx context.Context) (bool, error)
}

var (
	_ regionMutex = (*MemcachedMutex)(nil)
	_ regionMutex = (*RedisMutex)(nil)
)

// distMutex is what the suite tests: the methods both distributed mutexes
// have.
type distMutex interface {
	regionMutex
	Extend(ctx context.Context) error
	Held() bool
	Key() string
	LockKey() string
	LockTimeout() time.Duration
}

var (
	_ distMutex = (*MemcachedMutex)(nil)
	_ distMutex = (*RedisMutex)(nil)
)

// mutexOpts are the options the suite varies; both option structs have
// these fields.
type mutexOpts struct {
	LockTimeout     time.Duration
	MaxLockAttempts int
	RetryDelay      time.Duration
	MaxRetryDelay   time.Duration
}

// lockKind is one distributed mutex implementation under test.
type lockKind struct {
	name     string
	newMutex func(key string, o mutexOpts) distMutex
	// rawGet reads the lock item directly from the server.
	rawGet func(t *testing.T, lockKey string) (value string, ok bool)
}

// fastRetry makes blocking acquires poll often, for tests with contention.
var fastRetry = mutexOpts{RetryDelay: time.Millisecond, MaxRetryDelay: 20 * time.Millisecond}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func mustAcquire(t *testing.T, m distMutex, wait bool) {
	t.Helper()
	ok, err := m.Acquire(testContext(t, 30*time.Second), wait)
	if err != nil || !ok {
		t.Fatalf("Acquire(%q, wait=%v) = %v, %v; want true, nil", m.LockKey(), wait, ok, err)
	}
}

func mustNotAcquire(t *testing.T, m distMutex) {
	t.Helper()
	ok, err := m.Acquire(testContext(t, 30*time.Second), false)
	if err != nil || ok {
		t.Fatalf("Acquire(%q, wait=false) = %v, %v; want false, nil (lock held elsewhere)", m.LockKey(), ok, err)
	}
	if m.Held() {
		t.Fatalf("Held() = true after a failed Acquire")
	}
}

func mustRelease(t *testing.T, m distMutex) {
	t.Helper()
	if err := m.Release(testContext(t, 30*time.Second)); err != nil {
		t.Fatalf("Release(%q) = %v", m.LockKey(), err)
	}
}

func locked(t *testing.T, m distMutex) bool {
	t.Helper()
	l, err := m.Locked(testContext(t, 30*time.Second))
	if err != nil {
		t.Fatalf("Locked(%q): %v", m.LockKey(), err)
	}
	return l
}

// waitUnlocked polls until m's lock item is gone, failing after limit.
func waitUnlocked(t *testing.T, m distMutex, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for locked(t, m) {
		if time.Since(start) > limit {
			t.Fatalf("lock %q still exists after %v", m.LockKey(), limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// runSuite runs dogpile.cache's mutex test behaviours against kind.
// checkServerDown checks m (on key) against a server that does not answer:
// every call fails with an error naming the key, and nothing is held.
func checkServerDown(t *testing.T, ctx context.Context, m distMutex, key string) {
	t.Helper()
	for _, wait := range []bool{false, true} {
		ok, err := m.Acquire(ctx, wait)
		if ok || err == nil || errors.Is(err, ErrMaxLockAttempts) || !strings.Contains(err.Error(), key) {
			t.Errorf("Acquire(wait=%v) with the server down = %v, %v; want an error naming the key", wait, ok, err)
		}
	}
	if _, err := m.Locked(ctx); err == nil || !strings.Contains(err.Error(), key) {
		t.Errorf("Locked with the server down = %v; want an error naming the key", err)
	}
	if m.Held() {
		t.Error("Held() after failed Acquire")
	}
}

func runSuite(t *testing.T, kind lockKind) {
	t.Run("AcquireLockedRelease", func(t *testing.T) {
		t.Parallel()
		key := testservers.UniqueKey(t, "")
		a, other := kind.newMutex(key, mutexOpts{}), kind.newMutex(key, mutexOpts{})
		if a.Key() != key || a.LockKey() != "_lock"+key {
			t.Fatalf("Key, LockKey = %q, %q; want %q, %q", a.Key(), a.LockKey(), key, "_lock"+key)
		}
		if a.LockTimeout() != DefaultLockTimeout {
			t.Errorf("LockTimeout() = %v; want the default %v", a.LockTimeout(), DefaultLockTimeout)
		}
		if locked(t, a) || a.Held() {
			t.Fatal("fresh key reads as locked")
		}
		mustAcquire(t, a, false)
		if !a.Held() || !locked(t, a) || !locked(t, other) {
			t.Fatal("acquired lock does not read as locked")
		}
		if v, ok := kind.rawGet(t, "_lock"+key); !ok || v == "" {
			t.Fatalf("lock item %q = %q, %v; want a token", "_lock"+key, v, ok)
		}
		mustRelease(t, a)
		if a.Held() || locked(t, a) || locked(t, other) {
			t.Fatal("released lock still reads as locked")
		}
		if _, ok := kind.rawGet(t, "_lock"+key); ok {
			t.Fatal("lock item still exists after Release")
		}
	})

	t.Run("SecondMutexCannotAcquire", func(t *testing.T) {
		t.Parallel()
		key := testservers.UniqueKey(t, "")
		a, b := kind.newMutex(key, mutexOpts{}), kind.newMutex(key, mutexOpts{})
		mustAcquire(t, a, false)
		mustNotAcquire(t, b)
		if err := b.Release(context.Background()); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("Release by the loser = %v; want ErrNotHeld", err)
		}
		if !locked(t, a) {
			t.Fatal("loser's Release removed the winner's lock")
		}
		mustRelease(t, a)
		mustAcquire(t, b, false)
		mustNotAcquire(t, a)
		mustRelease(t, b)
	})

	t.Run("ReacquireAfterRelease", func(t *testing.T) {
		t.Parallel()
		m := kind.newMutex(testservers.UniqueKey(t, ""), mutexOpts{})
		for range 3 {
			mustAcquire(t, m, false)
			mustRelease(t, m)
		}
		mustAcquire(t, m, true)
		mustRelease(t, m)
	})

	t.Run("NotReentrant", func(t *testing.T) {
		t.Parallel()
		m := kind.newMutex(testservers.UniqueKey(t, ""), mutexOpts{})
		mustAcquire(t, m, false)
		for _, wait := range []bool{false, true} {
			ok, err := m.Acquire(context.Background(), wait)
			if ok || !errors.Is(err, ErrAlreadyHeld) {
				t.Fatalf("second Acquire(wait=%v) = %v, %v; want false, ErrAlreadyHeld", wait, ok, err)
			}
		}
		if !m.Held() {
			t.Fatal("failed second Acquire dropped the hold")
		}
		mustRelease(t, m)
	})

	t.Run("ReleaseNotHeld", func(t *testing.T) {
		t.Parallel()
		m := kind.newMutex(testservers.UniqueKey(t, ""), mutexOpts{})
		ctx := context.Background()
		if err := m.Release(ctx); !errors.Is(err, ErrNotHeld) || errors.Is(err, ErrLockLost) {
			t.Fatalf("Release of a never-acquired mutex = %v; want ErrNotHeld", err)
		}
		if err := m.Extend(ctx); !errors.Is(err, ErrNotHeld) || errors.Is(err, ErrLockLost) {
			t.Fatalf("Extend of a never-acquired mutex = %v; want ErrNotHeld", err)
		}
		mustAcquire(t, m, false)
		mustRelease(t, m)
		if err := m.Release(ctx); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("second Release = %v; want ErrNotHeld", err)
		} else if !strings.Contains(err.Error(), m.LockKey()) {
			t.Errorf("error %q does not name the lock key %q", err, m.LockKey())
		}
	})

	t.Run("MutualExclusion", func(t *testing.T) {
		t.Parallel()
		const goroutines, iterations = 10, 20
		key := testservers.UniqueKey(t, "")
		ctx := testContext(t, 2*time.Minute)
		opts := fastRetry
		opts.LockTimeout = time.Minute // must not expire under a slow critical section
		var inside, maxInside, total atomic.Int32
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				for range iterations {
					m := kind.newMutex(key, opts) // one value per hold, as the region does
					ok, err := m.Acquire(ctx, true)
					if err != nil || !ok {
						t.Errorf("Acquire = %v, %v", ok, err)
						return
					}
					n := inside.Add(1)
					for {
						old := maxInside.Load()
						if n <= old || maxInside.CompareAndSwap(old, n) {
							break
						}
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
		if got := maxInside.Load(); got != 1 {
			t.Errorf("at most %d goroutines were inside the critical section at once; want 1", got)
		}
		if got := total.Load(); got != goroutines*iterations {
			t.Errorf("%d critical sections ran; want %d", got, goroutines*iterations)
		}
		if locked(t, kind.newMutex(key, mutexOpts{})) {
			t.Error("lock still held after every goroutine released it")
		}
	})

	t.Run("IndependentKeys", func(t *testing.T) {
		t.Parallel()
		key := testservers.UniqueKey(t, "")
		a, b := kind.newMutex(key+"-a", mutexOpts{}), kind.newMutex(key+"-b", mutexOpts{})
		mustAcquire(t, a, false)
		mustAcquire(t, b, false)
		mustRelease(t, a)
		if !locked(t, b) {
			t.Fatal("releasing one key released another")
		}
		mustRelease(t, b)
	})

	t.Run("ContextCancellation", func(t *testing.T) {
		t.Parallel()
		key := testservers.UniqueKey(t, "")
		a := kind.newMutex(key, mutexOpts{})
		mustAcquire(t, a, false)
		defer mustRelease(t, a)

		// Deadline while waiting (default backoff, whose pauses reach 500ms).
		b := kind.newMutex(key, mutexOpts{})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		ok, err := b.Acquire(ctx, true)
		elapsed := time.Since(start)
		if ok || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire past deadline = %v, %v; want false, context.DeadlineExceeded", ok, err)
		}
		if elapsed > 300*time.Millisecond+2*time.Second {
			t.Errorf("Acquire returned %v after its 300ms deadline", elapsed)
		}

		// Cancel while waiting.
		ctx, cancel = context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start = time.Now()
		ok, err = b.Acquire(ctx, true)
		elapsed = time.Since(start)
		if ok || !errors.Is(err, context.Canceled) {
			t.Fatalf("Acquire cancelled = %v, %v; want false, context.Canceled", ok, err)
		}
		if elapsed > 200*time.Millisecond+2*time.Second {
			t.Errorf("Acquire returned %v after it was cancelled at 200ms", elapsed)
		}

		// Already cancelled: no attempt at all, even on a free key.
		free := kind.newMutex(key+"-free", mutexOpts{})
		if ok, err := free.Acquire(ctx, true); ok || !errors.Is(err, context.Canceled) {
			t.Fatalf("Acquire with a cancelled context = %v, %v; want false, context.Canceled", ok, err)
		}
		if locked(t, free) || b.Held() || free.Held() {
			t.Fatal("cancelled Acquire took a lock")
		}
		// b is usable afterwards.
		mustNotAcquire(t, b)
	})

	t.Run("MaxLockAttempts", func(t *testing.T) {
		t.Parallel()
		key := testservers.UniqueKey(t, "")
		a := kind.newMutex(key, mutexOpts{})
		mustAcquire(t, a, false)
		opts := fastRetry
		opts.MaxLockAttempts = 3
		b := kind.newMutex(key, opts)
		ok, err := b.Acquire(testContext(t, 30*time.Second), true)
		if ok || !errors.Is(err, ErrMaxLockAttempts) {
			t.Fatalf("Acquire = %v, %v; want false, ErrMaxLockAttempts", ok, err)
		}
		if msg := err.Error(); !strings.Contains(msg, key) || !strings.Contains(msg, "3 attempts") {
			t.Errorf("error %q should name the key %q and the 3 attempts", msg, key)
		}
		mustNotAcquire(t, b) // a non-blocking attempt is not an error
		mustRelease(t, a)
		mustAcquire(t, b, true)
		mustRelease(t, b)
	})

	t.Run("ReleaseAfterExpiryKeepsNextHoldersLock", func(t *testing.T) {
		t.Parallel()
		key := testservers.UniqueKey(t, "")
		a := kind.newMutex(key, mutexOpts{LockTimeout: time.Second})
		mustAcquire(t, a, false)
		waitUnlocked(t, a, 10*time.Second) // a's lock expires under it
		b := kind.newMutex(key, mutexOpts{LockTimeout: time.Minute})
		mustAcquire(t, b, false)
		bToken, _ := kind.rawGet(t, b.LockKey())

		err := a.Release(context.Background())
		if !errors.Is(err, ErrLockLost) || !errors.Is(err, ErrNotHeld) {
			t.Fatalf("Release of an expired lock = %v; want ErrLockLost (and ErrNotHeld)", err)
		}
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not name the key", err)
		}
		if a.Held() {
			t.Error("a still counts as holding a lost lock")
		}
		if v, ok := kind.rawGet(t, b.LockKey()); !ok || v != bToken {
			t.Fatalf("after the old holder's Release the lock item is %q, %v; want b's token %q", v, ok, bToken)
		}
		if err := a.Extend(context.Background()); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("Extend after a lost Release = %v; want ErrNotHeld", err)
		}
		if v, _ := kind.rawGet(t, b.LockKey()); v != bToken {
			t.Fatal("the old holder's Extend touched the new holder's lock")
		}
		mustNotAcquire(t, a)
		mustRelease(t, b)
	})

	t.Run("ReleaseAfterExpiryNobodyWaiting", func(t *testing.T) {
		t.Parallel()
		m := kind.newMutex(testservers.UniqueKey(t, ""), mutexOpts{LockTimeout: time.Second})
		mustAcquire(t, m, false)
		waitUnlocked(t, m, 10*time.Second)
		if err := m.Release(context.Background()); !errors.Is(err, ErrLockLost) {
			t.Fatalf("Release of an expired lock = %v; want ErrLockLost", err)
		}
		mustAcquire(t, m, false) // usable again
		mustRelease(t, m)
	})

	t.Run("Extend", func(t *testing.T) {
		t.Parallel()
		const timeout = 3 * time.Second
		key := testservers.UniqueKey(t, "")
		a := kind.newMutex(key, mutexOpts{LockTimeout: timeout})
		b := kind.newMutex(key, mutexOpts{})
		ctx := testContext(t, time.Minute)
		mustAcquire(t, a, false)
		start := time.Now()
		for time.Since(start) < timeout+timeout/2 {
			time.Sleep(500 * time.Millisecond)
			if err := a.Extend(ctx); err != nil {
				t.Fatalf("Extend after %v: %v", time.Since(start), err)
			}
			mustNotAcquire(t, b)
		}
		// Stop extending: the lock expires and is lost.
		waitUnlocked(t, a, timeout+5*time.Second)
		mustAcquire(t, b, false)
		if err := a.Extend(ctx); !errors.Is(err, ErrLockLost) {
			t.Fatalf("Extend of a lost lock = %v; want ErrLockLost", err)
		}
		if a.Held() {
			t.Fatal("a still counts as holding a lost lock")
		}
		if err := a.Release(ctx); !errors.Is(err, ErrNotHeld) || errors.Is(err, ErrLockLost) {
			t.Fatalf("Release after a lost Extend = %v; want ErrNotHeld", err)
		}
		if !locked(t, b) {
			t.Fatal("the old holder removed the new holder's lock")
		}
		mustRelease(t, b)
	})

	t.Run("KilledHolder", func(t *testing.T) {
		t.Parallel()
		const timeout = 2 * time.Second
		key := testservers.UniqueKey(t, "")
		t0 := startKilledHolder(t, kind.name, key, timeout)

		b := kind.newMutex(key, mutexOpts{LockTimeout: time.Minute, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 100 * time.Millisecond})
		if !locked(t, b) {
			t.Fatal("the killed holder's lock is gone at once")
		}
		// Checking "not before the timeout" only means something while the
		// lock cannot have expired yet.
		if time.Since(t0) < timeout-300*time.Millisecond {
			mustNotAcquire(t, b)
		} else {
			t.Logf("slow machine: %v passed before the first check; skipping the non-blocking check", time.Since(t0))
		}
		mustAcquire(t, b, true)
		elapsed := time.Since(t0)
		t.Logf("acquired %v after the holder took the lock (timeout %v)", elapsed, timeout)
		// The lock lives at least its timeout (memcached: see
		// MemcachedOptions.LockTimeout). t0 is a little after the child
		// took it, hence the slack.
		if low := timeout - 250*time.Millisecond; elapsed < low {
			t.Errorf("acquired after %v; the dead holder's lock should have lasted at least %v", elapsed, low)
		}
		if high := timeout + 5*time.Second; elapsed > high {
			t.Errorf("acquired after %v; want within %v", elapsed, high)
		}
		mustRelease(t, b)
	})
}

// Environment of the lock holder child process (see TestMain).
const (
	envHolderKind    = "DOGPILE_LOCKMUTEX_TEST_HOLDER" // "memcached" or "redis"
	envHolderKey     = "DOGPILE_LOCKMUTEX_TEST_HOLDER_KEY"
	envHolderTimeout = "DOGPILE_LOCKMUTEX_TEST_HOLDER_TIMEOUT"
)

// startKilledHolder runs this test binary as a child process that takes
// key's lock with the given timeout and prints "locked"; then it kills the
// child with SIGKILL. It returns when the child printed "locked".
func startKilledHolder(t *testing.T, kind, key string, timeout time.Duration) time.Time {
	t.Helper()
	cmd := testservers.Child(envHolderKind+"="+kind, envHolderKey+"="+key, envHolderTimeout+"="+timeout.String())
	stdin, err := cmd.StdinPipe() // the child exits when this closes
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		line := ""
		if sc.Scan() {
			line = sc.Text()
		}
		lines <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	kill := func() {
		_ = cmd.Process.Kill()
		_ = stdin.Close()
		_ = cmd.Wait()
	}
	select {
	case line := <-lines:
		t0 := time.Now()
		if line != "locked" {
			kill()
			t.Fatalf("holder process printed %q, not \"locked\"; stderr:\n%s", line, stderr.String())
		}
		kill() // SIGKILL: no chance to release
		return t0
	case <-time.After(30 * time.Second):
		kill()
		t.Fatalf("holder process did not report the lock within 30s; stderr:\n%s", stderr.String())
	}
	return time.Time{}
}

// runHolder is the child process of startKilledHolder: it takes the lock,
// prints "locked" and waits to be killed (or for its stdin to close).
func runHolder() int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "lock holder: "+format+"\n", args...)
		return 1
	}
	key := os.Getenv(envHolderKey)
	timeout, err := time.ParseDuration(os.Getenv(envHolderTimeout))
	if err != nil {
		return fail("bad timeout: %v", err)
	}
	var m distMutex
	switch kind := os.Getenv(envHolderKind); kind {
	case "memcached":
		addrs, err := testservers.MemcachedAddrs()
		if err != nil {
			return fail("%v", err)
		}
		m = NewMemcachedMutex(memcache.New(addrs...), key, MemcachedOptions{LockTimeout: timeout})
	case "redis":
		addr, err := testservers.RedisAddr()
		if err != nil {
			return fail("%v", err)
		}
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		m = NewRedisMutex(c, key, RedisOptions{LockTimeout: timeout})
	default:
		return fail("unknown kind %q", kind)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ok, err := m.Acquire(ctx, false)
	if err != nil || !ok {
		return fail("Acquire = %v, %v", ok, err)
	}
	fmt.Println("locked")
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done: // parent went away
	case <-time.After(2 * time.Minute):
	}
	return 0
}

func TestBackoff(t *testing.T) {
	s := newSettings(0, 0, 10*time.Millisecond, 80*time.Millisecond)
	for attempt, nominal := range map[int]time.Duration{1: 10, 2: 20, 3: 40, 4: 80, 5: 80, 100: 80} {
		nominal *= time.Millisecond
		for range 50 {
			if d := s.backoff(attempt); d < nominal/2 || d > nominal {
				t.Fatalf("backoff(%d) = %v; want in [%v, %v]", attempt, d, nominal/2, nominal)
			}
		}
	}
	if s := newSettings(-1, -1, -1, -1); s != (settings{DefaultLockTimeout, 0, DefaultRetryDelay, DefaultMaxRetryDelay}) {
		t.Errorf("defaults = %+v", s)
	}
	if s := newSettings(0, 0, time.Second, time.Millisecond); s.maxRetryDelay != time.Second {
		t.Errorf("MaxRetryDelay below RetryDelay not raised: %+v", s)
	}
}
