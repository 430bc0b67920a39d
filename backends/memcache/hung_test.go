//go:build unix

package memcache_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/testservers"
)

// TestBatchWritesOnHungServerAreBounded: SetMulti and DeleteMulti of many
// keys on a hung server (a private memcached, stopped with SIGSTOP, whose
// kernel still accepts connections) return after about one
// socket_timeout, not one per max_idle_conns keys: after the first
// timeout the server's remaining keys are failed with the same error
// without being sent (the commands sent to it are counted). The live
// server's keys are still written.
func TestBatchWritesOnHungServerAreBounded(t *testing.T) {
	live := testservers.Memcached(t)[0]
	privAddr, priv := testservers.StartMemcached(t)
	const socketTimeout = time.Second
	d := newCountingDialer()
	// DeadRetry -1: the server is never skipped, so only the batch's own
	// cut-off keeps its keys from being sent.
	// MaxIdleConns 16: a batch has at most 16 calls in flight per server.
	const inFlight = 16
	b := newBackend(t, memcache.Options{Servers: []string{live, privAddr}, SocketTimeout: socketTimeout, DialContext: d.DialContext,
		DeadRetry: -1, MaxIdleConns: inFlight})
	ctx := ctxT(t)
	p := testservers.UniqueKey(t, "")
	var onPriv, onLive []string
	m := map[string][]byte{}
	for i := 0; len(onPriv) < 64 || len(onLive) < 4; i++ {
		k := fmt.Sprintf("%s%d", p, i)
		addr, err := b.ServerFor(k)
		if err != nil {
			t.Fatal(err)
		}
		if addr == privAddr {
			if len(onPriv) < 64 {
				onPriv = append(onPriv, k)
				m[k] = []byte("v")
			}
		} else if len(onLive) < 4 {
			onLive = append(onLive, k)
			m[k] = []byte("v")
		}
	}
	priv.Pause()
	defer priv.Resume()
	check := func(op, verb string, err error, took time.Duration) {
		t.Helper()
		// Without the cut-off: every key is sent, in ceil(64/16) rounds
		// of a socket_timeout each.
		if sent := d.count(privAddr, verb); sent > inFlight {
			t.Errorf("%s of %d keys on a hung server sent %d %s commands to it; want at most %d (one round)", op, len(onPriv), sent, verb, inFlight)
		}
		if limit := 3 * socketTimeout; took > limit {
			t.Errorf("%s of %d keys on a hung server took %v; want at most %v", op, len(onPriv), took, limit)
		}
		var failed int
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			for _, e := range joined.Unwrap() {
				var se *memcache.ServerError
				if errors.As(e, &se) && se.Addr == privAddr {
					failed++
				}
			}
		}
		if failed != len(onPriv) {
			t.Errorf("%s: %d errors naming %s; want one per key on it (%d): %.300v", op, failed, privAddr, len(onPriv), err)
		}
	}
	start := time.Now()
	err := b.SetSerializedMulti(ctx, m)
	check("SetMulti", "set", err, time.Since(start))
	for _, k := range onLive {
		if _, ok, err := b.GetSerialized(ctx, k); !ok || err != nil {
			t.Errorf("key %q on the live server not written: %v %v", k, ok, err)
		}
	}
	keys := append(append([]string(nil), onPriv...), onLive...)
	start = time.Now()
	err = b.DeleteMulti(ctx, keys)
	check("DeleteMulti", "delete", err, time.Since(start))
	for _, k := range onLive {
		if _, ok, err := b.GetSerialized(ctx, k); ok || err != nil {
			t.Errorf("key %q on the live server not deleted: %v %v", k, ok, err)
		}
	}
}

// TestServersFollowSelector: Servers reflects a KetamaSelector's
// SetServers.
func TestServersFollowSelector(t *testing.T) {
	s := testservers.MemcachedN(t, 3)
	sel, err := memcache.NewKetamaSelector(s[:2]...)
	if err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, memcache.Options{Selector: sel})
	if got := b.Servers(); fmt.Sprint(got) != fmt.Sprint(s[:2]) {
		t.Fatalf("Servers() = %v; want %v", got, s[:2])
	}
	if err := sel.SetServers(s...); err != nil {
		t.Fatal(err)
	}
	if got := b.Servers(); fmt.Sprint(got) != fmt.Sprint(s) {
		t.Fatalf("after SetServers: Servers() = %v; want %v", got, s)
	}
}
