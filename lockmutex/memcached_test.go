package lockmutex

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/internal/testservers"
)

func memcachedKind(t *testing.T) lockKind {
	t.Helper()
	c := newMemcachedClient(t)
	return lockKind{
		name: "memcached",
		newMutex: func(key string, o mutexOpts) distMutex {
			return NewMemcachedMutex(c, key, MemcachedOptions{LockTimeout: o.LockTimeout, MaxLockAttempts: o.MaxLockAttempts, RetryDelay: o.RetryDelay, MaxRetryDelay: o.MaxRetryDelay})
		},
		rawGet: func(t *testing.T, lockKey string) (string, bool) {
			t.Helper()
			it, err := c.Get(lockKey)
			if errors.Is(err, memcache.ErrCacheMiss) {
				return "", false
			}
			if err != nil {
				t.Fatalf("memcached get %q: %v", lockKey, err)
			}
			return string(it.Value), true
		},
	}
}

func TestMemcachedMutex(t *testing.T) {
	runSuite(t, memcachedKind(t))
}

func TestMemcachedMutexServerDown(t *testing.T) {
	c := memcache.New(testservers.ClosedAddr(t))
	key := testservers.UniqueKey(t, "")
	m := NewMemcachedMutex(c, key, MemcachedOptions{})
	ctx := context.Background()
	checkServerDown(t, ctx, m, key)
}

func TestMemcachedMutexInvalidKey(t *testing.T) {
	c := memcache.New(testservers.ClosedAddr(t)) // never contacted
	ctx := context.Background()
	for _, key := range []string{
		"has space",
		"new\nline",
		"tab\t",
		"del\x7f",
		"caf\xc3\xa9", // UTF-8: refused, as by the memcached backend's CheckKey
		"high\x80",
		strings.Repeat("k", 250-len(LockKeyPrefix)+1),
	} {
		m := NewMemcachedMutex(c, key, MemcachedOptions{})
		ok, err := m.Acquire(ctx, true)
		if ok || !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Acquire(%q) = %v, %v; want ErrInvalidKey", key, ok, err)
			continue
		}
		if !strings.Contains(err.Error(), strings.TrimSpace(key[:min(len(key), 3)])) {
			t.Errorf("error %q does not name the key %q", err, key)
		}
		if _, err := m.Locked(ctx); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Locked(%q) = %v; want ErrInvalidKey", key, err)
		}
		if err := m.Release(ctx); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Release(%q) = %v; want ErrInvalidKey", key, err)
		}
		if err := m.Extend(ctx); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Extend(%q) = %v; want ErrInvalidKey", key, err)
		}
	}
	// The longest legal key is accepted.
	if m := NewMemcachedMutex(c, strings.Repeat("k", 250-len(LockKeyPrefix)), MemcachedOptions{}); m.keyErr != nil {
		t.Errorf("250-byte lock key rejected: %v", m.keyErr)
	}
	m := NewMemcachedMutex(nil, "k", MemcachedOptions{})
	if _, err := m.Acquire(ctx, false); !errors.Is(err, ErrNilClient) {
		t.Errorf("Acquire with a nil client = %v; want ErrNilClient", err)
	}
}

func TestMemcachedExpiration(t *testing.T) {
	for _, tc := range []struct {
		timeout time.Duration
		want    int32
	}{
		{0, 7}, // default 5s, plus 2 for memcached's clock step
		{time.Millisecond, 3},
		{time.Second, 3},
		{1500 * time.Millisecond, 4},
		{6 * time.Second, 8},
		{30*24*time.Hour - 2*time.Second, 30 * 24 * 3600},
	} {
		m := NewMemcachedMutex(memcache.New(), "k", MemcachedOptions{LockTimeout: tc.timeout})
		if got := m.expiration(); got != tc.want {
			t.Errorf("LockTimeout %v: expiration %d; want %d", tc.timeout, got, tc.want)
		}
	}
	// Beyond 30 days memcached wants an absolute Unix time.
	m := NewMemcachedMutex(memcache.New(), "k", MemcachedOptions{LockTimeout: 31 * 24 * time.Hour})
	want := time.Now().Add(31*24*time.Hour + 2*time.Second).Unix()
	if got := int64(m.expiration()); got < want-5 || got > want+5 {
		t.Errorf("31 days: expiration %d; want about %d", got, want)
	}
}

// The region's lock leases (region.WithLockLeases) extend mutexes with
// exactly these methods; a change of signature would silently turn leases
// off.
var (
	_ interface {
		Extend(context.Context) error
		LockTimeout() time.Duration
	} = (*MemcachedMutex)(nil)
	_ interface {
		Extend(context.Context) error
		LockTimeout() time.Duration
	} = (*RedisMutex)(nil)
)

