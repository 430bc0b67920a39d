package bench

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/dogpile-go/dogpile/backends/gocache" // gocache.redis
	"github.com/dogpile-go/dogpile/internal/testservers"
)

// TestSharedStoreStrategies: on a shared backend the cache-aside and
// loadable strategies run on the same memcached servers, through the
// backend's client (memcached counts their gets), and the table says so.
func TestSharedStoreStrategies(t *testing.T) {
	servers := testservers.Memcached(t)
	w := testWorkload()
	w.Duration = time.Second
	w.Goroutines = 10
	for _, name := range []string{"memcached", "dogpile.cache.memcached"} {
		conf := map[string]any{"backend": name, "arguments.url": strings.Join(servers, ",")}
		if got := StoreOf(Backend{Conf: conf}); got != StoreMemcached {
			t.Fatalf("StoreOf(%s) = %v", name, got)
		}
		before := memcachedGets(t, servers)
		rep, err := Run(t.Context(), Options{Workload: w, Strategies: []Strategy{CacheAside, Loadable}, Backend: Backend{Conf: conf}})
		if err != nil {
			t.Fatal(err)
		}
		gets := memcachedGets(t, servers) - before
		for _, r := range rep.Results {
			if r.Store != StoreMemcached || r.Errors != 0 || r.Requests == 0 || r.CreatorCalls == 0 {
				t.Errorf("%s %s: store %v, %d requests, %d creator calls, %d errors (%s)", name, r.Strategy, r.Store, r.Requests, r.CreatorCalls, r.Errors, r.FirstError)
			}
		}
		if l := rep.Results[0].Label(); l != "cache-aside (gomemcache)" {
			t.Errorf("label %q", l)
		}
		if l := rep.Results[1].Label(); l != "gocache loadable (memcache)" {
			t.Errorf("label %q", l)
		}
		// cache-aside reads memcached once per request.
		if gets < rep.Results[0].Requests {
			t.Errorf("%s: memcached served %d gets for %d cache-aside requests", name, gets, rep.Results[0].Requests)
		}
	}
	if StoreOf(Backend{}) != StoreInProcess || StoreOf(Backend{Conf: map[string]any{"backend": "memory"}}) != StoreInProcess {
		t.Error("in-process backends must keep cache-aside on go-cache")
	}
}

// memcachedGets sums the servers' cmd_get counters.
func memcachedGets(t *testing.T, servers []string) uint64 {
	t.Helper()
	var total uint64
	for _, s := range servers {
		conn, err := net.DialTimeout("tcp", s, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(conn, "stats\r\n")
		sc := bufio.NewScanner(conn)
		for sc.Scan() && sc.Text() != "END" {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[1] == "cmd_get" {
				n, _ := strconv.ParseUint(f[2], 10, 64)
				total += n
			}
		}
		_ = conn.Close()
	}
	return total
}

// TestSharedStoreStrategiesRedis: the same on Redis, through go-redis.
func TestSharedStoreStrategiesRedis(t *testing.T) {
	addr := testservers.Redis(t)
	w := testWorkload()
	w.Duration = time.Second
	w.Goroutines = 10
	conf := map[string]any{"backend": "gocache.redis", "arguments.addr": addr}
	rep, err := Run(t.Context(), Options{Workload: w, Strategies: []Strategy{CacheAside, Loadable}, Backend: Backend{Conf: conf}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Store != StoreRedis || r.Errors != 0 || r.Requests == 0 || r.CreatorCalls == 0 {
			t.Errorf("%s: store %v, %d requests, %d creator calls, %d errors (%s)", r.Strategy, r.Store, r.Requests, r.CreatorCalls, r.Errors, r.FirstError)
		}
	}
	if l := rep.Results[0].Label(); l != "cache-aside (go-redis)" {
		t.Errorf("label %q", l)
	}
}
