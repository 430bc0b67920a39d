// Package mutextest is the test suite of the distributed mutexes
// (lockmutex/memcachedmutex, lockmutex/redismutex): dogpile.cache's mutex
// behaviours, run against a real server, plus the helpers their own tests
// share. A package runs it with Run and a Kind, and calls RunHolderIfChild
// from its TestMain for the killed-holder test.
package mutextest

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

	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/lockmutex"
)

// Mutex is what the suite tests: region.Mutex (restated, as lockmutex's
// packages do not import region) and the methods every distributed mutex
// has.
type Mutex interface {
	Acquire(ctx context.Context, wait bool) (bool, error)
	Release(ctx context.Context) error
	Locked(ctx context.Context) (bool, error)
	Extend(ctx context.Context) error
	Held() bool
	Key() string
	LockKey() string
	LockTimeout() time.Duration
}

// Opts are the options the suite varies; the mutexes' option structs have
// these fields.
type Opts struct {
	LockTimeout     time.Duration
	MaxLockAttempts int
	RetryDelay      time.Duration
	MaxRetryDelay   time.Duration
}

// Kind is one distributed mutex implementation under test.
type Kind struct {
	// NewMutex returns a mutex for key with the given options.
	NewMutex func(key string, o Opts) Mutex
	// RawGet reads the lock item directly from the server.
	RawGet func(t *testing.T, lockKey string) (value string, ok bool)
}

// FastRetry makes blocking acquires poll often, for tests with contention.
var FastRetry = Opts{RetryDelay: time.Millisecond, MaxRetryDelay: 20 * time.Millisecond}

