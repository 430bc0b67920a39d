package memcachedmutex

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
	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/lockmutex/internal/mutextest"
)

func memcachedKind(t *testing.T) mutextest.Kind {
	t.Helper()
	c := newMemcachedClient(t)
	return mutextest.Kind{
		NewMutex: func(key string, o mutextest.Opts) mutextest.Mutex {
			return New(c, key, Options{LockTimeout: o.LockTimeout, MaxLockAttempts: o.MaxLockAttempts, RetryDelay: o.RetryDelay, MaxRetryDelay: o.MaxRetryDelay})
		},
		RawGet: func(t *testing.T, lockKey string) (string, bool) {
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

func TestMutex(t *testing.T) {
	mutextest.Run(t, memcachedKind(t))
}

func TestMutexServerDown(t *testing.T) {
	c := memcache.New(testservers.ClosedAddr(t))
	key := testservers.UniqueKey(t, "")
	m := New(c, key, Options{})
	ctx := context.Background()
	mutextest.CheckServerDown(t, ctx, m, key)
}

func TestMutexInvalidKey(t *testing.T) {
	c := memcache.New(testservers.ClosedAddr(t)) // never contacted
	ctx := context.Background()
	for _, key := range []string{
		"has space",
		"new\nline",
		"tab\t",
		"del\x7f",
		"caf\xc3\xa9", // UTF-8: refused, as by the memcached backend's CheckKey
		"high\x80",
		strings.Repeat("k", 250-len(lockmutex.LockKeyPrefix)+1),
	} {
		m := New(c, key, Options{})
		ok, err := m.Acquire(ctx, true)
		if ok || !errors.Is(err, lockmutex.ErrInvalidKey) {
			t.Errorf("Acquire(%q) = %v, %v; want lockmutex.ErrInvalidKey", key, ok, err)
			continue
		}
		if !strings.Contains(err.Error(), strings.TrimSpace(key[:min(len(key), 3)])) {
			t.Errorf("error %q does not name the key %q", err, key)
		}
		if _, err := m.Locked(ctx); !errors.Is(err, lockmutex.ErrInvalidKey) {
			t.Errorf("Locked(%q) = %v; want lockmutex.ErrInvalidKey", key, err)
		}
		if err := m.Release(ctx); !errors.Is(err, lockmutex.ErrInvalidKey) {
			t.Errorf("Release(%q) = %v; want lockmutex.ErrInvalidKey", key, err)
		}
		if err := m.Extend(ctx); !errors.Is(err, lockmutex.ErrInvalidKey) {
			t.Errorf("Extend(%q) = %v; want lockmutex.ErrInvalidKey", key, err)
		}
	}
	// The longest legal key is accepted.
	if m := New(c, strings.Repeat("k", 250-len(lockmutex.LockKeyPrefix)), Options{}); m.keyErr != nil {
		t.Errorf("250-byte lock key rejected: %v", m.keyErr)
	}
	m := New(nil, "k", Options{})
	if _, err := m.Acquire(ctx, false); !errors.Is(err, lockmutex.ErrNilClient) {
		t.Errorf("Acquire with a nil client = %v; want lockmutex.ErrNilClient", err)
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
		m := New(memcache.New(), "k", Options{LockTimeout: tc.timeout})
		if got := m.expiration(); got != tc.want {
			t.Errorf("LockTimeout %v: expiration %d; want %d", tc.timeout, got, tc.want)
		}
	}
	// Beyond 30 days memcached wants an absolute Unix time.
	m := New(memcache.New(), "k", Options{LockTimeout: 31 * 24 * time.Hour})
	want := time.Now().Add(31*24*time.Hour + 2*time.Second).Unix()
	if got := int64(m.expiration()); got < want-5 || got > want+5 {
		t.Errorf("31 days: expiration %d; want about %d", got, want)
	}
}

// The region's lock leases (region.WithLockLeases) extend mutexes with
// exactly these methods; a change of signature would silently turn leases
// off.
var _ interface {
	Extend(context.Context) error
	LockTimeout() time.Duration
} = (*Mutex)(nil)

// TestMemcachedExtendAfterLossIsNotHeld: the region stops extending a lease
// when Extend returns an error matching lockmutex.ErrNotHeld, so a lost lock must give
// one, whether it expired, was taken over, or vanished with a server restart.
func TestMemcachedExtendAfterLossIsNotHeld(t *testing.T) {
	c := newMemcachedClient(t)
	ctx := mutextest.Context(t, time.Minute)
	key := testservers.UniqueKey(t, "")
	m := New(c, key, Options{LockTimeout: time.Second})
	if m.LockTimeout() != time.Second {
		t.Fatalf("LockTimeout() = %v", m.LockTimeout())
	}
	mutextest.MustAcquire(t, m, false)
	if err := m.Extend(ctx); err != nil {
		t.Fatalf("Extend while held: %v", err)
	}
	// The item vanishes (evicted, expired, or the server restarted).
	if err := c.Delete(m.LockKey()); err != nil {
		t.Fatal(err)
	}
	err := m.Extend(ctx)
	if !errors.Is(err, lockmutex.ErrNotHeld) || !errors.Is(err, lockmutex.ErrLockLost) {
		t.Fatalf("Extend of a vanished lock = %v; want lockmutex.ErrNotHeld and lockmutex.ErrLockLost", err)
	}
	if err := m.Extend(ctx); !errors.Is(err, lockmutex.ErrNotHeld) {
		t.Fatalf("second Extend = %v; want lockmutex.ErrNotHeld", err)
	}
	// Taken over by another holder: Extend leaves the new holder's lock alone.
	mutextest.MustAcquire(t, m, false)
	if err := c.Delete(m.LockKey()); err != nil {
		t.Fatal(err)
	}
	other := New(c, key, Options{LockTimeout: 10 * time.Second})
	mutextest.MustAcquire(t, other, false)
	before, err := c.Get(m.LockKey())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Extend(ctx); !errors.Is(err, lockmutex.ErrNotHeld) {
		t.Fatalf("Extend of a lock taken over = %v; want lockmutex.ErrNotHeld", err)
	}
	after, err := c.Get(m.LockKey())
	if err != nil || after.CasID != before.CasID {
		t.Fatalf("the lost holder's Extend touched the new holder's item (%v)", err)
	}
	mutextest.MustRelease(t, other)
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

// TestMutexRestartedServer restarts memcached between lock calls:
// the client's pooled connections are dead, and the mutex must not fail
// because of them (it sends the command again on a new connection).
func TestMutexRestartedServer(t *testing.T) {
	addr, srv := testservers.StartMemcached(t)
	c := memcache.New(addr)
	c.Timeout = 2 * time.Second
	c.MaxIdleConns = 4
	t.Cleanup(func() { _ = c.Close() })
	ctx := mutextest.Context(t, time.Minute)
	key := testservers.UniqueKey(t, "")
	m := New(c, key, Options{LockTimeout: 10 * time.Second})

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
	if err := m.Extend(ctx); !errors.Is(err, lockmutex.ErrLockLost) {
		t.Fatalf("Extend after a restart = %v; want lockmutex.ErrLockLost, not a connection error", err)
	}

	mutextest.MustAcquire(t, m, true)
	fillPool(t, c)
	srv.Restart()
	if err := m.Release(ctx); !errors.Is(err, lockmutex.ErrLockLost) {
		t.Fatalf("Release after a restart = %v; want lockmutex.ErrLockLost, not a connection error", err)
	}

	// With a live lock item: the restart kills the pool, a second client
	// puts the item back on the new process, and Extend and Release must
	// reach it through the first client's dead connections.
	mutextest.MustAcquire(t, m, false)
	token, err := m.h.Current(m.LockKey(), "test")
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
