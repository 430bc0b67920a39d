//go:build unix

package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// TestDeadRetry hangs one of three private servers (SIGSTOP: the kernel
// still accepts connections, the server never answers) in the middle of
// a run. Calls for the other servers' keys are unaffected; calls for the
// hung server's keys pay one socket_timeout, then the server is skipped
// for dead_retry (its keys fail at once, or go where the Python client
// sends them), so each dead_retry window costs one socket_timeout, not one
// per call. Once the server answers again and the window ends, it is used
// again; oslo_cache.memcache_pool flushes it first (flush_on_reconnect).
//
// The hung server's keys are read in a goroutine of their own while the
// live servers' keys are written and read: a live call that waited for
// the hung server would take a socket_timeout. Calls that paid the
// socket_timeout are told by their error (a timeout), not by how long they
// took, so a loaded machine does not change the count.
func TestDeadRetry(t *testing.T) {
	const (
		socketTimeout = 5 * time.Second
		deadRetry     = 3 * time.Second
		run           = 12 * time.Second
	)
	cases := []struct {
		name  string
		args  region.Arguments
		slow  func(elapsed time.Duration) int // most calls that may pay the socket_timeout
		moves bool                            // the hung server's keys go elsewhere
	}{
		{"memcached", region.Arguments{"dead_retry": deadRetry}, windows(deadRetry, 1), false},
		{memcache.NameDogpileMemcached, region.Arguments{"dead_retry": deadRetry}, windows(deadRetry, 1), true},
		{memcache.NameOsloMemcachePool, region.Arguments{"dead_retry": deadRetry, "pool_flush_on_reconnect": true}, windows(deadRetry, 1), true},
		// pymemcache: a failure, then one retry per hashclient_retry_timeout
		// until hashclient_retry_attempts retries failed; then the node
		// leaves the hash for hashclient_dead_timeout.
		{memcache.NameDogpilePymemcache, region.Arguments{"hashclient_retry_attempts": 1, "hashclient_retry_timeout": 0.5,
			"hashclient_dead_timeout": deadRetry}, windows(deadRetry+socketTimeout, 2), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each case has servers of its own
			ctx := ctxT(t)
			var addrs []string
			var servers []*testservers.Server
			for range 3 {
				a, s := testservers.StartMemcached(t)
				addrs, servers = append(addrs, a), append(servers, s)
			}
			args := c.args.Clone()
			args["url"], args["socket_timeout"] = addrs, socketTimeout.Seconds()
			r := newRegion(t, c.name, args, region.WithErrorHandler(func(_ context.Context, _ string, _ error) {}))
			serverFor := backendServerFor(t, r)
			hung := addrs[2]
			p := testservers.UniqueKey(t, "")
			var onHung, onLive []string
			for i := 0; len(onHung) < 5 || len(onLive) < 5; i++ {
				k := fmt.Sprintf("%sk%d", p, i)
				if serverFor(k) == hung {
					onHung = append(onHung, k)
				} else {
					onLive = append(onLive, k)
				}
			}
			keep := onHung[0] // written before the outage
			if err := r.Set(ctx, keep, "before"); err != nil {
				t.Fatal(err)
			}
			servers[2].Pause()
			paused := true
			defer func() {
				if paused {
					servers[2].Resume()
				}
			}()

			// The hung server's keys, in a goroutine of their own.
			start := time.Now()
			stop := make(chan struct{})
			var calls, slow, moved int
			hungDone := make(chan struct{})
			go func() {
				defer close(hungDone)
				// call reports whether err says the call paid the
				// socket_timeout; any other error must be a fast failure.
				paid := func(what string, err error) bool {
					var ne net.Error
					switch {
					case errors.As(err, &ne) && ne.Timeout():
						slow++
						return true
					case err != nil && !errors.Is(err, memcache.ErrServerDown):
						t.Errorf("%s of a hung server's key: %v; want ErrServerDown or a timeout", what, err)
					case err == nil && !c.moves:
						t.Errorf("%s of a hung server's key succeeded", what)
					}
					return false
				}
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					k := onHung[1+i%(len(onHung)-1)]
					t0 := time.Now()
					_, _, err := r.Get(ctx, k)
					calls++
					if paid("get", err) {
						time.Sleep(20 * time.Millisecond)
						continue
					}
					if d := time.Since(t0); d >= socketTimeout {
						t.Errorf("a call for a hung server's key took %v, a socket_timeout, and did not time out (%v)", d, err)
					}
					if err != nil || !c.moves {
						time.Sleep(20 * time.Millisecond)
						continue
					}
					// Served by another server: a write lands there too,
					// unless the dead period ended meanwhile (the call then
					// went to the hung server and timed out).
					where := serverFor(k)
					if where == hung {
						continue
					}
					setErr := r.Set(ctx, k, "moved")
					v, ok, getErr := r.Get(ctx, k)
					calls += 2
					if paid("set", setErr) || paid("get", getErr) || setErr != nil || getErr != nil {
						continue
					}
					if !ok || v != "moved" {
						t.Errorf("a moved key (on %s) reads %v, %v after it was written", where, v, ok)
					}
					moved++
					time.Sleep(20 * time.Millisecond)
				}
			}()

			// The live servers' keys meanwhile.
			for i := 0; time.Since(start) < run; i++ {
				k := onLive[i%len(onLive)]
				t0 := time.Now()
				if err := r.Set(ctx, k, i); err != nil {
					t.Fatalf("set on a live server: %v", err)
				}
				if v, ok, err := r.Get(ctx, k); err != nil || !ok || fmt.Sprint(v) != fmt.Sprint(i) {
					t.Fatalf("get on a live server = %v, %v, %v", v, ok, err)
				}
				if d := time.Since(t0); d >= socketTimeout {
					t.Errorf("a live server's key took %v, a socket_timeout (the hung server must not slow it)", d)
				}
				time.Sleep(20 * time.Millisecond)
			}
			close(stop)
			<-hungDone
			elapsed := time.Since(start)
			t.Logf("%d calls for the hung server's keys in %v: %d paid the socket_timeout, %d moved keys written and read back",
				calls, elapsed.Round(time.Millisecond), slow, moved)
			if slow == 0 || slow > c.slow(elapsed) {
				t.Errorf("%d calls paid the socket_timeout in %v; want between 1 and %d", slow, elapsed, c.slow(elapsed))
			}
			if calls < 10*slow {
				t.Errorf("only %d calls for the hung server's keys, %d of them paid the socket_timeout; want the others to fail (or move) at once", calls, slow)
			}
			if c.moves && moved == 0 {
				t.Error("no key of the hung server moved to another server")
			}

			servers[2].Resume()
			paused = false
			time.Sleep(deadRetry + 200*time.Millisecond)
			// Back in use: its keys are on it again (after the next call
			// finds it alive).
			deadline := time.Now().Add(30 * time.Second)
			for serverFor(onHung[1]) != hung || r.Set(ctx, onHung[1], "back") != nil {
				if time.Now().After(deadline) {
					t.Fatalf("the server is not used again after it came back")
				}
				_, _, _ = r.Get(ctx, onHung[1])
				time.Sleep(100 * time.Millisecond)
			}
			v, ok, err := r.Get(ctx, keep)
			if err != nil {
				t.Fatal(err)
			}
			flushed := args["pool_flush_on_reconnect"] == true
			if flushed && ok {
				t.Errorf("flush_on_reconnect: the value written before the outage is still there (%v)", v)
			}
			if !flushed && (!ok || v != "before") {
				t.Errorf("the value written before the outage reads %v, %v; want it kept", v, ok)
			}
		})
	}
}

