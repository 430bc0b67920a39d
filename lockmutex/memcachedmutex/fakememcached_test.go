package memcachedmutex

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/internal/testservers"
)

// fakeMemcached is a memcached-protocol server on loopback whose clock the
// test drives. It implements what the memcached lock uses (set, add, get,
// gets, cas, delete, touch) with memcached 1.6's expiration semantics: the
// server keeps time as current_time, in whole seconds; an exptime up to 30
// days is relative to current_time, a larger one an absolute Unix time, a
// negative one "expired now", zero "never"; an item is gone once
// current_time reaches its expiry. memcached's timer advances current_time
// about once a second, by 1, or by 2 when its lateness crosses a second;
// the test plays that timer with Tick.
type fakeMemcached struct {
	t    *testing.T
	ln   net.Listener
	mu   sync.Mutex
	now  int64 // current_time
	cas  uint64
	data map[string]*fakeItem
	wg   sync.WaitGroup
}

type fakeItem struct {
	flags uint32
	exp   int64 // current_time at which it is gone; 0: never
	cas   uint64
	value []byte
}

// fakeEpoch is the Unix time at which current_time was 0.
const fakeEpoch = 1_700_000_000

func startFakeMemcached(t *testing.T) *fakeMemcached {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeMemcached{t: t, ln: ln, now: 1000, data: map[string]*fakeItem{}}
	f.wg.Go(f.serve)
	t.Cleanup(func() { _ = ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeMemcached) addr() string { return f.ln.Addr().String() }

// Tick advances current_time by n seconds, as one event of memcached's
// clock timer.
func (f *fakeMemcached) Tick(n int64) {
	f.mu.Lock()
	f.now += n
	f.mu.Unlock()
}

func (f *fakeMemcached) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Go(func() {
			defer c.Close()
			f.conn(c)
		})
	}
}

// expiry converts an exptime field into the current_time the item is gone
// at (0: never), as memcached's realtime() does.
func (f *fakeMemcached) expiry(exptime int64) int64 {
	switch {
	case exptime == 0:
		return 0
	case exptime < 0:
		return f.now // gone at once
	case exptime > 30*24*3600:
		return exptime - fakeEpoch
	}
	return f.now + exptime
}

// live returns key's item unless it has expired (then it is dropped).
func (f *fakeMemcached) live(key string) *fakeItem {
	it := f.data[key]
	if it != nil && it.exp != 0 && it.exp <= f.now {
		delete(f.data, key)
		return nil
	}
	return it
}

func (f *fakeMemcached) conn(c net.Conn) {
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		reply := f.command(fields, r)
		if reply == "" {
			return
		}
		if _, err := w.WriteString(reply); err != nil || w.Flush() != nil {
			return
		}
	}
}

// command runs one command and returns the reply ("" closes the
// connection on a protocol error).
func (f *fakeMemcached) command(fields []string, r *bufio.Reader) string {
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	switch cmd := fields[0]; cmd {
	case "set", "add", "cas":
		if len(fields) < 5 || (cmd == "cas" && len(fields) < 6) {
			return "ERROR\r\n"
		}
		n := num(fields[4])
		data := make([]byte, n+2)
		if _, err := io.ReadFull(r, data); err != nil {
			return ""
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		key, old := fields[1], f.live(fields[1])
		switch {
		case cmd == "add" && old != nil:
			return "NOT_STORED\r\n"
		case cmd == "cas" && old == nil:
			return "NOT_FOUND\r\n"
		case cmd == "cas" && old.cas != uint64(num(fields[5])):
			return "EXISTS\r\n"
		}
		f.cas++
		f.data[key] = &fakeItem{flags: uint32(num(fields[2])), exp: f.expiry(num(fields[3])), cas: f.cas, value: data[:n]}
		f.live(key) // a negative exptime removes it at once
		return "STORED\r\n"
	case "get", "gets":
		f.mu.Lock()
		defer f.mu.Unlock()
		var b strings.Builder
		for _, k := range fields[1:] {
			if it := f.live(k); it != nil {
				fmt.Fprintf(&b, "VALUE %s %d %d", k, it.flags, len(it.value))
				if cmd == "gets" {
					fmt.Fprintf(&b, " %d", it.cas)
				}
				fmt.Fprintf(&b, "\r\n%s\r\n", it.value)
			}
		}
		return b.String() + "END\r\n"
	case "delete":
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.live(fields[1]) == nil {
			return "NOT_FOUND\r\n"
		}
		delete(f.data, fields[1])
		return "DELETED\r\n"
	case "touch":
		f.mu.Lock()
		defer f.mu.Unlock()
		it := f.live(fields[1])
		if it == nil {
			return "NOT_FOUND\r\n"
		}
		it.exp = f.expiry(num(fields[2]))
		f.live(fields[1])
		return "TOUCHED\r\n"
	}
	return "ERROR\r\n"
}

// TestMemcachedLockSurvivesClockStep: memcached's clock can advance 2 s in
// one step. A lock taken just before such a step must still be held, and
// extendable, until LockTimeout has passed: it is gone only after
// ceil(LockTimeout) more one-second ticks.
func TestMemcachedLockSurvivesClockStep(t *testing.T) {
	f := startFakeMemcached(t)
	c := memcache.New(f.addr())
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
