package lockmutex

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

func memcachedKind(t *testing.T) lockKind {
	t.Helper()
	c := newMemcachedClient(t)
	return lockKind{
		name: "memcached",
		newMutex: func(key string, o mutexOpts) distMutex {
			return NewMemcachedMutex(c, key, MemcachedOptions(o))
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
	c := memcache.New(closedLoopbackAddr(t))
	key := uniqueKey(t)
	m := NewMemcachedMutex(c, key, MemcachedOptions{})
	ctx := context.Background()
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

func TestMemcachedMutexInvalidKey(t *testing.T) {
	c := memcache.New(closedLoopbackAddr(t)) // never contacted
	ctx := context.Background()
	for _, key := range []string{
		"has space",
		"new\nline",
		"tab\t",
		"del\x7f",
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
		{0, 6}, // default 5s
		{time.Millisecond, 2},
		{time.Second, 2},
		{1500 * time.Millisecond, 3},
		{6 * time.Second, 7},
		{30*24*time.Hour - time.Second, 30 * 24 * 3600},
	} {
		m := NewMemcachedMutex(memcache.New(), "k", MemcachedOptions{LockTimeout: tc.timeout})
		if got := m.expiration(); got != tc.want {
			t.Errorf("LockTimeout %v: expiration %d; want %d", tc.timeout, got, tc.want)
		}
	}
	// Beyond 30 days memcached wants an absolute Unix time.
	m := NewMemcachedMutex(memcache.New(), "k", MemcachedOptions{LockTimeout: 31 * 24 * time.Hour})
	want := time.Now().Add(31*24*time.Hour + time.Second).Unix()
	if got := int64(m.expiration()); got < want-5 || got > want+5 {
		t.Errorf("31 days: expiration %d; want about %d", got, want)
	}
}