// Context returns a context that ends after d or with the test.
func Context(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// MustAcquire fails the test unless m gets the lock.
func MustAcquire(t *testing.T, m Mutex, wait bool) {
	t.Helper()
	ok, err := m.Acquire(Context(t, 30*time.Second), wait)
	if err != nil || !ok {
		t.Fatalf("Acquire(%q, wait=%v) = %v, %v; want true, nil", m.LockKey(), wait, ok, err)
	}
}

// MustNotAcquire fails the test unless a non-blocking Acquire of m finds
// the lock held elsewhere (false, no error) and leaves m not holding it.
func MustNotAcquire(t *testing.T, m Mutex) {
	t.Helper()
	ok, err := m.Acquire(Context(t, 30*time.Second), false)
	if err != nil || ok {
		t.Fatalf("Acquire(%q, wait=false) = %v, %v; want false, nil (lock held elsewhere)", m.LockKey(), ok, err)
	}
	if m.Held() {
		t.Fatalf("Held() = true after a failed Acquire")
	}
}

// MustRelease fails the test unless m releases its lock.
func MustRelease(t *testing.T, m Mutex) {
	t.Helper()
	if err := m.Release(Context(t, 30*time.Second)); err != nil {
		t.Fatalf("Release(%q) = %v", m.LockKey(), err)
	}
}

// Locked reports whether m's lock is held, failing the test on an error.
func Locked(t *testing.T, m Mutex) bool {
	t.Helper()
	l, err := m.Locked(Context(t, 30*time.Second))
	if err != nil {
		t.Fatalf("Locked(%q): %v", m.LockKey(), err)
	}
	return l
}

// WaitUnlocked polls until m's lock item is gone, failing after limit.
func WaitUnlocked(t *testing.T, m Mutex, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for Locked(t, m) {
		if time.Since(start) > limit {
			t.Fatalf("lock %q still exists after %v", m.LockKey(), limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// CheckServerDown checks m (on key) against a server that does not answer:
// every call fails with an error naming the key, and nothing is held.
func CheckServerDown(t *testing.T, ctx context.Context, m Mutex, key string) {
	t.Helper()
	for _, wait := range []bool{false, true} {
		ok, err := m.Acquire(ctx, wait)
		if ok || err == nil || errors.Is(err, lockmutex.ErrMaxLockAttempts) || !strings.Contains(err.Error(), key) {
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

// Run runs dogpile.cache's mutex test behaviours against kind, as
// parallel subtests of t. It needs the test servers (testservers); the
// package's TestMain must call RunHolderIfChild.
func Run(t *testing.T, kind Kind) {
	t.Run("AcquireLockedRelease", func(t *testing.T) {
		t.Parallel()
		key := testservers.UniqueKey(t, "")
		a, other := kind.NewMutex(key, Opts{}), kind.NewMutex(key, Opts{})
		if a.Key() != key || a.LockKey() != "_lock"+key {
			t.Fatalf("Key, LockKey = %q, %q; want %q, %q", a.Key(), a.LockKey(), key, "_lock"+key)
		}
		if a.LockTimeout() != lockmutex.DefaultLockTimeout {
			t.Errorf("LockTimeout() = %v; want the default %v", a.LockTimeout(), lockmutex.DefaultLockTimeout)
		}
		if Locked(t, a) || a.Held() {
			t.Fatal("fresh key reads as locked")
		}
		MustAcquire(t, a, false)
		if !a.Held() || !Locked(t, a) || !Locked(t, other) {
			t.Fatal("acquired lock does not read as locked")
		}
		if v, ok := kind.RawGet(t, "_lock"+key); !ok || v == "" {
			t.Fatalf("lock item %q = %q, %v; want a token", "_lock"+key, v, ok)
		}
		MustRelease(t, a)
		if a.Held() || Locked(t, a) || Locked(t, other) {
			t.Fatal("released lock still reads as locked")
		}
		if _, ok := kind.RawGet(t, "_lock"+key); ok {
			t.Fatal("lock item still exists after Release")
		}
	})

	t.Run("SecondMutexCannotAcquire", func(t *testing.T) {
		t.Parallel()
		key := testservers.UniqueKey(t, "")
		a, b := kind.NewMutex(key, Opts{}), kind.NewMutex(key, Opts{})
		MustAcquire(t, a, false)
		MustNotAcquire(t, b)
		if err := b.Release(context.Background()); !errors.Is(err, lockmutex.ErrNotHeld) {
			t.Fatalf("Release by the loser = %v; want lockmutex.ErrNotHeld", err)
		}
		if !Locked(t, a) {
			t.Fatal("loser's Release removed the winner's lock")
		}
		MustRelease(t, a)
		MustAcquire(t, b, false)
		MustNotAcquire(t, a)
		MustRelease(t, b)
	})

	t.Run("ReacquireAfterRelease", func(t *testing.T) {
		t.Parallel()
		m := kind.NewMutex(testservers.UniqueKey(t, ""), Opts{})
		for range 3 {
			MustAcquire(t, m, false)
			MustRelease(t, m)
		}
		MustAcquire(t, m, true)
		MustRelease(t, m)
	})

	t.Run("NotReentrant", func(t *testing.T) {
		t.Parallel()
		m := kind.NewMutex(testservers.UniqueKey(t, ""), Opts{})
		MustAcquire(t, m, false)
		for _, wait := range []bool{false, true} {
			ok, err := m.Acquire(context.Background(), wait)
			if ok || !errors.Is(err, lockmutex.ErrAlreadyHeld) {
				t.Fatalf("second Acquire(wait=%v) = %v, %v; want false, lockmutex.ErrAlreadyHeld", wait, ok, err)
			}
		}
		if !m.Held() {
			t.Fatal("failed second Acquire dropped the hold")
		}
		MustRelease(t, m)
	})

	t.Run("ReleaseNotHeld", func(t *testing.T) {
		t.Parallel()
		m := kind.NewMutex(testservers.UniqueKey(t, ""), Opts{})
		ctx := context.Background()
		if err := m.Release(ctx); !errors.Is(err, lockmutex.ErrNotHeld) || errors.Is(err, lockmutex.ErrLockLost) {
			t.Fatalf("Release of a never-acquired mutex = %v; want lockmutex.ErrNotHeld", err)
		}
		if err := m.Extend(ctx); !errors.Is(err, lockmutex.ErrNotHeld) || errors.Is(err, lockmutex.ErrLockLost) {
			t.Fatalf("Extend of a never-acquired mutex = %v; want lockmutex.ErrNotHeld", err)
		}
		MustAcquire(t, m, false)
		MustRelease(t, m)
		if err := m.Release(ctx); !errors.Is(err, lockmutex.ErrNotHeld) {
			t.Fatalf("second Release = %v; want lockmutex.ErrNotHeld", err)
		} else if !strings.Contains(err.Error(), m.LockKey()) {
			t.Errorf("error %q does not name the lock key %q", err, m.LockKey())
		}
	})

	t.Run("MutualExclusion", func(t *testing.T) {
		t.Parallel()
		const goroutines, iterations = 10, 20
		key := testservers.UniqueKey(t, "")
		ctx := Context(t, 2*time.Minute)
		opts := FastRetry
		opts.LockTimeout = time.Minute // must not expire under a slow critical section
		var inside, maxInside, total atomic.Int32
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				for range iterations {
					m := kind.NewMutex(key, opts) // one value per hold, as the region does
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
		if Locked(t, kind.NewMutex(key, Opts{})) {
			t.Error("lock still held after every goroutine released it")
		}
	})

	t.Run("IndependentKeys", func(t *testing.T) {
		t.Parallel()
		key := testservers.UniqueKey(t, "")
		a, b := kind.NewMutex(key+"-a", Opts{}), kind.NewMutex(key+"-b", Opts{})
		MustAcquire(t, a, false)
		MustAcquire(t, b, false)
		MustRelease(t, a)
		if !Locked(t, b) {
			t.Fatal("releasing one key released another")
		}
		MustRelease(t, b)
	})

	t.Run("ContextCancellation", func(t *testing.T) {
		t.Parallel()
		key := testservers.UniqueKey(t, "")
		a := kind.NewMutex(key, Opts{})
		MustAcquire(t, a, false)
		defer MustRelease(t, a)

		// Deadline while waiting (default backoff, whose pauses reach 500ms).
		b := kind.NewMutex(key, Opts{})
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
		free := kind.NewMutex(key+"-free", Opts{})
		if ok, err := free.Acquire(ctx, true); ok || !errors.Is(err, context.Canceled) {
			t.Fatalf("Acquire with a cancelled context = %v, %v; want false, context.Canceled", ok, err)
		}
		if Locked(t, free) || b.Held() || free.Held() {
			t.Fatal("cancelled Acquire took a lock")
		}
		// b is usable afterwards.
		MustNotAcquire(t, b)
	})

	t.Run("MaxLockAttempts", func(t *testing.T) {
		t.Parallel()
		key := testservers.UniqueKey(t, "")
		a := kind.NewMutex(key, Opts{})
		MustAcquire(t, a, false)
		opts := FastRetry
		opts.MaxLockAttempts = 3
		b := kind.NewMutex(key, opts)
		ok, err := b.Acquire(Context(t, 30*time.Second), true)
		if ok || !errors.Is(err, lockmutex.ErrMaxLockAttempts) {
			t.Fatalf("Acquire = %v, %v; want false, lockmutex.ErrMaxLockAttempts", ok, err)
		}
		if msg := err.Error(); !strings.Contains(msg, key) || !strings.Contains(msg, "3 attempts") {
			t.Errorf("error %q should name the key %q and the 3 attempts", msg, key)
		}
		MustNotAcquire(t, b) // a non-blocking attempt is not an error
		MustRelease(t, a)
		MustAcquire(t, b, true)
		MustRelease(t, b)
	})

	t.Run("ReleaseAfterExpiryKeepsNextHoldersLock", func(t *testing.T) {
		t.Parallel()
		key := testservers.UniqueKey(t, "")
		a := kind.NewMutex(key, Opts{LockTimeout: time.Second})
		MustAcquire(t, a, false)
		WaitUnlocked(t, a, 10*time.Second) // a's lock expires under it
		b := kind.NewMutex(key, Opts{LockTimeout: time.Minute})
		MustAcquire(t, b, false)
		bToken, _ := kind.RawGet(t, b.LockKey())

		err := a.Release(context.Background())
		if !errors.Is(err, lockmutex.ErrLockLost) || !errors.Is(err, lockmutex.ErrNotHeld) {
			t.Fatalf("Release of an expired lock = %v; want lockmutex.ErrLockLost (and lockmutex.ErrNotHeld)", err)
		}
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not name the key", err)
		}
		if a.Held() {
			t.Error("a still counts as holding a lost lock")
		}
		if v, ok := kind.RawGet(t, b.LockKey()); !ok || v != bToken {
			t.Fatalf("after the old holder's Release the lock item is %q, %v; want b's token %q", v, ok, bToken)
		}
		if err := a.Extend(context.Background()); !errors.Is(err, lockmutex.ErrNotHeld) {
			t.Fatalf("Extend after a lost Release = %v; want lockmutex.ErrNotHeld", err)
		}
		if v, _ := kind.RawGet(t, b.LockKey()); v != bToken {
			t.Fatal("the old holder's Extend touched the new holder's lock")
		}
		MustNotAcquire(t, a)
		MustRelease(t, b)
	})

	t.Run("ReleaseAfterExpiryNobodyWaiting", func(t *testing.T) {
		t.Parallel()
		m := kind.NewMutex(testservers.UniqueKey(t, ""), Opts{LockTimeout: time.Second})
		MustAcquire(t, m, false)
		WaitUnlocked(t, m, 10*time.Second)
		if err := m.Release(context.Background()); !errors.Is(err, lockmutex.ErrLockLost) {
			t.Fatalf("Release of an expired lock = %v; want lockmutex.ErrLockLost", err)
		}
		MustAcquire(t, m, false) // usable again
		MustRelease(t, m)
	})

	t.Run("Extend", func(t *testing.T) {
		t.Parallel()
		const timeout = 3 * time.Second
		key := testservers.UniqueKey(t, "")
		a := kind.NewMutex(key, Opts{LockTimeout: timeout})
		b := kind.NewMutex(key, Opts{})
		ctx := Context(t, time.Minute)
		MustAcquire(t, a, false)
		start := time.Now()
		for time.Since(start) < timeout+timeout/2 {
			time.Sleep(500 * time.Millisecond)
			if err := a.Extend(ctx); err != nil {
				t.Fatalf("Extend after %v: %v", time.Since(start), err)
			}
			MustNotAcquire(t, b)
		}
		// Stop extending: the lock expires and is lost.
		WaitUnlocked(t, a, timeout+5*time.Second)
		MustAcquire(t, b, false)
		if err := a.Extend(ctx); !errors.Is(err, lockmutex.ErrLockLost) {
			t.Fatalf("Extend of a lost lock = %v; want lockmutex.ErrLockLost", err)
		}
		if a.Held() {
			t.Fatal("a still counts as holding a lost lock")
		}
		if err := a.Release(ctx); !errors.Is(err, lockmutex.ErrNotHeld) || errors.Is(err, lockmutex.ErrLockLost) {
			t.Fatalf("Release after a lost Extend = %v; want lockmutex.ErrNotHeld", err)
		}
		if !Locked(t, b) {
			t.Fatal("the old holder removed the new holder's lock")
		}
		MustRelease(t, b)
	})

	t.Run("KilledHolder", func(t *testing.T) {
		t.Parallel()
		const timeout = 2 * time.Second
		key := testservers.UniqueKey(t, "")
		t0 := startKilledHolder(t, key, timeout)

		b := kind.NewMutex(key, Opts{LockTimeout: time.Minute, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 100 * time.Millisecond})
		if !Locked(t, b) {
			t.Fatal("the killed holder's lock is gone at once")
		}
		// Checking "not before the timeout" only means something while the
		// lock cannot have expired yet.
		if time.Since(t0) < timeout-300*time.Millisecond {
			MustNotAcquire(t, b)
		} else {
			t.Logf("slow machine: %v passed before the first check; skipping the non-blocking check", time.Since(t0))
		}
		MustAcquire(t, b, true)
		elapsed := time.Since(t0)
		t.Logf("acquired %v after the holder took the lock (timeout %v)", elapsed, timeout)
		// The lock lives at least its timeout (memcached: see
		// memcachedmutex.Options.LockTimeout). t0 is a little after the child
		// took it, hence the slack.
		if low := timeout - 250*time.Millisecond; elapsed < low {
			t.Errorf("acquired after %v; the dead holder's lock should have lasted at least %v", elapsed, low)
		}
		if high := timeout + 5*time.Second; elapsed > high {
			t.Errorf("acquired after %v; want within %v", elapsed, high)
		}
		MustRelease(t, b)
	})
}

// Environment of the lock holder child process (see RunHolderIfChild).
const (
	envHolderKey     = "DOGPILE_LOCKMUTEX_TEST_HOLDER_KEY"
	envHolderTimeout = "DOGPILE_LOCKMUTEX_TEST_HOLDER_TIMEOUT"
)

// startKilledHolder runs this test binary as a child process that takes
// key's lock with the given timeout and prints "locked"; then it kills the
// child with SIGKILL. It returns when the child printed "locked".
func startKilledHolder(t *testing.T, key string, timeout time.Duration) time.Time {
	t.Helper()
	cmd := testservers.Child(envHolderKey+"="+key, envHolderTimeout+"="+timeout.String())
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

// RunHolderIfChild makes a package's TestMain the lock holder child of
// Run's killed-holder test when this process is one: it takes the lock of
// the mutex newMutex returns (for the key, with the lock timeout the parent
// asked for, on the test servers), prints "locked", waits to be killed and
// exits. In any other process it returns at once.
func RunHolderIfChild(newMutex func(key string, lockTimeout time.Duration) (Mutex, error)) {
	if os.Getenv(envHolderKey) == "" {
		return
	}
	os.Exit(runHolder(newMutex))
}

// runHolder is the child process of startKilledHolder: it takes the lock,
// prints "locked" and waits to be killed (or for its stdin to close).
func runHolder(newMutex func(key string, lockTimeout time.Duration) (Mutex, error)) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "lock holder: "+format+"\n", args...)
		return 1
	}
	key := os.Getenv(envHolderKey)
	timeout, err := time.ParseDuration(os.Getenv(envHolderTimeout))
	if err != nil {
		return fail("bad timeout: %v", err)
	}
	m, err := newMutex(key, timeout)
	if err != nil {
		return fail("%v", err)
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
