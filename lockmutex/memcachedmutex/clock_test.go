package memcachedmutex

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/internal/fakememcached"
	"github.com/dogpile-go/dogpile/internal/testservers"
)

// TestMemcachedLockSurvivesClockStep: memcached's clock can advance 2 s in
// one step. A lock taken just before such a step must still be held, and
// extendable, until LockTimeout has passed: it is gone only after
// ceil(LockTimeout) more one-second ticks.
func TestMemcachedLockSurvivesClockStep(t *testing.T) {
	f := fakememcached.Start(t)
	c := memcache.New(f.Addr())
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	for _, timeout := range []time.Duration{time.Second, 1500 * time.Millisecond, 3 * time.Second} {
		t.Run(timeout.String(), func(t *testing.T) {
			secs := int64((timeout + time.Second - 1) / time.Second)
			for _, extend := range []bool{false, true} {
				m := New(c, testservers.UniqueKey(t, "k"), Options{LockTimeout: timeout})
				if ok, err := m.Acquire(ctx, false); err != nil || !ok {
					t.Fatalf("Acquire = %v, %v", ok, err)
				}
				if extend {
					f.Tick(1)
					if err := m.Extend(ctx); err != nil {
						t.Fatalf("Extend: %v", err)
					}
				}
				// The clock catches up 2 s right after the lock was
				// written: no real time has passed for its holder.
				f.Tick(2)
				// Then it keeps time: ceil(timeout)-1 ticks are less than
				// the timeout of real time (the first tick may come at once).
				for i := int64(0); i < secs; i++ {
					if locked, err := m.Locked(ctx); err != nil || !locked {
						t.Fatalf("extend=%v: the lock vanished %d tick(s) after a 2 s clock step; LockTimeout %v had not passed (Locked = %v, %v)", extend, i, timeout, locked, err)
					}
					if i == secs-1 {
						break
					}
					f.Tick(1)
				}
				if err := m.Extend(ctx); err != nil {
					t.Fatalf("extend=%v: Extend before LockTimeout passed: %v", extend, err)
				}
				if err := m.Release(ctx); err != nil {
					t.Fatalf("Release: %v", err)
				}
			}
		})
	}

	// The item's lifetime is bounded too: it is gone ceil(timeout)+2 ticks
	// after it was written (a holder that died blocks others no longer).
	m := New(c, "bounded", Options{LockTimeout: time.Second})
	if ok, err := m.Acquire(ctx, false); err != nil || !ok {
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	f.Tick(2)
	if locked, _ := m.Locked(ctx); !locked {
		t.Fatal("gone after 2 ticks")
	}
	f.Tick(1)
	if locked, _ := m.Locked(ctx); locked {
		t.Fatal("still there 3 ticks after it was written with LockTimeout 1s")
	}
}

// TestMemcachedLockLifetimeOnRealServer: on a real memcached the lock item
// is stored for ceil(LockTimeout)+2 seconds and holds at least LockTimeout.
func TestMemcachedLockLifetimeOnRealServer(t *testing.T) {
	addr := testservers.Memcached(t)[0]
	c := memcache.New(addr)
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	m := New(c, testservers.UniqueKey(t, "k"), Options{LockTimeout: time.Second})
	start := time.Now()
	if ok, err := m.Acquire(ctx, false); err != nil || !ok {
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	if ttl := metaTTL(t, addr, m.LockKey()); ttl < 2 || ttl > 3 {
		t.Fatalf("lock item TTL %d s, want 3 (LockTimeout 1s + 2)", ttl)
	}
	time.Sleep(time.Second - time.Since(start) - 50*time.Millisecond)
	if locked, err := m.Locked(ctx); err != nil || !locked {
		t.Fatalf("the lock vanished before LockTimeout: %v, %v", locked, err)
	}
	if err := m.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// metaTTL asks memcached for key's remaining lifetime (mg <key> t).
func metaTTL(t *testing.T, addr, key string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(conn, "mg %s t\r\n", key)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(line)[1:] {
		if v, ok := strings.CutPrefix(f, "t"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatalf("mg reply %q has no TTL", line)
	return 0
}