// TestMemcachedExtendAfterLossIsNotHeld: the region stops extending a lease
// when Extend returns an error matching ErrNotHeld, so a lost lock must give
// one, whether it expired, was taken over, or vanished with a server restart.
func TestMemcachedExtendAfterLossIsNotHeld(t *testing.T) {
	c := newMemcachedClient(t)
	ctx := testContext(t, time.Minute)
	key := testservers.UniqueKey(t, "")
	m := NewMemcachedMutex(c, key, MemcachedOptions{LockTimeout: time.Second})
	if m.LockTimeout() != time.Second {
		t.Fatalf("LockTimeout() = %v", m.LockTimeout())
	}
	mustAcquire(t, m, false)
	if err := m.Extend(ctx); err != nil {
		t.Fatalf("Extend while held: %v", err)
	}
	// The item vanishes (evicted, expired, or the server restarted).
	if err := c.Delete(m.LockKey()); err != nil {
		t.Fatal(err)
	}
	err := m.Extend(ctx)
	if !errors.Is(err, ErrNotHeld) || !errors.Is(err, ErrLockLost) {
		t.Fatalf("Extend of a vanished lock = %v; want ErrNotHeld and ErrLockLost", err)
	}
	if err := m.Extend(ctx); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("second Extend = %v; want ErrNotHeld", err)
	}
	// Taken over by another holder: Extend leaves the new holder's lock alone.
	mustAcquire(t, m, false)
	if err := c.Delete(m.LockKey()); err != nil {
		t.Fatal(err)
	}
	other := NewMemcachedMutex(c, key, MemcachedOptions{LockTimeout: 10 * time.Second})
	mustAcquire(t, other, false)
	before, err := c.Get(m.LockKey())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Extend(ctx); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("Extend of a lock taken over = %v; want ErrNotHeld", err)
	}
	after, err := c.Get(m.LockKey())
	if err != nil || after.CasID != before.CasID {
		t.Fatalf("the lost holder's Extend touched the new holder's item (%v)", err)
	}
	mustRelease(t, other)
}

// fillPool leaves several idle connections in c's pool, as a busy process
// has: concurrent calls each take a connection of their own.
func fillPool(t *testing.T, c *memcache.Client) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range 2 * c.MaxIdleConns {
		wg.Go(func() {
			for range 20 {
				if _, err := c.Get(fmt.Sprintf("pool-%d", i)); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
					t.Errorf("filling the pool: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestMemcachedMutexRestartedServer restarts memcached between lock calls:
// the client's pooled connections are dead, and the mutex must not fail
// because of them (it sends the command again on a new connection).
func TestMemcachedMutexRestartedServer(t *testing.T) {
	addr, srv := testservers.StartMemcached(t)
	c := memcache.New(addr)
	c.Timeout = 2 * time.Second
	c.MaxIdleConns = 4
	t.Cleanup(func() { _ = c.Close() })
	ctx := testContext(t, time.Minute)
	key := testservers.UniqueKey(t, "")
	m := NewMemcachedMutex(c, key, MemcachedOptions{LockTimeout: 10 * time.Second})

	fillPool(t, c)
	srv.Restart()
	if got, err := m.Acquire(ctx, false); err != nil || !got {
		t.Fatalf("Acquire after a restart = %v, %v; want the lock", got, err)
	}

	fillPool(t, c)
	srv.Restart() // the lock item is gone with the old process
	if got, err := m.Locked(ctx); err != nil || got {
		t.Fatalf("Locked after a restart = %v, %v; want false, nil", got, err)
	}
	fillPool(t, c)
	srv.Restart()
	if err := m.Extend(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("Extend after a restart = %v; want ErrLockLost, not a connection error", err)
	}

	mustAcquire(t, m, true)
	fillPool(t, c)
	srv.Restart()
	if err := m.Release(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("Release after a restart = %v; want ErrLockLost, not a connection error", err)
	}

	// With a live lock item: the restart kills the pool, a second client
	// puts the item back on the new process, and Extend and Release must
	// reach it through the first client's dead connections.
	mustAcquire(t, m, false)
	token, err := m.h.current(m.LockKey(), "test")
	if err != nil {
		t.Fatal(err)
	}
	restore := func() {
		t.Helper()
		fresh := memcache.New(addr)
		defer fresh.Close()
		if err := fresh.Set(&memcache.Item{Key: m.LockKey(), Value: []byte(token), Expiration: 30}); err != nil {
			t.Fatalf("restoring the lock item: %v", err)
		}
	}
	fillPool(t, c)
	srv.Restart()
	restore()
	if err := m.Extend(ctx); err != nil {
		t.Fatalf("Extend of a live lock after a restart = %v", err)
	}
	fillPool(t, c)
	srv.Restart()
	restore()
	if err := m.Release(ctx); err != nil {
		t.Fatalf("Release of a live lock after a restart = %v", err)
	}
	if got, err := m.Locked(ctx); err != nil || got {
		t.Fatalf("Locked after Release = %v, %v", got, err)
	}
}
