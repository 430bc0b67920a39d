package kvs

// Keystone's memcached tests (KVSTest's test_kvs_memcache*, TestMemcachedBackend)
// on the openstack.kvs.Memcached backend of package backends/memcache with
// Keystone's TestMemcacheDriver, then the KVS suite on real memcached
// servers (DOGPILE_MEMCACHED, started by scripts/test-services.sh).

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/region"
)

const testDriverName = "TestDriver"

func registerMemcacheFixtures() {
	memcache.RegisterDriver(testDriverName, func(args region.Arguments) (memcache.Driver, error) {
		return newTestMemcacheDriver(args)
	})
}

// fakeMemcacheClient is TestMemcacheDriver's client: it remembers the last
// set and its arguments, and has one lock slot shared by all keys.
type fakeMemcacheClient struct {
	mu                 sync.Mutex
	keysValues         map[string][]byte
	setArgumentsPassed map[string]any
	lockSet            bool
	lockSetTime        time.Time
	lockExpiry         time.Duration
}

func (c *fakeMemcacheClient) setMulti(m map[string][]byte, args map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keysValues = maps.Clone(m)
	c.setArgumentsPassed = args
}

func (c *fakeMemcacheClient) add(expiry time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lockSet && time.Since(c.lockSetTime) < c.lockExpiry {
		return false
	}
	c.lockSet, c.lockSetTime, c.lockExpiry = true, time.Now(), expiry
	return true
}

func (c *fakeMemcacheClient) deleteLock() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lockSet = false
}

func (c *fakeMemcacheClient) snapshot() (keys []string, values map[string][]byte, args map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.keysValues)), maps.Clone(c.keysValues), maps.Clone(c.setArgumentsPassed)
}

// testMemcacheDriver is Keystone's TestMemcacheDriver, as a memcache.Driver.
type testMemcacheDriver struct {
	client          *fakeMemcacheClient
	setArguments    map[string]any // {"time": memcached_expire_time} when given
	lockTimeout     time.Duration
	maxLockAttempts int
}

func newTestMemcacheDriver(args region.Arguments) (*testMemcacheDriver, error) {
	d := &testMemcacheDriver{client: &fakeMemcacheClient{}, setArguments: map[string]any{}}
	if args.Has("memcached_expire_time") {
		n, err := args.Int("memcached_expire_time", 0)
		if err != nil {
			return nil, err
		}
		d.setArguments["time"] = n
	}
	var err error
	if d.lockTimeout, err = args.Duration("lock_timeout", 0); err != nil {
		return nil, err
	}
	if d.maxLockAttempts, err = args.Int("max_lock_attempts", memcache.DefaultMaxLockAttempts); err != nil {
		return nil, err
	}
	return d, nil
}

// getSetArgumentsDriverAttr is _get_set_arguments_driver_attr.
func (d *testMemcacheDriver) getSetArgumentsDriverAttr(excludeExpiry bool) map[string]any {
	m := maps.Clone(d.setArguments)
	if excludeExpiry {
		delete(m, "time")
	}
	return m
}

func (d *testMemcacheDriver) GetSerialized(_ context.Context, key string) ([]byte, bool, error) {
	d.client.mu.Lock()
	defer d.client.mu.Unlock()
	v, ok := d.client.keysValues[key]
	return v, ok, nil
}

func (d *testMemcacheDriver) GetSerializedMulti(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, k := range keys {
		if v, ok, _ := d.GetSerialized(ctx, k); ok {
			out[k] = v
		}
	}
	return out, nil
}

func (d *testMemcacheDriver) SetSerialized(ctx context.Context, key string, data []byte) error {
	return d.SetSerializedMulti(ctx, map[string][]byte{key: data})
}

func (d *testMemcacheDriver) SetSerializedMulti(_ context.Context, m map[string][]byte) error {
	d.client.setMulti(m, d.getSetArgumentsDriverAttr(false))
	return nil
}

func (d *testMemcacheDriver) SetSerializedMultiTTL(_ context.Context, m map[string][]byte, ttl time.Duration) error {
	args := d.getSetArgumentsDriverAttr(true)
	if ttl > 0 {
		args["time"] = int(ttl / time.Second)
	}
	d.client.setMulti(m, args)
	return nil
}

