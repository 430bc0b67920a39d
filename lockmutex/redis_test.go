package lockmutex

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/testservers"
)

func redisKind(t *testing.T) lockKind {
	t.Helper()
	c := testservers.RedisClient(t)
	return lockKind{
		name: "redis",
		newMutex: func(key string, o mutexOpts) distMutex {
			return NewRedisMutex(c, key, RedisOptions(o))
		},
		rawGet: func(t *testing.T, lockKey string) (string, bool) {
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

func TestRedisMutex(t *testing.T) {
	runSuite(t, redisKind(t))
}

// The lock key gets the lock timeout as its TTL, and Extend restores it.
func TestRedisMutexTTL(t *testing.T) {
	c := testservers.RedisClient(t)
	ctx := testContext(t, 30*time.Second)
	m := NewRedisMutex(c, testservers.UniqueKey(t, ""), RedisOptions{LockTimeout: 1500 * time.Millisecond})
	ttl := func() time.Duration {
		t.Helper()
		d, err := c.PTTL(ctx, m.LockKey()).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	mustAcquire(t, m, false)
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
	mustRelease(t, m)
}

func TestRedisMutexServerDown(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: testservers.ClosedAddr(t), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	key := testservers.UniqueKey(t, "")
	m := NewRedisMutex(c, key, RedisOptions{})
	ctx := testContext(t, 30*time.Second)
	checkServerDown(t, ctx, m, key)
}

func TestRedisMutexNilClient(t *testing.T) {
	m := NewRedisMutex(nil, "k", RedisOptions{})
	ctx := context.Background()
	if _, err := m.Acquire(ctx, false); !errors.Is(err, ErrNilClient) {
		t.Errorf("Acquire = %v; want ErrNilClient", err)
	}
	if _, err := m.Locked(ctx); !errors.Is(err, ErrNilClient) {
		t.Errorf("Locked = %v; want ErrNilClient", err)
	}
	if err := m.Release(ctx); !errors.Is(err, ErrNilClient) {
		t.Errorf("Release = %v; want ErrNilClient", err)
	}
}
