package memcache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/lockmutex/memcachedmutex"
	"github.com/dogpile-go/dogpile/region"
	"github.com/dogpile-go/dogpile/region/regiontest"
)

// newRegion configures a region on backend with args, closed at the end
// of the test.
func newRegion(t testing.TB, backend string, args region.Arguments, opts ...region.Option) *region.Region {
	t.Helper()
	r := region.New(t.Name(), opts...)
	if err := r.Configure(backend, region.WithArguments(args)); err != nil {
		t.Fatalf("configure %s: %v", backend, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// newBackend returns a memcached Backend, closed at the end of the test.
func newBackend(t testing.TB, opts memcache.Options) *memcache.Backend {
	t.Helper()
	b, err := memcache.New(opts)
	if err != nil {
		t.Fatalf("memcache.New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func rawClient(t testing.TB, addrs ...string) *gomemcache.Client {
	t.Helper()
	c := gomemcache.New(addrs...)
	c.Timeout = 2 * time.Second
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestGenericSuite(t *testing.T) {
	all := testservers.Memcached(t)
	t.Run("OneServer", func(t *testing.T) {
		regiontest.RunBackendTests(t, "memcached", region.Arguments{"url": all[0], "socket_timeout": "2s"})
	})
	t.Run("ThreeServers", func(t *testing.T) {
		s := testservers.MemcachedN(t, 3)
		regiontest.RunBackendTests(t, "memcached", region.Arguments{"url": strings.Join(s, ","), "socket_timeout": 2})
	})
	t.Run("ThreeServersKetama", func(t *testing.T) {
		s := testservers.MemcachedN(t, 3)
		regiontest.RunBackendTests(t, "memcached", region.Arguments{"url": s, "server_selector": "ketama", "socket_timeout": 2})
	})
	t.Run("ThreeServersInProcessLock", func(t *testing.T) {
		s := testservers.MemcachedN(t, 3)
		regiontest.RunBackendTests(t, "memcached", region.Arguments{"url": s, "distributed_lock": false})
	})
	t.Run("OneServerProductionFeatures", func(t *testing.T) {
		// Leases on the memcached lock, and the fail-safe around creation.
		// The lock timeout (3 s) leaves a loaded machine room: the suite's
		// mutex holds and creations must end before it whether or not a
		// lease extends it (TestLockLeases checks leases).
		(&regiontest.Suite{Backend: "memcached", Arguments: region.Arguments{"url": all[0], "socket_timeout": "2s", "lock_timeout": 3},
			RegionOptions: []region.Option{
				region.WithFailSafe(region.FailSafe{Grace: time.Hour, SoftTimeout: time.Minute, HardTimeout: time.Minute, CreatorTimeout: time.Minute}),
				region.WithEarlyRefresh(1),
				region.WithLockLeases(),
			}}).Run(t)
	})
	t.Run("KVSThreeServers", func(t *testing.T) {
		s := testservers.MemcachedN(t, 3)
		regiontest.RunBackendTests(t, "openstack.kvs.Memcached", region.Arguments{"url": s, "max_lock_attempts": 0})
	})
}

func TestOptionsFromArguments(t *testing.T) {
	o, err := memcache.OptionsFromArguments(region.Arguments{"url": "127.0.0.1:1, 127.0.0.1:2"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Servers, []string{"127.0.0.1:1", "127.0.0.1:2"}) || !o.DistributedLock || o.ExpireTime != 0 {
		t.Fatalf("defaults: %+v", o)
	}
	args := region.Arguments{
		"url":                   []any{"127.0.0.1:1"},
		"memcached_expire_time": "600",
		"distributed_lock":      "false",
		"lock_timeout":          2.5,
		"max_lock_attempts":     "3",
		"socket_timeout":        "250ms",
		"max_idle_conns":        4,
		"max_item_size":         "2097152",
	}
	before := args.Clone()
	o, err = memcache.OptionsFromArguments(args)
	if err != nil {
		t.Fatal(err)
	}
	want := memcache.Options{
		Servers: []string{"127.0.0.1:1"}, ExpireTime: 600 * time.Second, DistributedLock: false,
		LockTimeout: 2500 * time.Millisecond, MaxLockAttempts: 3, SocketTimeout: 250 * time.Millisecond,
		MaxIdleConns: 4, MaxItemSize: 2 << 20, DeadRetry: memcache.DefaultDeadRetry,
	}
	if fmt.Sprint(o) != fmt.Sprint(want) {
		t.Fatalf("got %+v, want %+v", o, want)
	}
	if fmt.Sprint(args) != fmt.Sprint(before) {
		t.Fatalf("arguments modified: %v", args)
	}
	for name, v := range map[string]any{
		"memcached_expire_time": "soon", "distributed_lock": "maybe", "lock_timeout": -1,
		"max_lock_attempts": -1, "socket_timeout": "x", "max_idle_conns": -2, "max_item_size": 100,
		"url": 42,
	} {
		_, err := memcache.OptionsFromArguments(region.Arguments{"url": "127.0.0.1:1", name: v})
		var ae *region.ArgumentError
		if !errors.As(err, &ae) || ae.Name != name || !errors.Is(err, region.ErrBadArgument) {
			t.Errorf("%s=%v: got %v, want an ArgumentError naming it", name, v, err)
		}
	}

	r := region.New("nourl")
	err = r.Configure("memcached")
	if !errors.Is(err, memcache.ErrNoServers) {
		t.Fatalf("no url: got %v, want ErrNoServers", err)
	}
	err = r.Configure("memcached", region.WithArguments(region.Arguments{"url": "127.0.0.1:notaport"}))
	if !errors.Is(err, region.ErrBadArgument) {
		t.Fatalf("bad url: got %v, want ErrBadArgument", err)
	}
}

func TestKeyMangledBySHA1ByDefault(t *testing.T) {
	s := testservers.Memcached(t)
	r := newRegion(t, "memcached", region.Arguments{"url": s})
	ctx := ctxT(t)
	key := testservers.UniqueKey(t, "") + "a key with spaces and ünïcode, and longer than memcached likes: " + strings.Repeat("x", 300)
	if err := r.Set(ctx, key, "v"); err != nil {
		t.Fatalf("set: %v", err)
	}
	got, ok, err := region.GetAs[string](ctx, r, key)
	if err != nil || !ok || got != "v" {
		t.Fatalf("get: %q %v %v", got, ok, err)
	}
	// The item is stored under the SHA-1 of the key.
	it, err := rawClient(t, s...).Get(region.SHA1MangleKey(key))
	if err != nil {
		t.Fatalf("raw get of the mangled key: %v", err)
	}
	if !bytes.HasPrefix(it.Value, []byte("1;")) {
		t.Fatalf("raw value %q does not look like the region's envelope", it.Value)
	}
}

func TestKeyLimits(t *testing.T) {
	s := testservers.Memcached(t)
	d := newCountingDialer()
	b := newBackend(t, memcache.Options{Servers: s, DialContext: d.DialContext})
	identity := func(k string) string { return k }
	r := region.New("limits", region.WithKeyMangler(identity))
	if err := r.Configure("memcached", region.WithArguments(region.Arguments{"url": s})); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := ctxT(t)
	p := testservers.UniqueKey(t, "")

	bad := []string{
		"",
		p + "has space",
		p + "tab\tkey",
		p + "newline\nkey",
		p + "ünïcode",
		p + "del\x7f",
		strings.Repeat("k", 251),
	}
	for _, k := range bad {
		check := func(op string, err error) {
			t.Helper()
			var ke *memcache.KeyError
			if !errors.Is(err, memcache.ErrInvalidKey) || !errors.As(err, &ke) || ke.Key != k {
				t.Errorf("%s(%q): got %v, want a KeyError naming the key", op, k, err)
			}
			if k != "" && !strings.Contains(err.Error(), fmt.Sprintf("%q", k)) {
				t.Errorf("%s(%q): message %q does not name the key", op, k, err)
			}
		}
		_, _, err := b.GetSerialized(ctx, k)
		check("GetSerialized", err)
		_, err = b.GetSerializedMulti(ctx, []string{p + "ok", k})
		check("GetSerializedMulti", err)
		check("SetSerialized", b.SetSerialized(ctx, k, []byte("v")))
		check("SetSerializedMulti", b.SetSerializedMulti(ctx, map[string][]byte{p + "ok": []byte("v"), k: []byte("v")}))
		check("Delete", b.Delete(ctx, k))
		check("DeleteMulti", b.DeleteMulti(ctx, []string{p + "ok", k}))
		if k != "" {
			check("region.Set", r.Set(ctx, k, "v"))
			_, _, err = r.Get(ctx, k)
			check("region.Get", err)
		}
	}
	if n := d.totalDials(); n != 0 {
		t.Fatalf("invalid keys caused %d connections; nothing should be sent", n)
	}
	// The rejected SetSerializedMulti stored nothing, not even its legal key.
	if _, ok, err := b.GetSerialized(ctx, p+"ok"); err != nil || ok {
		t.Fatalf("legal key of a rejected batch: ok=%v err=%v; want nothing stored", ok, err)
	}
	// The longest legal key works.
	long := p + strings.Repeat("k", memcache.MaxKeyLength-len(p))
	if err := b.SetSerialized(ctx, long, []byte("v")); err != nil {
		t.Fatalf("250-byte key: %v", err)
	}
	if v, ok, err := b.GetSerialized(ctx, long); err != nil || !ok || string(v) != "v" {
		t.Fatalf("250-byte key: %q %v %v", v, ok, err)
	}
}

func TestValueLimits(t *testing.T) {
	s := testservers.Memcached(t)
	ctx := ctxT(t)
	p := testservers.UniqueKey(t, "")
	b := newBackend(t, memcache.Options{Servers: s})

	// The largest value that fits is accepted by a real server, for a
	// short key and for the longest key.
	for _, key := range []string{region.SHA1MangleKey(p + "fits"), p + strings.Repeat("L", memcache.MaxKeyLength-len(p))} {
		max := memcache.DefaultMaxItemSize - memcache.ItemOverhead - len(key)
		v := bytes.Repeat([]byte{'x'}, max)
		if err := b.SetSerialized(ctx, key, v); err != nil {
			t.Fatalf("value of %d bytes under a %d-byte key: %v", max, len(key), err)
		}
		got, ok, err := b.GetSerialized(ctx, key)
		if err != nil || !ok || !bytes.Equal(got, v) {
			t.Fatalf("read back %d bytes: ok=%v err=%v len=%d", max, ok, err, len(got))
		}
		err = b.SetSerialized(ctx, key, append(v, 'y'))
		var ve *memcache.ValueSizeError
		if !errors.As(err, &ve) || ve.Key != key || ve.Size != max+1 || ve.Max != max {
			t.Fatalf("one byte more: got %v, want a ValueSizeError", err)
		}
	}

	// Through the region: a 1 MiB payload is refused naming key and size,
	// and nothing is stored.
	r := newRegion(t, "memcached", region.Arguments{"url": s})
	big := bytes.Repeat([]byte{'b'}, 1<<20)
	key := p + "big"
	err := r.Set(ctx, key, big)
	var ve *memcache.ValueSizeError
	if !errors.Is(err, memcache.ErrValueTooLarge) || !errors.As(err, &ve) {
		t.Fatalf("set 1 MiB: got %v, want ErrValueTooLarge", err)
	}
	if ve.Key != region.SHA1MangleKey(key) || ve.Size <= 1<<20 || !strings.Contains(err.Error(), ve.Key) || !strings.Contains(err.Error(), fmt.Sprint(ve.Size)) {
		t.Fatalf("error %v does not name the key and size", err)
	}
	if _, ok, err := r.Get(ctx, key); ok || err != nil {
		t.Fatalf("after refused set: ok=%v err=%v", ok, err)
	}
	// SetMulti with one value too large stores none of them.
	err = r.SetMulti(ctx, map[string]any{p + "m1": "small", p + "m2": big, p + "m3": "small"})
	if !errors.Is(err, memcache.ErrValueTooLarge) {
		t.Fatalf("set_multi: got %v", err)
	}
	vals, err := r.GetMulti(ctx, []string{p + "m1", p + "m2", p + "m3"})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		if v != region.NoValue {
			t.Fatalf("set_multi refused but key %d holds %v", i, v)
		}
	}

	// max_item_size follows the server's -I setting.
	small := newRegion(t, "memcached", region.Arguments{"url": s, "max_item_size": 4096})
	if err := small.Set(ctx, p+"s", strings.Repeat("s", 5000)); !errors.Is(err, memcache.ErrValueTooLarge) {
		t.Fatalf("max_item_size 4096: got %v", err)
	}
	if err := small.Set(ctx, p+"s", strings.Repeat("s", 3000)); err != nil {
		t.Fatalf("max_item_size 4096, 3000 bytes: %v", err)
	}
}

func TestCorruptBytesReadAsAbsent(t *testing.T) {
	s := testservers.Memcached(t)
	ctx := ctxT(t)
	p := testservers.UniqueKey(t, "")
	var mu sync.Mutex
	var reported []error
	reportedFor := map[string][]error{}
	r := region.New("corrupt", region.WithErrorHandler(func(_ context.Context, key string, err error) {
		mu.Lock()
		reported = append(reported, err)
		reportedFor[key] = append(reportedFor[key], err)
		mu.Unlock()
	}))
	if err := r.Configure("memcached", region.WithArguments(region.Arguments{"url": s})); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	raw := rawClient(t, s...)
	garbage := [][]byte{
		[]byte("not an envelope at all"),
		[]byte("1;notanumber|payload"),
		[]byte("x;1|payload"),
		{0xff, 0x00, 0x7c, 0x01},
		[]byte("1;1700000000000000000|\xc1\xc1 not msgpack"),
		{},
	}
	for i, g := range garbage {
		key := fmt.Sprintf("%scorrupt-%d", p, i)
		if err := raw.Set(&gomemcache.Item{Key: region.SHA1MangleKey(key), Value: g}); err != nil {
			t.Fatal(err)
		}
		v, ok, err := r.Get(ctx, key)
		if i == 4 {
			// A valid envelope whose payload does not decode: absent,
			// and reported to the error handler as a corrupt value.
			if ok || err != nil {
				t.Errorf("undecodable payload: v=%v ok=%v err=%v; want absent", v, ok, err)
			}
			mu.Lock()
			errs := append([]error(nil), reportedFor[key]...)
			errs = append(errs, reportedFor[region.SHA1MangleKey(key)]...)
			mu.Unlock()
			if !slices.ContainsFunc(errs, func(err error) bool { return errors.Is(err, region.ErrCorruptValue) }) {
				t.Errorf("undecodable payload: reported %v; want an ErrCorruptValue report", errs)
			}
		}
		if ok || err != nil {
			t.Errorf("garbage %q: ok=%v err=%v; want absent", g, ok, err)
		}
		vals, err := r.GetMulti(ctx, []string{key})
		if err != nil || vals[0] != region.NoValue {
			t.Errorf("garbage %q via GetMulti: %v %v", g, vals, err)
		}
		got, err := region.GetOrCreateAs(ctx, r, key, func(context.Context) (string, error) { return "fresh", nil })
		if err != nil || got != "fresh" {
			t.Errorf("garbage %q: GetOrCreate = %q, %v", g, got, err)
		}
		if s, ok, _ := region.GetAs[string](ctx, r, key); !ok || s != "fresh" {
			t.Errorf("garbage %q not replaced: %q %v", g, s, ok)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) == 0 || !errors.Is(reported[0], region.ErrCorruptValue) {
		t.Fatalf("corrupt values reported: %v; want ErrCorruptValue reports", reported)
	}
}

func TestExpireTimeReachesServer(t *testing.T) {
	s := testservers.MemcachedN(t, 3)
	ctx := ctxT(t)
	p := testservers.UniqueKey(t, "")
	b := newBackend(t, memcache.Options{Servers: s})

	r := newRegion(t, "memcached", region.Arguments{"url": s, "memcached_expire_time": 2})
	kv := newRegion(t, "openstack.kvs.Memcached", region.Arguments{
		"url": s, "memcached_expire_time": "2s", "no_expiry_keys": []string{p + "keep", p + "keep2"},
	})
	mk := region.SHA1MangleKey
	ttl := func(key string) (int, bool) {
		t.Helper()
		addr, err := b.ServerFor(mk(key))
		if err != nil {
			t.Fatal(err)
		}
		return metaTTL(t, addr, mk(key))
	}

	if err := r.Set(ctx, p+"r", "v"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetMulti(ctx, map[string]any{p + "rm1": 1, p + "rm2": 2}); err != nil {
		t.Fatal(err)
	}
	if err := kv.Set(ctx, p+"drop", "v"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Set(ctx, p+"keep", "v"); err != nil {
		t.Fatal(err)
	}
	if err := kv.SetMulti(ctx, map[string]any{p + "keep2": 1, p + "drop2": 2}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"r", "rm1", "rm2", "drop", "drop2"} {
		if n, ok := ttl(p + k); !ok || n < 1 || n > 2 {
			t.Errorf("%s: server TTL %d (present %v), want 1..2 s", k, n, ok)
		}
	}
	for _, k := range []string{"keep", "keep2"} {
		if n, ok := ttl(p + k); !ok || n != -1 {
			t.Errorf("%s: server TTL %d (present %v), want -1 (no expiry)", k, n, ok)
		}
	}
	// And the server really drops them (memcached expires with one-second
	// granularity; wait well past 2 s).
	time.Sleep(3500 * time.Millisecond)
	for _, k := range []string{"r", "rm1", "rm2", "drop", "drop2"} {
		if _, ok := ttl(p + k); ok {
			t.Errorf("%s still on the server after its memcached_expire_time", k)
		}
	}
	for _, k := range []string{"keep", "keep2"} {
		if v, ok, err := kv.Get(ctx, p+k); err != nil || !ok || v == nil {
			t.Errorf("no-expiry key %s gone: %v", k, err)
		}
	}

	// Beyond 30 days memcached wants an absolute time; the backend sends
	// one, so the item does not expire at once.
	long := newRegion(t, "memcached", region.Arguments{"url": s, "memcached_expire_time": 40 * 24 * 3600})
	if err := long.Set(ctx, p+"long", "v"); err != nil {
		t.Fatal(err)
	}
	if n, ok := ttl(p + "long"); !ok || n < 39*24*3600 {
		t.Fatalf("40-day expire time: TTL %d present %v", n, ok)
	}
}

func TestKVSNoExpiryKeysFollowMangler(t *testing.T) {
	s := testservers.Memcached(t)
	ctx := ctxT(t)
	p := testservers.UniqueKey(t, "")
	r := newRegion(t, "openstack.kvs.Memcached", region.Arguments{
		"url": s, "memcached_expire_time": 30, "no_expiry_keys": p + "a," + p + "b",
	})
	kb := r.ActualBackend().(*region.SerializedBackend).Bytes().(*memcache.KVSBackend)
	raw := []string{p + "a", p + "b"}
	if got := kb.RawNoExpiryKeys(); !slices.Equal(got, raw) {
		t.Fatalf("raw keys %v", got)
	}
	// The region took the backend's suggested mangler (SHA-1) and told the
	// backend, which recomputed the mangled set.
	want := []string{region.SHA1MangleKey(raw[0]), region.SHA1MangleKey(raw[1])}
	slices.Sort(want)
	if got := kb.NoExpiryKeys(); !slices.Equal(got, want) {
		t.Fatalf("mangled keys %v, want %v", got, want)
	}
	custom := func(k string) string { return "_mangled_key_" + k }
	r.SetKeyMangler(custom)
	if got := kb.NoExpiryKeys(); !slices.Equal(got, []string{custom(raw[0]), custom(raw[1])}) {
		t.Fatalf("after SetKeyMangler: %v", got)
	}
	if got := kb.RawNoExpiryKeys(); !slices.Equal(got, raw) {
		t.Fatalf("raw keys changed: %v", got)
	}
	// Writes follow the new mangler: the no-expiry key is stored without TTL.
	if err := r.Set(ctx, p+"a", "v"); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ctx, p+"c", "v"); err != nil {
		t.Fatal(err)
	}
	drv := kb.Driver().(*memcache.Backend)
	for k, wantTTL := range map[string]bool{p + "a": false, p + "c": true} {
		addr, _ := drv.ServerFor(custom(k))
		n, ok := metaTTL(t, addr, custom(k))
		if !ok || (n == -1) == wantTTL {
			t.Errorf("%s: TTL %d present %v, want expiry %v", k, n, ok, wantTTL)
		}
	}
	r.SetKeyMangler(nil)
	if got := kb.NoExpiryKeys(); !slices.Equal(got, raw) {
		t.Fatalf("after removing the mangler: %v, want the raw keys", got)
	}
	if kb.DriverName() != memcache.DefaultDriver || kb.MaxLockAttempts() != memcache.DefaultMaxLockAttempts || kb.UseBackendKeyMangler() {
		t.Fatalf("defaults: driver %q attempts %d use-backend-mangler %v", kb.DriverName(), kb.MaxLockAttempts(), kb.UseBackendKeyMangler())
	}
}

// recordingDriver is a test driver for openstack.kvs.Memcached: an
// in-memory store that records the arguments it was built with and the
// TTL of every write.
type recordingDriver struct {
	args region.Arguments
	mu   sync.Mutex
	data map[string][]byte
	ttls map[string]string // key -> "driver" (its own expire time) or the TTL given
}

var lastRecordingDriver struct {
	sync.Mutex
	d *recordingDriver
}

func init() {
	memcache.RegisterDriver("TestDriver", func(args region.Arguments) (memcache.Driver, error) {
		d := &recordingDriver{args: args.Clone(), data: map[string][]byte{}, ttls: map[string]string{}}
		lastRecordingDriver.Lock()
		lastRecordingDriver.d = d
		lastRecordingDriver.Unlock()
		return d, nil
	})
}

func (d *recordingDriver) GetSerialized(_ context.Context, k string) ([]byte, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.data[k]
	return v, ok, nil
}

func (d *recordingDriver) GetSerializedMulti(_ context.Context, keys []string) (map[string][]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string][]byte{}
	for _, k := range keys {
		if v, ok := d.data[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

func (d *recordingDriver) SetSerialized(ctx context.Context, k string, v []byte) error {
	return d.SetSerializedMulti(ctx, map[string][]byte{k: v})
}

func (d *recordingDriver) SetSerializedMulti(_ context.Context, m map[string][]byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, v := range m {
		d.data[k] = v
		d.ttls[k] = "driver"
	}
	return nil
}

func (d *recordingDriver) SetSerializedMultiTTL(_ context.Context, m map[string][]byte, ttl time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, v := range m {
		d.data[k] = v
		d.ttls[k] = ttl.String()
	}
	return nil
}

func (d *recordingDriver) Delete(_ context.Context, k string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.data, k)
	return nil
}

func (d *recordingDriver) DeleteMulti(ctx context.Context, keys []string) error {
	for _, k := range keys {
		_ = d.Delete(ctx, k)
	}
	return nil
}

func (d *recordingDriver) GetMutex(string) region.Mutex { return nil }

func TestKVSDrivers(t *testing.T) {
	ctx := ctxT(t)
	if got := memcache.Drivers(); !slices.Contains(got, "memcached") || !slices.Contains(got, "pooled_memcached") || !slices.Contains(got, "TestDriver") {
		t.Fatalf("Drivers() = %v", got)
	}

	// An unknown driver is an error naming it and listing the valid ones.
	r := region.New("kvs-bad")
	err := r.Configure("openstack.kvs.Memcached", region.WithArguments(region.Arguments{"memcached_backend": "FakeBackend"}))
	if !errors.Is(err, memcache.ErrUnknownDriver) || !errors.Is(err, region.ErrBadArgument) {
		t.Fatalf("unknown driver: %v", err)
	}
	for _, want := range []string{"FakeBackend", "memcached", "pooled_memcached", "TestDriver"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if r.IsConfigured() {
		t.Fatal("region configured despite the bad driver")
	}

	// The driver gets the remaining arguments, with the lock settings.
	args := region.Arguments{
		"memcached_backend": "TestDriver", "memcached_expire_time": 86400, "some_other_arg": "x",
		"no_expiry_keys": []string{"bar"}, "lock_timeout": 6, "max_lock_attempts": 1, "distributed_lock": false,
	}
	kv := region.New("kvs-test", region.WithKeyMangler(func(k string) string { return k }))
	if err := kv.Configure("openstack.kvs.Memcached", region.WithArguments(args)); err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	if _, ok := args["distributed_lock"]; !ok || args["memcached_backend"] != "TestDriver" {
		t.Fatalf("caller's arguments modified: %v", args)
	}
	lastRecordingDriver.Lock()
	d := lastRecordingDriver.d
	lastRecordingDriver.Unlock()
	for name, want := range map[string]any{
		"memcached_expire_time": 86400, "some_other_arg": "x", "distributed_lock": true,
		"lock_timeout": 6 * time.Second, "max_lock_attempts": 1, "url": memcache.DefaultKVSURL,
	} {
		if fmt.Sprint(d.args[name]) != fmt.Sprint(want) {
			t.Errorf("driver argument %s = %v, want %v", name, d.args[name], want)
		}
	}
	for _, name := range []string{"memcached_backend", "no_expiry_keys", "use_backend_key_mangler"} {
		if d.args.Has(name) {
			t.Errorf("driver got %s", name)
		}
	}
	kb := kv.ActualBackend().(*region.SerializedBackend).Bytes().(*memcache.KVSBackend)
	if kb.Driver() != memcache.Driver(d) || kb.MaxLockAttempts() != 1 || kb.LockTimeout() != 6*time.Second {
		t.Fatalf("backend: driver %T attempts %d timeout %v", kb.Driver(), kb.MaxLockAttempts(), kb.LockTimeout())
	}
	// Keystone's set arguments: no-expiry keys bypass the driver's expiry.
	if err := kv.Set(ctx, "foo", "v"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Set(ctx, "bar", "v"); err != nil {
		t.Fatal(err)
	}
	if err := kv.SetMulti(ctx, map[string]any{"foo2": 1, "bar": 2}); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	if d.ttls["foo"] != "driver" || d.ttls["foo2"] != "driver" || d.ttls["bar"] != "0s" {
		t.Errorf("write TTLs %v: want foo, foo2 with the driver's expiry and bar with none", d.ttls)
	}
	d.mu.Unlock()

	defer func() {
		if recover() == nil {
			t.Error("registering a driver twice did not panic")
		}
	}()
	memcache.RegisterDriver("TestDriver", func(region.Arguments) (memcache.Driver, error) { return nil, nil })
}

func TestGetMutex(t *testing.T) {
	s := testservers.Memcached(t)
	ctx := ctxT(t)
	p := testservers.UniqueKey(t, "")
	b := newBackend(t, memcache.Options{Servers: s, DistributedLock: false})
	if m := b.GetMutex("k"); m != nil {
		t.Fatalf("distributed_lock false: GetMutex = %v, want nil", m)
	}
	b = newBackend(t, memcache.Options{Servers: s, DistributedLock: true, LockTimeout: 3 * time.Second, MaxLockAttempts: 2})
	m, ok := b.GetMutex(p + "k").(*memcachedmutex.Mutex)
	if !ok {
		t.Fatalf("GetMutex = %T, want *memcachedmutex.Mutex", b.GetMutex(p+"k"))
	}
	if m.LockKey() != "_lock"+p+"k" || m.LockTimeout() != 3*time.Second {
		t.Fatalf("mutex key %q timeout %v", m.LockKey(), m.LockTimeout())
	}
	if got, err := m.Acquire(ctx, true); !got || err != nil {
		t.Fatalf("acquire: %v %v", got, err)
	}
	other := b.GetMutex(p + "k")
	if got, err := other.Acquire(ctx, false); got || err != nil {
		t.Fatalf("second holder: %v %v", got, err)
	}
	if _, err := other.Acquire(ctx, true); !errors.Is(err, lockmutex.ErrMaxLockAttempts) {
		t.Fatalf("max_lock_attempts 2: got %v", err)
	}
	if err := m.Release(ctx); err != nil {
		t.Fatal(err)
	}

	// Through the region: the lock item is "_lock" + the mangled key, on
	// the servers, while a creator runs.
	r := newRegion(t, "memcached", region.Arguments{"url": s})
	key := p + "region key"
	raw := rawClient(t, s...)
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := r.GetOrCreate(ctx, key, func(context.Context) (any, error) {
			close(started)
			<-release
			return "v", nil
		})
		done <- err
	}()
	<-started
	if _, err := raw.Get("_lock" + region.SHA1MangleKey(key)); err != nil {
		t.Errorf("lock item while the creator runs: %v", err)
	}
	if locked, err := r.KeyIsLocked(ctx, key); !locked || err != nil {
		t.Errorf("KeyIsLocked while creating: %v %v", locked, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Get("_lock" + region.SHA1MangleKey(key)); !errors.Is(err, gomemcache.ErrCacheMiss) {
		t.Errorf("lock item after the creator: %v, want a miss", err)
	}
}

func TestGetMultiOneRequestPerServer(t *testing.T) {
	s := testservers.MemcachedN(t, 3)
	ctx := ctxT(t)
	p := testservers.UniqueKey(t, "")
	d := newCountingDialer()
	b := newBackend(t, memcache.Options{Servers: s, DialContext: d.DialContext})
	keys := make([]string, 100)
	m := make(map[string][]byte, 100)
	for i := range keys {
		keys[i] = region.SHA1MangleKey(fmt.Sprintf("%s%d", p, i))
		if i%2 == 0 {
			m[keys[i]] = []byte(fmt.Sprint(i))
		}
	}
	if err := b.SetSerializedMulti(ctx, m); err != nil {
		t.Fatal(err)
	}
	if n := d.total("set"); n != 50 {
		t.Fatalf("set_multi of 50 sent %d sets", n)
	}
	got, err := b.GetSerializedMulti(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 {
		t.Fatalf("got %d values, want 50", len(got))
	}
	for k, v := range m {
		if !bytes.Equal(got[k], v) {
			t.Fatalf("%s = %q, want %q", k, got[k], v)
		}
	}
	used := 0
	for _, a := range s {
		n := d.count(a, "gets")
		if n > 1 {
			t.Errorf("server %s got %d get requests for one get_multi, want 1", a, n)
		}
		used += n
	}
	if used != 3 {
		t.Errorf("get_multi of 100 keys over 3 servers used %d requests, want 3", used)
	}
	if err := b.DeleteMulti(ctx, keys); err != nil {
		t.Fatal(err)
	}
	if got, err := b.GetSerializedMulti(ctx, keys); err != nil || len(got) != 0 {
		t.Fatalf("after delete_multi: %d values, %v", len(got), err)
	}
}

func TestCloseClosesIdleConnections(t *testing.T) {
	s := testservers.Memcached(t)
	ctx := ctxT(t)
	d := newCountingDialer()
	b := newBackend(t, memcache.Options{Servers: s, DialContext: d.DialContext})
	if _, _, err := b.GetSerialized(ctx, "x"+testservers.UniqueKey(t, "")); err != nil {
		t.Fatal(err)
	}
	if d.open.Load() == 0 {
		t.Fatal("no connection kept idle after a call")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := d.open.Load(); n != 0 {
		t.Fatalf("%d connections still open after Close", n)
	}
	// Still usable afterwards.
	if _, _, err := b.GetSerialized(ctx, "x"+testservers.UniqueKey(t, "")); err != nil {
		t.Fatal(err)
	}
}

func TestCancelledContextSendsNothing(t *testing.T) {
	s := testservers.Memcached(t)
	d := newCountingDialer()
	b := newBackend(t, memcache.Options{Servers: s, DialContext: d.DialContext})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := b.GetSerialized(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("get: %v", err)
	}
	if _, err := b.GetSerializedMulti(ctx, []string{"k", "l"}); !errors.Is(err, context.Canceled) {
		t.Errorf("get_multi: %v", err)
	}
	if err := b.SetSerialized(ctx, "k", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("set: %v", err)
	}
	if err := b.SetSerializedMulti(ctx, map[string][]byte{"k": nil, "l": nil}); !errors.Is(err, context.Canceled) {
		t.Errorf("set_multi: %v", err)
	}
	if err := b.Delete(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("delete: %v", err)
	}
	if err := b.DeleteMulti(ctx, []string{"k", "l"}); !errors.Is(err, context.Canceled) {
		t.Errorf("delete_multi: %v", err)
	}
	if n := d.totalDials(); n != 0 {
		t.Errorf("%d connections made with a cancelled context", n)
	}
}

func TestServerErrorNamesKeyAndAddress(t *testing.T) {
	// A loopback port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	_ = l.Close()
	ctx := ctxT(t)
	b := newBackend(t, memcache.Options{Servers: []string{dead}, SocketTimeout: time.Second})
	start := time.Now()
	_, _, err = b.GetSerialized(ctx, "somekey")
	var se *memcache.ServerError
	if !errors.As(err, &se) || se.Addr != dead || se.Key != "somekey" || se.Op != "get" {
		t.Fatalf("get on a dead server: %v", err)
	}
	if !strings.Contains(err.Error(), dead) || !strings.Contains(err.Error(), "somekey") {
		t.Fatalf("message %q does not name key and server", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("get on a dead server took %v", time.Since(start))
	}
	err = b.SetSerializedMulti(ctx, map[string][]byte{"a": nil, "b": nil})
	if !errors.As(err, &se) || se.Addr != dead {
		t.Fatalf("set_multi on a dead server: %v", err)
	}
	_, err = b.GetSerializedMulti(ctx, []string{"a", "b"})
	if !errors.As(err, &se) || se.Addr != dead || se.Keys != 2 {
		t.Fatalf("get_multi on a dead server: %v", err)
	}
	if err := b.DeleteMulti(ctx, []string{"a", "b"}); !errors.As(err, &se) {
		t.Fatalf("delete_multi on a dead server: %v", err)
	}
}