func (d *testMemcacheDriver) Delete(_ context.Context, key string) error {
	d.client.mu.Lock()
	defer d.client.mu.Unlock()
	delete(d.client.keysValues, key)
	return nil
}

func (d *testMemcacheDriver) DeleteMulti(ctx context.Context, keys []string) error {
	for _, k := range keys {
		_ = d.Delete(ctx, k)
	}
	return nil
}

func (d *testMemcacheDriver) GetMutex(key string) region.Mutex {
	return &fakeMemcachedLock{client: d.client, key: "_lock" + key, timeout: d.lockTimeout, attempts: d.maxLockAttempts}
}

// fakeMemcachedLock is Keystone's MemcachedLock on the fake client.
type fakeMemcachedLock struct {
	client   *fakeMemcacheClient
	key      string
	timeout  time.Duration
	attempts int
}

func (l *fakeMemcachedLock) Acquire(ctx context.Context, wait bool) (bool, error) {
	for range l.attempts {
		if l.client.add(l.timeout) {
			return true, nil
		}
		if !wait {
			return false, nil
		}
		select { // Keystone sleeps up to 1 s; a tenth keeps the test quick
		case <-time.After(rand.N(100 * time.Millisecond)):
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return false, fmt.Errorf("%w: Maximum lock attempts on %s occurred.", lockmutex.ErrMaxLockAttempts, l.key)
}

func (l *fakeMemcachedLock) Release(context.Context) error {
	l.client.deleteLock()
	return nil
}

func (l *fakeMemcachedLock) Locked(context.Context) (bool, error) {
	return false, nil
}

// kvsBackendOf returns the openstack.kvs.Memcached backend under a store.
func kvsBackendOf(t testing.TB, s *KeyValueStore) *memcache.KVSBackend {
	t.Helper()
	b, ok := region.BackendAs[*memcache.KVSBackend](s.Region().ActualBackend())
	if !ok {
		t.Fatalf("actual backend is %T, want the openstack.kvs.Memcached backend", s.Region().ActualBackend())
	}
	return b
}

func testDriverOf(t testing.TB, s *KeyValueStore) *testMemcacheDriver {
	t.Helper()
	d, ok := kvsBackendOf(t, s).Driver().(*testMemcacheDriver)
	if !ok {
		t.Fatalf("driver is %T, want *testMemcacheDriver", kvsBackendOf(t, s).Driver())
	}
	return d
}

func TestKVSMemcachedManagerValidDogpileMemcachedBackend(t *testing.T) {
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memcached", WithArguments(region.Arguments{"memcached_backend": testDriverName}))
	testDriverOf(t, s)
	if got := kvsBackendOf(t, s).DriverName(); got != testDriverName {
		t.Errorf("driver name = %q", got)
	}
}

func TestKVSMemcachedManagerInvalidDogpileMemcachedBackend(t *testing.T) {
	s := newStore(t)
	name := randomHex()
	err := s.Configure("openstack.kvs.Memcached", WithArguments(region.Arguments{"memcached_backend": name}))
	if !errors.Is(err, memcache.ErrUnknownDriver) || !errors.Is(err, region.ErrBadArgument) {
		t.Fatalf("Configure with memcached_backend %s: %v, want ErrUnknownDriver", name, err)
	}
	if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), testDriverName) {
		t.Errorf("message %q does not name the backend and the valid ones", err)
	}
	if s.IsConfigured() {
		t.Fatal("store configured after a failed backend construction")
	}
	// Step A failed, so the store can still be configured.
	mustConfigure(t, s, "openstack.kvs.Memcached", WithArguments(region.Arguments{"memcached_backend": testDriverName}))
}

// TestMemcachedBackendInvalidBackendFailsInitialization is Keystone's
// TestMemcachedBackend.test_invalid_backend_fails_initialization.
func TestMemcachedBackendInvalidBackendFailsInitialization(t *testing.T) {
	_, err := memcache.NewKVS(region.Arguments{"url": "127.0.0.1:11211", "memcached_backend": "FakeBackend"})
	if err == nil || !strings.Contains(err.Error(), "FakeBackend") {
		t.Fatalf("NewKVS with memcached_backend FakeBackend: %v, want an error naming it", err)
	}
}

