package memcache_test

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// fakeServers returns n server addresses (never contacted: selectors only
// resolve IP literals).
func fakeServers(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("10.0.%d.%d:11211", i/250, i%250+1)
	}
	return s
}

// testKeys returns n keys as a region stores them (SHA-1 mangled).
func testKeys(n int) []string {
	k := make([]string, n)
	for i := range k {
		k[i] = region.SHA1MangleKey("user:" + strconv.Itoa(i))
	}
	return k
}

func assign(t testing.TB, sel gomemcache.ServerSelector, keys []string) []string {
	t.Helper()
	out := make([]string, len(keys))
	for i, k := range keys {
		a, err := sel.PickServer(k)
		if err != nil {
			t.Fatalf("PickServer(%q): %v", k, err)
		}
		out[i] = a.String()
	}
	return out
}

func ketama(t testing.TB, servers ...string) *memcache.KetamaSelector {
	t.Helper()
	s, err := memcache.NewKetamaSelector(servers...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func modulo(t testing.TB, servers ...string) *gomemcache.ServerList {
	t.Helper()
	s := new(gomemcache.ServerList)
	if err := s.SetServers(servers...); err != nil {
		t.Fatal(err)
	}
	return s
}

func moved(a, b []string) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

const movementKeys = 100_000

// TestKetamaAddServerMovesFewKeys: going from 10 servers to 11 moves at
// most 15% of 100,000 keys with ketama (ideally 1/11, 9.1%), all of them
// to the new server. gomemcache's modulo selector moves most keys.
func TestKetamaAddServerMovesFewKeys(t *testing.T) {
	keys := testKeys(movementKeys)
	ten, eleven := fakeServers(10), fakeServers(11)
	newServer := eleven[10]

	before := assign(t, ketama(t, ten...), keys)
	after := assign(t, ketama(t, eleven...), keys)
	n := moved(before, after)
	for i := range keys {
		if before[i] != after[i] && after[i] != newServer {
			t.Fatalf("key %q moved from %s to %s, not to the new server %s", keys[i], before[i], after[i], newServer)
		}
	}
	pct := 100 * float64(n) / movementKeys
	mb, ma := assign(t, modulo(t, ten...), keys), assign(t, modulo(t, eleven...), keys)
	mpct := 100 * float64(moved(mb, ma)) / movementKeys
	t.Logf("10 -> 11 servers, %d keys: ketama moved %d (%.2f%%; ideal 1/11 = %.2f%%), modulo moved %d (%.2f%%)",
		movementKeys, n, pct, 100.0/11, moved(mb, ma), mpct)
	if pct > 15 {
		t.Errorf("ketama moved %.2f%% of the keys; want at most 15%%", pct)
	}
	if pct < 5 {
		t.Errorf("ketama moved only %.2f%% of the keys: the new server gets too small a share", pct)
	}
	// The contrast: without consistent hashing most keys move, so this
	// test fails with the default selector.
	if mpct < 50 {
		t.Errorf("modulo moved only %.2f%%; expected most keys", mpct)
	}
}

// TestKetamaRemoveServerMovesItsKeys: removing one of 10 servers moves
// only that server's keys, about 1/10.
func TestKetamaRemoveServerMovesItsKeys(t *testing.T) {
	keys := testKeys(movementKeys)
	ten := fakeServers(10)
	removed := ten[3]
	nine := slices.Delete(slices.Clone(ten), 3, 4)

	before := assign(t, ketama(t, ten...), keys)
	after := assign(t, ketama(t, nine...), keys)
	n := moved(before, after)
	for i := range keys {
		if before[i] != after[i] && before[i] != removed {
			t.Fatalf("key %q moved from %s to %s, but only %s was removed", keys[i], before[i], after[i], removed)
		}
		if after[i] == removed {
			t.Fatalf("key %q still on the removed server", keys[i])
		}
	}
	pct := 100 * float64(n) / movementKeys
	mb, ma := assign(t, modulo(t, ten...), keys), assign(t, modulo(t, nine...), keys)
	mpct := 100 * float64(moved(mb, ma)) / movementKeys
	t.Logf("10 -> 9 servers, %d keys: ketama moved %d (%.2f%%; ideal 1/10 = 10%%), modulo moved %d (%.2f%%)",
		movementKeys, n, pct, moved(mb, ma), mpct)
	if pct < 5 || pct > 15 {
		t.Errorf("ketama moved %.2f%% of the keys; want about 10%%", pct)
	}
	if mpct < 50 {
		t.Errorf("modulo moved only %.2f%%; expected most keys", mpct)
	}
}

// TestKetamaBalance: with 160 points per server the shares stay near 1/N.
func TestKetamaBalance(t *testing.T) {
	keys := testKeys(movementKeys)
	for _, n := range []int{3, 10, 11} {
		servers := fakeServers(n)
		counts := map[string]int{}
		for _, a := range assign(t, ketama(t, servers...), keys) {
			counts[a]++
		}
		mean := float64(movementKeys) / float64(n)
		lo, hi := movementKeys, 0
		for _, s := range servers {
			lo, hi = min(lo, counts[s]), max(hi, counts[s])
		}
		t.Logf("%d servers: shares from %.1f%% to %.1f%% of the mean", n, 100*float64(lo)/mean, 100*float64(hi)/mean)
		if float64(lo) < 0.7*mean || float64(hi) > 1.3*mean { // 160 points per server: a spread of about ±20% is usual
			t.Errorf("%d servers: a server holds %d..%d keys; mean %.0f", n, lo, hi, mean)
		}
	}
}

// naiveKetama is an independent, slow rendering of the ketama rule: the
// key belongs to the server owning the smallest point at or after the
// key's hash, or the smallest point overall.
func naiveKetama(servers []string, key string) string {
	word := func(d [16]byte, i int) uint32 { return binary.LittleEndian.Uint32(d[4*i:]) }
	h := word(md5.Sum([]byte(key)), 0)
	type pt struct {
		v    uint32
		name string
	}
	var best, first *pt
	less := func(a, b pt) bool { return a.v < b.v || (a.v == b.v && a.name < b.name) }
	weight := map[string]int{}
	for _, s := range servers {
		weight[s]++
	}
	for s, w := range weight {
		for i := 0; i < 40*w; i++ {
			d := md5.Sum([]byte(s + "-" + strconv.Itoa(i)))
			for j := range 4 {
				p := pt{word(d, j), s}
				if first == nil || less(p, *first) {
					first = &p
				}
				if p.v >= h && (best == nil || less(p, *best)) {
					best = &p
				}
			}
		}
	}
	if best == nil {
		best = first
	}
	return best.name
}

func TestKetamaMatchesDefinition(t *testing.T) {
	servers := []string{"127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.1:11213", "127.0.0.1:11212"} // 11212 has weight 2
	sel := ketama(t, servers...)
	if got, want := sel.Points(), 4*memcache.KetamaPointsPerServer; got != want {
		t.Errorf("Points() = %d; want %d", got, want)
	}
	if got := sel.Servers(); !slices.Equal(got, servers[:3]) {
		t.Errorf("Servers() = %v", got)
	}
	keys := testKeys(300)
	keys = append(keys, "", "a", strings.Repeat("x", 250), strings.Repeat("y", 300))
	for _, k := range keys {
		a, err := sel.PickServer(k)
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveKetama(servers, k); a.String() != want {
			t.Fatalf("PickServer(%q) = %s; the ketama rule gives %s", k, a, want)
		}
	}
}

func TestKetamaOrderAndWeight(t *testing.T) {
	keys := testKeys(20_000)
	servers := fakeServers(5)
	base := assign(t, ketama(t, servers...), keys)
	shuffled := slices.Clone(servers)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if got := assign(t, ketama(t, shuffled...), keys); moved(base, got) != 0 {
		t.Errorf("the order of the server list changed %d placements", moved(base, got))
	}
	// Listing a server twice doubles its share.
	weighted := append(slices.Clone(servers), servers[0])
	counts := map[string]int{}
	for _, a := range assign(t, ketama(t, weighted...), keys) {
		counts[a]++
	}
	share := float64(counts[servers[0]]) / float64(len(keys))
	if share < 0.25 || share > 0.42 { // ideal 2/6
		t.Errorf("a server listed twice holds %.1f%% of the keys; want about 33%%", 100*share)
	}
}

func TestKetamaSelectorErrors(t *testing.T) {
	if _, err := memcache.NewKetamaSelector(); !errors.Is(err, memcache.ErrNoServers) {
		t.Errorf("no servers: %v; want ErrNoServers", err)
	}
	if _, err := memcache.NewKetamaSelector("127.0.0.1:11211", "no-port"); err == nil || !strings.Contains(err.Error(), "no-port") {
		t.Errorf("bad address: %v; want an error naming it", err)
	}
	sel := ketama(t, "127.0.0.1:1", "127.0.0.1:2")
	if err := sel.SetServers("bad address"); err == nil {
		t.Fatal("SetServers with a bad address succeeded")
	}
	if got := sel.Servers(); len(got) != 2 {
		t.Errorf("a failed SetServers changed the servers: %v", got)
	}
	if err := sel.SetServers("127.0.0.1:3"); err != nil {
		t.Fatal(err)
	}
	a, err := sel.PickServer("k")
	if err != nil || a.String() != "127.0.0.1:3" {
		t.Errorf("after SetServers: %v, %v", a, err)
	}
	var zero memcache.KetamaSelector
	if _, err := zero.PickServer("k"); !errors.Is(err, gomemcache.ErrNoServers) {
		t.Errorf("zero selector: %v; want gomemcache.ErrNoServers", err)
	}
	var seen []string
	_ = ketama(t, "127.0.0.1:1", "/tmp/mc.sock", "127.0.0.1:1").Each(func(a net.Addr) error {
		seen = append(seen, a.Network()+" "+a.String())
		return nil
	})
	if !slices.Equal(seen, []string{"tcp 127.0.0.1:1", "unix /tmp/mc.sock"}) {
		t.Errorf("Each: %v", seen)
	}
}

func TestKetamaPickServerDoesNotAllocate(t *testing.T) {
	sel := ketama(t, fakeServers(10)...)
	key := "_lock" + region.SHA1MangleKey("k")
	if n := testing.AllocsPerRun(1000, func() { _, _ = sel.PickServer(key) }); n != 0 {
		t.Errorf("PickServer allocates %v times per call", n)
	}
}

func TestServerSelectorArgument(t *testing.T) {
	for _, v := range []any{nil, "modulo", "ketama"} {
		args := region.Arguments{"url": fakeServers(3)}
		if v != nil {
			args["server_selector"] = v
		}
		o, err := memcache.OptionsFromArguments(args)
		if err != nil {
			t.Fatalf("server_selector=%v: %v", v, err)
		}
		b := newBackend(t, o)
		keys := testKeys(1000)
		var want gomemcache.ServerSelector = modulo(t, fakeServers(3)...)
		if v == "ketama" {
			want = ketama(t, fakeServers(3)...)
		}
		wantAddrs := assign(t, want, keys)
		for i, k := range keys {
			if got, err := b.ServerFor(k); err != nil || got != wantAddrs[i] {
				t.Fatalf("server_selector=%v: ServerFor(%q) = %s, %v; want %s", v, k, got, err, wantAddrs[i])
			}
		}
	}
	for _, bad := range []any{"consistent", "Ketama", 7} {
		_, err := memcache.OptionsFromArguments(region.Arguments{"url": "127.0.0.1:1", "server_selector": bad})
		var ae *region.ArgumentError
		if !errors.As(err, &ae) || ae.Name != "server_selector" || !errors.Is(err, region.ErrBadArgument) ||
			!strings.Contains(err.Error(), `"modulo"`) || !strings.Contains(err.Error(), `"ketama"`) {
			t.Errorf("server_selector=%v: %v; want an ArgumentError naming it and listing modulo and ketama", bad, err)
		}
		r := region.New("badselector")
		if err := r.Configure("memcached", region.WithArguments(region.Arguments{"url": "127.0.0.1:1", "server_selector": bad})); !errors.Is(err, region.ErrBadArgument) {
			t.Errorf("Configure with server_selector=%v: %v; want ErrBadArgument", bad, err)
		}
		if r.IsConfigured() {
			t.Error("region configured despite a bad server_selector")
		}
		// openstack.kvs.Memcached hands the argument to its driver.
		if _, err := memcache.NewKVS(region.Arguments{"url": "127.0.0.1:1", "server_selector": bad}); !errors.Is(err, region.ErrBadArgument) {
			t.Errorf("openstack.kvs.Memcached with server_selector=%v: %v; want ErrBadArgument", bad, err)
		}
	}
	if _, err := memcache.NewKVS(region.Arguments{"url": "127.0.0.1:1", "server_selector": "ketama"}); err != nil {
		t.Errorf("openstack.kvs.Memcached with server_selector=ketama: %v", err)
	}
	if _, err := memcache.New(memcache.Options{Servers: []string{"127.0.0.1:1"}, ServerSelector: "crc"}); !errors.Is(err, region.ErrBadArgument) {
		t.Errorf("New with ServerSelector crc: %v; want ErrBadArgument", err)
	}
	// An explicit Selector wins over ServerSelector.
	sel := ketama(t, "127.0.0.1:9")
	b := newBackend(t, memcache.Options{Selector: sel, ServerSelector: "modulo"})
	if got := b.Servers(); !slices.Equal(got, []string{"127.0.0.1:9"}) {
		t.Errorf("Servers() with a Selector = %v", got)
	}
}

// TestKetamaOnServers runs on three real servers: each value lands on the
// server the selector names, and reads find it there.
func TestKetamaOnServers(t *testing.T) {
	s := testservers.MemcachedN(t, 3)
	ctx := ctxT(t)
	p := testservers.UniqueKey(t, "")
	ident := region.WithKeyMangler(func(k string) string { return k })
	r := newRegion(t, "memcached", region.Arguments{"url": s, "server_selector": "ketama"}, ident)
	sel := ketama(t, s...)
	perServer := map[string]*gomemcache.Client{}
	for _, a := range s {
		perServer[a] = rawClient(t, a)
	}
	used := map[string]int{}
	for i := range 60 {
		k := p + strconv.Itoa(i)
		if err := r.Set(ctx, k, i); err != nil {
			t.Fatal(err)
		}
		a, _ := sel.PickServer(k)
		used[a.String()]++
		if _, err := perServer[a.String()].Get(k); err != nil {
			t.Fatalf("key %q not on %s, the server ketama picks: %v", k, a, err)
		}
		if v, ok, err := region.GetAs[int](ctx, r, k); err != nil || !ok || v != i {
			t.Fatalf("Get(%q) = %v, %v, %v", k, v, ok, err)
		}
	}
	if len(used) != 3 {
		t.Errorf("60 keys used %d of 3 servers: %v", len(used), used)
	}
}

// BenchmarkPickServer compares the cost of choosing a server for a
// region key (SHA-1 mangled, 40 bytes) with gomemcache's modulo selector
// and the ketama selector.
func BenchmarkPickServer(b *testing.B) {
	keys := testKeys(1024)
	for _, n := range []int{3, 10, 100} {
		servers := fakeServers(n)
		for _, c := range []struct {
			name string
			sel  gomemcache.ServerSelector
		}{
			{"modulo", modulo(b, servers...)},
			{"ketama", ketama(b, servers...)},
		} {
			b.Run(fmt.Sprintf("%s/%d", c.name, n), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					_, _ = c.sel.PickServer(keys[i&1023])
					i++
				}
			})
		}
	}
}
