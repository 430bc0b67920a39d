package redismutex

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/lockmutex/internal/mutextest"
)

func redisKind(t *testing.T) mutextest.Kind {
	t.Helper()
	c := testservers.RedisClient(t)
	return mutextest.Kind{
		NewMutex: func(key string, o mutextest.Opts) mutextest.Mutex {
			return New(c, key, Options(o))
		},
		RawGet: func(t *testing.T, lockKey string) (string, bool) {
			t.Helper()
			v, err := c.Get(context.Background(), lockKey).Result()
			if errors.Is(err, redis.Nil) {
				return "", false
			}
			if err != nil {
				t.Fatalf("redis GET %q: %v", lockKey, err)
			}
			return v, true
		},
	}
}

func TestMutex(t *testing.T) {
	mutextest.Run(t, redisKind(t))
}

// The lock key gets the lock timeout as its TTL, and Extend restores it.
func TestMutexTTL(t *testing.T) {
	c := testservers.RedisClient(t)
	ctx := mutextest.Context(t, 30*time.Second)
	m := New(c, testservers.UniqueKey(t, ""), Options{LockTimeout: 1500 * time.Millisecond})
	ttl := func() time.Duration {
		t.Helper()
		d, err := c.PTTL(ctx, m.LockKey()).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	mutextest.MustAcquire(t, m, false)
	if d := ttl(); d <= 0 || d > 1500*time.Millisecond {
		t.Fatalf("PTTL after Acquire = %v; want in (0, 1.5s]", d)
	}
	time.Sleep(300 * time.Millisecond)
	if err := m.Extend(ctx); err != nil {
		t.Fatal(err)
	}
	if d := ttl(); d <= 1200*time.Millisecond || d > 1500*time.Millisecond {
		t.Fatalf("PTTL after Extend = %v; want close to 1.5s", d)
	}
	mutextest.MustRelease(t, m)
}

func TestMutexServerDown(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: testservers.ClosedAddr(t), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	key := testservers.UniqueKey(t, "")
	m := New(c, key, Options{})
	ctx := mutextest.Context(t, 30*time.Second)
	mutextest.CheckServerDown(t, ctx, m, key)
}

func TestMutexNilClient(t *testing.T) {
	m := New(nil, "k", Options{})
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
}

// The region's lock leases (region.WithLockLeases) extend mutexes with
// exactly these methods; a change of signature would silently turn leases
// off.
var (
	_ interface {
		Extend(context.Context) error
		LockTimeout() time.Duration
	} = (*Mutex)(nil)
	_ interface {
		Extend(context.Context) error
		LockTimeout() time.Duration
	} = (*PyLock)(nil)
)