func configureNoExpiry(t *testing.T) (*KeyValueStore, *memcache.KVSBackend) {
	t.Helper()
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memcached", WithArguments(region.Arguments{
		"memcached_backend": testDriverName,
		"no_expiry_keys":    []string{"test_key"},
	}))
	return s, kvsBackendOf(t, s)
}

func TestKVSMemcacheManagerNoExpiryKeys(t *testing.T) {
	s, b := configureNoExpiry(t)
	if !sameFunc(b.KeyMangler(), region.SHA1MangleKey) {
		t.Fatal("backend key mangler is not region.SHA1MangleKey")
	}
	if got, want := b.NoExpiryKeys(), []string{s.Region().KeyMangler()("test_key")}; !reflect.DeepEqual(got, want) {
		t.Errorf("no-expiry hashed keys = %v, want %v", got, want)
	}
	if got := b.RawNoExpiryKeys(); !reflect.DeepEqual(got, []string{"test_key"}) {
		t.Errorf("raw no-expiry keys = %v", got)
	}
	b.SetKeyMangler(func(k string) string { return "_mangled_key_" + k })
	if got := b.NoExpiryKeys(); !reflect.DeepEqual(got, []string{"_mangled_key_test_key"}) {
		t.Errorf("after a new mangler, hashed keys = %v", got)
	}
	if got := b.RawNoExpiryKeys(); !reflect.DeepEqual(got, []string{"test_key"}) {
		t.Errorf("after a new mangler, raw keys = %v", got)
	}
	// Through the store: a new mangler reaches the backend.
	if err := s.setKeyMangler(identity); err != nil {
		t.Fatal(err)
	}
	if got := b.NoExpiryKeys(); !reflect.DeepEqual(got, []string{"test_key"}) {
		t.Errorf("after the store's identity mangler, hashed keys = %v", got)
	}
}

func TestKVSMemcacheKeyManglerSetToNone(t *testing.T) {
	_, b := configureNoExpiry(t)
	if !sameFunc(b.KeyMangler(), region.SHA1MangleKey) {
		t.Fatal("backend key mangler is not region.SHA1MangleKey")
	}
	b.SetKeyMangler(nil)
	if got, raw := b.NoExpiryKeys(), b.RawNoExpiryKeys(); !reflect.DeepEqual(got, raw) {
		t.Errorf("hashed keys %v, want the raw keys %v", got, raw)
	}
	if b.KeyMangler() != nil {
		t.Error("backend key mangler is not nil")
	}
}

// TestNoncallableKeyManglerSetOnDriverRaisesTypeError: Keystone raises
// TypeError for key_mangler = "Non-Callable". In Go the mangler is a
// func(string) string everywhere (region.KeyManglerSetter, WithKeyMangler),
// so a non-function does not compile; this pins those signatures.
func TestNoncallableKeyManglerSetOnDriverRaisesTypeError(t *testing.T) {
	want := reflect.TypeOf(func(string) string { return "" })
	setter := reflect.TypeOf((*memcache.KVSBackend).SetKeyMangler)
	if setter.In(1) != want {
		t.Errorf("SetKeyMangler takes %v", setter.In(1))
	}
	if opt := reflect.TypeOf(WithKeyMangler); opt.In(0) != want {
		t.Errorf("WithKeyMangler takes %v", opt.In(0))
	}
	if reflect.TypeOf("Non-Callable").AssignableTo(want) {
		t.Error("a string is assignable to a key mangler")
	}
}

