//go:build unix

package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// TestServerOutage stops one of three servers (a private memcached
// process, so the shared ones are not disturbed) in the middle of a run:
// calls for its keys fail within socket_timeout, the other servers keep
// serving meanwhile, and once it is back it is used again. The calls run
// side by side, each timed on its own; the limits leave a loaded machine a
// second or more of room.
func TestServerOutage(t *testing.T) {
	shared := testservers.MemcachedN(t, 3)[:2]
	privAddr, priv := testservers.StartMemcached(t)
	const socketTimeout = 2 * time.Second
	addrs := append(append([]string(nil), shared...), privAddr)
	var (
		reportedMu sync.Mutex
		reported   []error
	)
	// dead_retry 0: every call tries the server (TestDeadRetry covers
	// skipping it).
	r := newRegion(t, "memcached", region.Arguments{"url": addrs, "socket_timeout": socketTimeout, "dead_retry": 0},
		region.WithErrorHandler(func(_ context.Context, _ string, err error) {
			reportedMu.Lock()
			reported = append(reported, err)
			reportedMu.Unlock()
		}))
	b := r.ActualBackend().(*region.SerializedBackend).Bytes().(*memcache.Backend)
	ctx := ctxT(t)
	p := testservers.UniqueKey(t, "")

	// Keys whose value lives on the private server, and keys elsewhere;
	// for the GetOrCreate check also a key whose lock item lives elsewhere.
	var onPriv, offPriv []string
	for i := 0; len(onPriv) < 4 || len(offPriv) < 4; i++ {
		k := fmt.Sprintf("%skey-%d", p, i)
		addr, err := b.ServerFor(region.SHA1MangleKey(k))
		if err != nil {
			t.Fatal(err)
		}
		if addr == privAddr {
			onPriv = append(onPriv, k)
		} else {
			offPriv = append(offPriv, k)
		}
	}
	for _, k := range append(append([]string(nil), onPriv...), offPriv...) {
		if err := r.Set(ctx, k, "v:"+k); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}

	// within runs f and fails the test when it takes longer than limit.
	within := func(what string, limit time.Duration, f func() error) error {
		t.Helper()
		start := time.Now()
		err := f()
		if d := time.Since(start); d > limit {
			t.Errorf("%s took %v, want at most %v", what, d, limit)
		}
		return err
	}
	// checkDown runs the calls touching the stopped server side by side,
	// and the live servers' calls meanwhile: a live call that waited for
	// the stopped server would take a socket_timeout.
	checkDown := func(phase string, limit time.Duration) {
		t.Helper()
		var wg sync.WaitGroup
		for _, k := range onPriv[:2] {
			wg.Go(func() {
				err := within(phase+": get of a key on the stopped server", limit, func() error {
					_, _, err := r.Get(ctx, k)
					return err
				})
				var se *memcache.ServerError
				if !errors.As(err, &se) || se.Addr != privAddr {
					t.Errorf("%s: get %s: %v, want a ServerError naming %s", phase, k, err, privAddr)
				}
			})
		}
		wg.Go(func() {
			err := within(phase+": set of a key on the stopped server", limit, func() error {
				return r.Set(ctx, onPriv[2], "new")
			})
			if err == nil {
				t.Errorf("%s: set on the stopped server succeeded", phase)
			}
		})
		wg.Go(func() {
			err := within(phase+": get_multi touching the stopped server", limit, func() error {
				_, err := r.GetMulti(ctx, append([]string{onPriv[0]}, offPriv...))
				return err
			})
			if err == nil || !strings.Contains(err.Error(), privAddr) {
				t.Errorf("%s: get_multi touching the stopped server: %v, want an error naming it", phase, err)
			}
		})
		for _, k := range offPriv {
			err := within(phase+": get of a key on a live server", socketTimeout, func() error {
				v, ok, err := region.GetAs[string](ctx, r, k)
				if err == nil && (!ok || v != "v:"+k) {
					err = fmt.Errorf("got %q, %v", v, ok)
				}
				return err
			})
			if err != nil {
				t.Errorf("%s: live server for %s: %v", phase, k, err)
			}
		}
		wg.Wait()
	}

	// A hung server: connections are accepted but never answered.
	priv.Pause()
	checkDown("frozen", 2*socketTimeout)
	t.Run("GetOrCreateReturnsCreatorValue", func(t *testing.T) {
		start := time.Now()
		v, err := r.GetOrCreate(ctx, onPriv[3], func(context.Context) (any, error) { return "created", nil })
		d := time.Since(start)
		t.Logf("GetOrCreate with the key's server frozen took %v", d)
		if err != nil {
			t.Fatalf("GetOrCreate with the key's server down returned %v; want the creator's value (the region fails open)", err)
		}
		// The region fails open: after the failed read it skips the lock
		// and the write, so only the read (and at most one more call)
		// waits for the frozen server.
		if limit := 2*socketTimeout + socketTimeout/2; d > limit {
			t.Fatalf("GetOrCreate with the key's server frozen took %v; want at most %v", d, limit)
		}
		if v != "created" {
			t.Fatalf("GetOrCreate = %v, want the creator's value", v)
		}
		// The outage is not hidden: the backend error reached the
		// region's error handler, naming the server.
		reportedMu.Lock()
		defer reportedMu.Unlock()
		for _, err := range reported {
			if strings.Contains(err.Error(), privAddr) {
				return
			}
		}
		t.Fatalf("no reported error names the stopped server %s: %v", privAddr, reported)
	})
	priv.Resume()

	// A dead server: connections are refused.
	priv.Stop()
	checkDown("killed", 2*socketTimeout)

	// Restarted: used again (empty, as memcached keeps nothing on disk).
	priv.Start()
	for _, k := range onPriv {
		if _, ok, err := r.Get(ctx, k); err != nil || ok {
			t.Fatalf("restarted: get %s: ok=%v err=%v, want a miss", k, ok, err)
		}
		if err := r.Set(ctx, k, "again"); err != nil {
			t.Fatalf("restarted: set %s: %v", k, err)
		}
		if v, ok, err := region.GetAs[string](ctx, r, k); err != nil || !ok || v != "again" {
			t.Fatalf("restarted: get %s: %q %v %v", k, v, ok, err)
		}
	}
	if addr, _ := b.ServerFor(region.SHA1MangleKey(onPriv[0])); addr != privAddr {
		t.Fatalf("key moved to %s", addr)
	}
	v, err := r.GetOrCreate(ctx, p+"after", func(context.Context) (any, error) { return "ok", nil })
	if err != nil || v != "ok" {
		t.Fatalf("GetOrCreate after restart: %v %v", v, err)
	}
}