// windows allows per calls that pay the socket_timeout for each started
// window of the given length.
func windows(window time.Duration, per int) func(time.Duration) int {
	return func(elapsed time.Duration) int { return per * int(elapsed/window+1) }
}

// backendServerFor returns the region's backend's ServerFor.
func backendServerFor(t *testing.T, r *region.Region) func(string) string {
	t.Helper()
	type serverFor interface{ ServerFor(string) (string, error) }
	var sf serverFor
	switch b := r.ActualBackend().(type) {
	case *memcache.PythonBackend:
		sf = b
	case *region.SerializedBackend:
		sf = b.Bytes().(*memcache.Backend)
	default:
		t.Fatalf("backend %T", b)
	}
	return func(k string) string {
		if mk := r.KeyMangler(); mk != nil {
			k = mk(k)
		}
		a, _ := sf.ServerFor(k)
		return a
	}
}

// TestSharedInvalidationTimeoutOnHungServer: with the record's server hung,
// SharedInvalidationOptions.Timeout (300 ms) bounds each read and write of
// the record although socket_timeout is 30 s: Invalidate and
// InvalidateContext end with the Timeout's deadline (or a shorter ctx
// deadline), and a fresh region's first Get does not stall a
// socket_timeout. The durations are checked against the socket_timeout
// they must not wait for, with room for a loaded machine; the errors show
// which deadline ended each call.
func TestSharedInvalidationTimeoutOnHungServer(t *testing.T) {
	for _, name := range []string{"memcached", memcache.NameDogpileMemcached, memcache.NameDogpilePymemcache} {
		t.Run(name, func(t *testing.T) {
			a1, s1 := testservers.StartMemcached(t)
			a2, s2 := testservers.StartMemcached(t)
			const (
				timeout       = 300 * time.Millisecond
				socketTimeout = 30 * time.Second
				limit         = socketTimeout / 3 // about the Timeout, on a loaded machine
			)
			var mu sync.Mutex
			var reported []error
			newR := func() *region.Region {
				r := region.New("inv-"+name, region.WithErrorHandler(func(_ context.Context, _ string, err error) {
					mu.Lock()
					defer mu.Unlock()
					reported = append(reported, err)
				}))
				inv := region.NewSharedInvalidation(r, region.SharedInvalidationOptions{Timeout: timeout, CacheFor: time.Hour})
				if err := r.Configure(name, region.WithInvalidator(inv), region.WithArguments(region.Arguments{
					"url": []string{a1, a2}, "socket_timeout": socketTimeout.Seconds(), "dead_retry": 0})); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = r.Close() })
				return r
			}
			// takeReported returns the errors reported since the last call.
			takeReported := func() []error {
				mu.Lock()
				defer mu.Unlock()
				errs := reported
				reported = nil
				return errs
			}
			r := newR()
			serverFor := backendServerFor(t, r)
			recordAddr := serverFor("dogpile.invalidation:inv-" + name)
			srv := s1
			if recordAddr == a2 {
				srv = s2
			}
			// A key on the other server.
			key := ""
			for i := 0; key == ""; i++ {
				if k := fmt.Sprintf("k%d", i); serverFor(k) != recordAddr {
					key = k
				}
			}
			// A value there, so that a Get judges it against the record.
			if err := r.Set(context.Background(), key, "v"); err != nil {
				t.Fatal(err)
			}
			srv.Pause()
			paused := true
			defer func() {
				if paused {
					srv.Resume()
				}
			}()
			timed := func(what string, f func()) {
				t.Helper()
				start := time.Now()
				f()
				d := time.Since(start)
				t.Logf("%s with the record's server hung: %v", what, d.Round(time.Millisecond))
				if d > limit {
					t.Errorf("%s with the record's server hung took %v; want about the Timeout, %v (socket_timeout %v)", what, d, timeout, socketTimeout)
				}
			}
			// wantDeadline checks that err (or each reported error, at
			// least one) ended with a context deadline, not a socket
			// timeout.
			wantDeadline := func(what string, errs ...error) {
				t.Helper()
				if len(errs) == 0 {
					t.Errorf("%s: no error reported; want the record's call ended by the Timeout", what)
				}
				for _, err := range errs {
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("%s: %v; want an error wrapping context.DeadlineExceeded", what, err)
					}
				}
			}
			timed("Invalidate", func() { r.Invalidate(true) })
			wantDeadline("Invalidate", takeReported()...)
			timed("InvalidateContext", func() { wantDeadline("InvalidateContext", r.InvalidateContext(context.Background(), true)) })
			timed("InvalidateContext with a 300ms deadline", func() {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				wantDeadline("InvalidateContext with a deadline", r.InvalidateContext(ctx, false))
			})
			r2 := newR()
			timed("a fresh region's first Get", func() {
				if v, ok, err := r2.Get(context.Background(), key); err != nil || !ok || v != "v" {
					t.Errorf("Get of a key on the live server = %v, %v, %v; want the value (the record unread)", v, ok, err)
				}
			})
			wantDeadline("a fresh region's first Get", takeReported()...)
			srv.Resume()
			paused = false
			// The dropped calls finish once the server answers again.
			if _, _, err := r.Get(context.Background(), "dogpile.invalidation:inv-"+name); err != nil {
				t.Errorf("the record's server after it resumed: %v", err)
			}
		})
	}
}