func TestKVSMemcacheSetArgumentsAndMemcacheExpiresTTL(t *testing.T) {
	withConfig(t, func(c *Config) { c.EnableKeyMangler = false })
	c := setUp(t)
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memcached", WithArguments(region.Arguments{
		"memcached_backend":     testDriverName,
		"memcached_expire_time": 86400,
		"some_other_arg":        randomHex(),
		"no_expiry_keys":        []string{c.keyBar},
	}))
	d := testDriverOf(t, s)
	if got := d.getSetArgumentsDriverAttr(false); !reflect.DeepEqual(got, map[string]any{"time": 86400}) {
		t.Fatalf("driver set arguments = %v", got)
	}
	check := func(what, key string, wantArgs map[string]any, want any) {
		t.Helper()
		keys, values, args := d.client.snapshot()
		if !reflect.DeepEqual(args, wantArgs) {
			t.Errorf("%s: set arguments passed = %v, want %v", what, args, wantArgs)
		}
		if !reflect.DeepEqual(keys, []string{key}) {
			t.Fatalf("%s: keys = %v, want [%s]", what, keys, key)
		}
		_, payload, err := region.ParseEnvelope(values[key])
		if err != nil {
			t.Fatal(err)
		}
		var got any
		if err := region.DefaultSerializer.Unmarshal(payload, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(generic(got), want) {
			t.Errorf("%s: stored payload %#v, want %#v", what, got, want)
		}
	}
	ctx := c.ctx
	if err := s.Set(ctx, c.keyFoo, c.valueFoo, nil); err != nil {
		t.Fatal(err)
	}
	check("set foo", c.keyFoo, map[string]any{"time": 86400}, c.valueFoo)
	if err := s.Set(ctx, c.keyBar, c.valueBar, nil); err != nil {
		t.Fatal(err)
	}
	check("set bar", c.keyBar, map[string]any{}, c.valueBar)
	if err := s.SetMulti(ctx, map[string]any{c.keyFoo: c.valueFoo}); err != nil {
		t.Fatal(err)
	}
	check("set_multi foo", c.keyFoo, map[string]any{"time": 86400}, c.valueFoo)
	if err := s.SetMulti(ctx, map[string]any{c.keyBar: c.valueBar}); err != nil {
		t.Fatal(err)
	}
	check("set_multi bar", c.keyBar, map[string]any{}, c.valueBar)
}

func TestMemcachedLockMaxLockAttempts(t *testing.T) {
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memcached", WithArguments(region.Arguments{
		"memcached_backend": testDriverName,
		"max_lock_attempts": 1,
	}))
	if got := kvsBackendOf(t, s).MaxLockAttempts(); got != 1 {
		t.Fatalf("max_lock_attempts = %d, want 1", got)
	}
	testMaxLockAttempts(t, s)
}

// testMaxLockAttempts: a lock inside a lock on the same key fails after
// max_lock_attempts (1) with the lock-attempts error.
func testMaxLockAttempts(t *testing.T, s *KeyValueStore) {
	ctx := t.Context()
	key := "foo_" + randomHex()
	if err := s.WithLock(ctx, key, func(l *Lock) error { return s.Set(ctx, key, "testing", l) }); err != nil {
		t.Fatal(err)
	}
	err := s.WithLock(ctx, key, func(first *Lock) error {
		if err := s.Set(ctx, key, "lock", first); err != nil {
			return err
		}
		return s.WithLock(ctx, key, func(*Lock) error {
			t.Error("second lock on the same key acquired")
			return nil
		})
	})
	if !errors.Is(err, lockmutex.ErrMaxLockAttempts) {
		t.Fatalf("nested lock: %v, want lockmutex.ErrMaxLockAttempts", err)
	}
	if !strings.Contains(err.Error(), "_lock"+key) {
		t.Errorf("message %q does not name the lock key", err)
	}
	// The outer lock was released: the key can be locked again.
	if err := s.WithLock(ctx, key, func(l *Lock) error { return s.Delete(ctx, key, l) }); err != nil {
		t.Fatal(err)
	}
}

// --- real memcached -------------------------------------------------------

// memcachedStore returns a new store on openstack.kvs.Memcached with the
// test servers, closed when the test ends.
func memcachedStore(t testing.TB, url string, opts ...Option) *KeyValueStore {
	t.Helper()
	s := newStore(t)
	opts = append([]Option{WithArguments(region.Arguments{"url": url})}, opts...)
	if err := s.Configure("openstack.kvs.Memcached", opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Region().Close() })
	return s
}

// rawClient returns the gomemcache client of a store's default driver.
func rawClient(t testing.TB, s *KeyValueStore) *gomemcache.Client {
	t.Helper()
	b, ok := kvsBackendOf(t, s).Driver().(*memcache.Backend)
	if !ok {
		t.Fatalf("driver is %T", kvsBackendOf(t, s).Driver())
	}
	return b.Client()
}