// TestRestartedServerStaleConnections restarts a server between two calls:
// the idle connections kept for it are dead, and calls must not fail
// because of them (the backend retries on a new connection).
func TestRestartedServerStaleConnections(t *testing.T) {
	privAddr, priv := testservers.StartMemcached(t)
	ctx := ctxT(t)
	p := testservers.UniqueKey(t, "")
	b := newBackend(t, memcache.Options{Servers: []string{privAddr}, MaxIdleConns: 8, SocketTimeout: time.Second})
	// Fill the idle pool with several connections.
	m := map[string][]byte{}
	for i := range 32 {
		m[fmt.Sprintf("%s%d", p, i)] = []byte("v")
	}
	if err := b.SetSerializedMulti(ctx, m); err != nil {
		t.Fatal(err)
	}
	priv.Restart()
	for i := range 3 {
		if _, ok, err := b.GetSerialized(ctx, p+"0"); err != nil || ok {
			t.Fatalf("get %d after restart: ok=%v err=%v", i, ok, err)
		}
	}
	priv.Restart()
	if err := b.SetSerializedMulti(ctx, m); err != nil {
		t.Fatalf("set_multi after restart: %v", err)
	}
	priv.Restart()
	if got, err := b.GetSerializedMulti(ctx, []string{p + "0", p + "1"}); err != nil || len(got) != 0 {
		t.Fatalf("get_multi after restart: %v %v", got, err)
	}
	priv.Restart()
	if err := b.DeleteMulti(ctx, []string{p + "0", p + "1"}); err != nil {
		t.Fatalf("delete_multi after restart: %v", err)
	}
}