func serverHas(t testing.TB, c *gomemcache.Client, key string) bool {
	t.Helper()
	_, err := c.Get(key)
	if errors.Is(err, gomemcache.ErrCacheMiss) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// TestMemcachedKVSSuite runs Keystone's KVS tests on the real
// openstack.kvs.Memcached backend.
func TestMemcachedKVSSuite(t *testing.T) {
	url := strings.Join(testservers.Memcached(t), ",")

	t.Run("BasicConfiguration", func(t *testing.T) {
		s := memcachedStore(t, url)
		b := kvsBackendOf(t, s)
		if b.DriverName() != memcache.DefaultDriver || b.LockTimeout() != 6*time.Second {
			t.Errorf("driver %q, lock_timeout %v; want %q and 6s", b.DriverName(), b.LockTimeout(), memcache.DefaultDriver)
		}
		if !sameFunc(s.Region().KeyMangler(), region.SHA1MangleKey) || !sameFunc(b.KeyMangler(), region.SHA1MangleKey) {
			t.Error("key mangler is not region.SHA1MangleKey on region and backend")
		}
	})

	t.Run("BasicGetSetDelete", func(t *testing.T) {
		c := setUp(t)
		s := memcachedStore(t, url)
		if _, err := s.Get(c.ctx, c.keyBar); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get of a missing key: %v", err)
		}
		if err := s.Set(c.ctx, c.keyBar, c.valueBar, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(c.ctx, c.keyBar)
		if err != nil || !reflect.DeepEqual(generic(got), c.valueBar) {
			t.Fatalf("Get = %#v, %v", got, err)
		}
		// Stored under the SHA-1 of the key.
		if !serverHas(t, rawClient(t, s), region.SHA1MangleKey(c.keyBar)) {
			t.Error("value not on the server under the mangled key")
		}
		if err := s.Delete(c.ctx, c.keyBar, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(c.ctx, c.keyBar, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second Delete: %v", err)
		}
	})

	t.Run("MultiGetSetDelete", func(t *testing.T) {
		kvsMultiGetSetDelete(t, memcachedStore(t, url))
	})

	t.Run("LockingContextHandler", func(t *testing.T) {
		c := setUp(t)
		s := memcachedStore(t, url)
		raw := rawClient(t, s)
		lockKey := "_lock" + c.keyFoo
		if serverHas(t, raw, lockKey) {
			t.Fatal("lock item present before locking")
		}
		err := s.WithLock(c.ctx, c.keyFoo, func(l *Lock) error {
			if !serverHas(t, raw, lockKey) {
				t.Error("no lock item on the server inside the lock")
			}
			return s.Set(c.ctx, c.keyFoo, c.valueFoo, l)
		})
		if err != nil {
			t.Fatal(err)
		}
		if serverHas(t, raw, lockKey) {
			t.Fatal("lock item present after the lock")
		}
	})

	t.Run("LockingDisabled", func(t *testing.T) {
		c := setUp(t)
		s := memcachedStore(t, url, WithLocking(false))
		raw := rawClient(t, s)
		err := s.WithLock(c.ctx, c.keyFoo, func(l *Lock) error {
			if serverHas(t, raw, "_lock"+c.keyFoo) {
				t.Error("lock item written with locking disabled")
			}
			return s.Set(c.ctx, c.keyFoo, c.valueFoo, l)
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("LockTimeout", func(t *testing.T) {
		checkLockTimeouts(t, memcachedStore(t, url, WithArguments(region.Arguments{"lock_timeout": 5})))
	})

	t.Run("MismatchedKeys", func(t *testing.T) {
		c := setUp(t)
		s := memcachedStore(t, url)
		err := s.WithLock(c.ctx, c.keyFoo, func(l *Lock) error { return s.Set(c.ctx, c.keyBar, "v", l) })
		if !errors.Is(err, ErrLockKeyMismatch) {
			t.Fatalf("%v, want ErrLockKeyMismatch", err)
		}
	})

	t.Run("NoLock", func(t *testing.T) {
		c := setUp(t)
		s := memcachedStore(t, url)
		if err := s.Set(c.ctx, c.keyFoo, c.valueFoo, nil); err != nil {
			t.Fatal(err)
		}
		if serverHas(t, rawClient(t, s), "_lock"+c.keyFoo) {
			t.Fatal("lock item written without a lock")
		}
	})

	t.Run("MaxLockAttempts", func(t *testing.T) {
		s := memcachedStore(t, url, WithArguments(region.Arguments{"max_lock_attempts": 1}))
		testMaxLockAttempts(t, s)
	})

	t.Run("NoExpiryKeys", func(t *testing.T) {
		c := setUp(t)
		s := memcachedStore(t, url, WithArguments(region.Arguments{
			"memcached_expire_time": 1,
			"no_expiry_keys":        []string{c.keyBar},
		}))
		b := kvsBackendOf(t, s)
		if got := b.NoExpiryKeys(); !reflect.DeepEqual(got, []string{region.SHA1MangleKey(c.keyBar)}) {
			t.Fatalf("no-expiry keys = %v", got)
		}
		if err := s.SetMulti(c.ctx, map[string]any{c.keyFoo: c.valueFoo, c.keyBar: c.valueBar}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetMulti(c.ctx, []string{c.keyFoo, c.keyBar}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond) // memcached expires in whole seconds
		if _, err := s.Get(c.ctx, c.keyFoo); !errors.Is(err, ErrNotFound) {
			t.Errorf("value with memcached_expire_time 1s still there: %v", err)
		}
		if got, err := s.Get(c.ctx, c.keyBar); err != nil || !reflect.DeepEqual(generic(got), c.valueBar) {
			t.Errorf("no-expiry value: %#v, %v", got, err)
		}
	})

	t.Run("TypedReads", func(t *testing.T) {
		s := memcachedStore(t, url)
		testTypedReads(t, s)
	})
}

func TestConcurrentIncrementsMemcached(t *testing.T) {
	url := strings.Join(testservers.Memcached(t), ",")
	const workers, perWorker = 8, 1000
	// max_lock_attempts 0: wait as long as it takes (Keystone's 15 attempts
	// are not meant for eight writers hammering one key).
	s := memcachedStore(t, url, WithArguments(region.Arguments{"max_lock_attempts": 0}))
	ctx := t.Context()
	key := "counter_" + randomHex()
	start := time.Now()
	if err := hammer(ctx, s, key, workers, perWorker); err != nil {
		t.Fatal(err)
	}
	n, err := GetAs[int](ctx, s, key)
	if err != nil {
		t.Fatal(err)
	}
	if n != workers*perWorker {
		t.Fatalf("counter = %d, want %d", n, workers*perWorker)
	}
	t.Logf("%d increments in %v", n, time.Since(start))
}

// Cross-process counter: the test binary re-executes itself as children.
const (
	childProcesses  = 3
	childWorkers    = 2
	childIncrements = 500 // per worker
)

func TestConcurrentIncrementsMemcachedProcesses(t *testing.T) {
	url := strings.Join(testservers.Memcached(t), ",")
	key := "counter_" + randomHex()
	start := time.Now()
	cmds := make([]*exec.Cmd, childProcesses)
	outs := make([]*strings.Builder, childProcesses)
	for i := range cmds {
		cmd := testservers.ChildContext(t.Context(),
			childEnv+"=memcached-counter",
			testservers.EnvMemcached+"="+url,
			"DOGPILE_KVS_TEST_KEY="+key,
		)
		outs[i] = &strings.Builder{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d: %v\n%s", i, err, outs[i])
		}
	}
	if t.Failed() {
		return
	}
	s := memcachedStore(t, url)
	n, err := GetAs[int](t.Context(), s, key)
	if err != nil {
		t.Fatal(err)
	}
	if want := childProcesses * childWorkers * childIncrements; n != want {
		t.Fatalf("counter = %d, want %d", n, want)
	}
	t.Logf("%d increments by %d processes in %v", n, childProcesses, time.Since(start))
}

// childMemcachedCounter is one child process of the cross-process test.
func childMemcachedCounter() error {
	addrs, err := testservers.MemcachedAddrs()
	if err != nil {
		return err
	}
	key := os.Getenv("DOGPILE_KVS_TEST_KEY")
	if key == "" {
		return errors.New("DOGPILE_KVS_TEST_KEY must be set")
	}
	url := strings.Join(addrs, ",")
	s := GetKeyValueStore("kvstest-child-"+strconv.Itoa(os.Getpid()), nil)
	if err := s.Configure("openstack.kvs.Memcached", WithArguments(region.Arguments{"url": url, "max_lock_attempts": 0})); err != nil {
		return err
	}
	defer s.Region().Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return hammer(ctx, s, key, childWorkers, childIncrements)
}
