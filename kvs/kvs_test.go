package kvs

// Keystone's keystone/tests/unit/test_kvs.py (KVSTest, TestCacheRegionInit),
// one Go test per Python test, in the same order. The memcached ones are in
// memcached_test.go.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// kvsCase is KVSTest.setUp: random keys and values.
type kvsCase struct {
	keyFoo, keyBar string
	valueFoo       string
	valueBar       map[string]any
	ctx            context.Context
}

func setUp(t *testing.T) kvsCase {
	return kvsCase{
		keyFoo:   "foo_" + randomHex(),
		valueFoo: randomHex(),
		keyBar:   "bar_" + randomHex(),
		valueBar: map[string]any{"complex_data_structure": randomHex()},
		ctx:      t.Context(),
	}
}

func mustConfigure(t *testing.T, s *KeyValueStore, backend string, opts ...Option) {
	t.Helper()
	if err := s.Configure(backend, opts...); err != nil {
		t.Fatalf("Configure(%q): %v", backend, err)
	}
}

// setUpFixtureLock is the set-up of the lock tests on the KVS fixture
// backend: key mangling off, a store configured on kvsFixture with opts,
// the fixture's db and the key of c.keyFoo's lock item in it.
func setUpFixtureLock(t *testing.T, opts ...Option) (c kvsCase, s *KeyValueStore, db *writeOnceDB, lockKey string) {
	t.Helper()
	withConfig(t, func(cfg *Config) { cfg.EnableKeyMangler = false })
	c = setUp(t)
	s = newStore(t)
	mustConfigure(t, s, kvsFixture, opts...)
	return c, s, fixtureOf(t, s).db, "_lock" + c.keyFoo
}

func fixtureOf(t *testing.T, s *KeyValueStore) *backendFixture {
	t.Helper()
	b, ok := s.Region().ActualBackend().(*backendFixture)
	if !ok {
		t.Fatalf("actual backend is %T, want *backendFixture", s.Region().ActualBackend())
	}
	return b
}

func recorderOf(t *testing.T, s *KeyValueStore) *manglerRecorder {
	t.Helper()
	r, ok := region.BackendAs[*manglerRecorder](s.Region().ActualBackend())
	if !ok {
		t.Fatalf("actual backend is %T, want the recording memory backend", s.Region().ActualBackend())
	}
	return r
}

func identity(k string) string { return k }

func TestKVSBasicConfiguration(t *testing.T) {
	name := "kvstest-" + randomHex()
	s := GetKeyValueStore(name, nil)
	mustConfigure(t, s, "openstack.kvs.Memory")
	sb, ok := s.Region().Backend().(*region.SerializedBackend)
	if !ok {
		t.Fatalf("backend is %T, want the openstack.kvs.Memory serialized backend", s.Region().Backend())
	}
	if _, ok := sb.Bytes().(interface {
		GetSerialized(context.Context, string) ([]byte, bool, error)
	}); !ok {
		t.Fatalf("byte store is %T", sb.Bytes())
	}
	if got := s.Region().Name(); got != name {
		t.Errorf("region name = %q, want %q", got, name)
	}
	if got := s.Region().BackendName(); got != "openstack.kvs.Memory" {
		t.Errorf("backend name = %q", got)
	}

	s2 := newStore(t)
	mustConfigure(t, s2, kvsFixture, WithArguments(region.Arguments{"test_arg": 100}))
	if got := fixtureOf(t, s2).testArg; got != 100 {
		t.Errorf("backend test_arg = %#v, want 100", got)
	}
}

func TestKVSProxyConfiguration(t *testing.T) {
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memory", WithProxyNames(proxyFixture, proxy2Fixture))
	p1, ok := s.Region().Backend().(*regionProxyFixture)
	if !ok {
		t.Fatalf("outermost backend is %T, want *regionProxyFixture", s.Region().Backend())
	}
	p2, ok := p1.Proxied.(*regionProxy2Fixture)
	if !ok {
		t.Fatalf("second backend is %T, want *regionProxy2Fixture", p1.Proxied)
	}
	if p2.Proxied != s.Region().ActualBackend() {
		t.Fatalf("third backend is %T, want the actual backend", p2.Proxied)
	}
	if _, ok := p2.Proxied.(*region.SerializedBackend); !ok {
		t.Fatalf("actual backend is %T", p2.Proxied)
	}
}

func TestKVSKeyManglerFallthroughDefault(t *testing.T) {
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memory")
	if !sameFunc(s.Region().KeyMangler(), region.SHA1MangleKey) {
		t.Error("region key mangler is not region.SHA1MangleKey")
	}
	// openstack.kvs.Memory keeps no mangler of its own; the recording
	// variant shows what the backend is told.
	r := newStore(t)
	mustConfigure(t, r, kvsRecording)
	if !sameFunc(r.Region().KeyMangler(), region.SHA1MangleKey) {
		t.Error("region key mangler is not region.SHA1MangleKey")
	}
	if !sameFunc(recorderOf(t, r).current(), region.SHA1MangleKey) {
		t.Error("backend key mangler is not region.SHA1MangleKey")
	}
}

func TestKVSKeyManglerConfigurationBackend(t *testing.T) {
	c := setUp(t)
	s := newStore(t)
	mustConfigure(t, s, kvsFixture)
	if got, want := s.Region().KeyMangler()(c.keyFoo), "KVSBackend_"+c.keyFoo; got != want {
		t.Errorf("mangled key = %q, want %q", got, want)
	}
	if !sameFunc(fixtureOf(t, s).KeyMangler(), s.Region().KeyMangler()) {
		t.Error("backend and region manglers differ")
	}
}

func TestKVSKeyManglerConfigurationForcedBackend(t *testing.T) {
	c := setUp(t)
	s := newStore(t)
	mustConfigure(t, s, kvsForcedFixture, WithKeyMangler(region.SHA1MangleKey))
	if got, want := s.Region().KeyMangler()(c.keyFoo), "KVSBackendForcedKeyMangle_"+c.keyFoo; got != want {
		t.Errorf("mangled key = %q, want %q", got, want)
	}
}

func TestKVSKeyManglerConfigurationDisabled(t *testing.T) {
	withConfig(t, func(c *Config) { c.EnableKeyMangler = false })
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memory")
	if s.Region().KeyMangler() != nil {
		t.Error("region key mangler is set")
	}
	r := newStore(t)
	mustConfigure(t, r, kvsRecording)
	if r.Region().KeyMangler() != nil {
		t.Error("region key mangler is set")
	}
	rec := recorderOf(t, r)
	if rec.current() != nil || rec.calls == 0 {
		t.Errorf("backend key mangler: calls %d, set %v; want set to nil", rec.calls, rec.current() != nil)
	}
	// With mangling disabled the region keeps the backend's suggestion, as
	// dogpile copied it at configure time, and the backend is told none.
	f := newStore(t)
	mustConfigure(t, f, kvsFixture)
	if !sameFunc(f.Region().KeyMangler(), fixtureMangle) {
		t.Error("region key mangler is not the fixture's")
	}
	if fixtureOf(t, f).KeyMangler() != nil {
		t.Error("backend key mangler is set")
	}
}

func TestKVSKeyManglerSetOnBackend(t *testing.T) {
	s := newStore(t)
	mustConfigure(t, s, kvsRecording)
	rec := recorderOf(t, s)
	if !sameFunc(rec.current(), region.SHA1MangleKey) {
		t.Fatal("backend key mangler is not region.SHA1MangleKey")
	}
	if err := s.setKeyMangler(identity); err != nil {
		t.Fatal(err)
	}
	if !sameFunc(rec.current(), identity) {
		t.Error("backend key mangler is not the new one")
	}
	if !sameFunc(s.Region().KeyMangler(), identity) {
		t.Error("region key mangler is not the new one")
	}
}

func TestKVSBasicGetSetDelete(t *testing.T) {
	c := setUp(t)
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memory")

	if _, err := s.Get(c.ctx, c.keyBar); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
	}
	if err := s.Set(c.ctx, c.keyBar, c.valueBar, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(c.ctx, c.keyBar)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(generic(got), c.valueBar) {
		t.Fatalf("Get = %#v, want %#v", got, c.valueBar)
	}
	// Equal but not identical: a copy.
	if reflect.ValueOf(got).UnsafePointer() == reflect.ValueOf(c.valueBar).UnsafePointer() {
		t.Fatal("Get returned the stored map itself")
	}
	reflect.ValueOf(got).SetMapIndex(reflect.ValueOf(any("complex_data_structure")), reflect.ValueOf(any("changed")))
	again, err := s.Get(c.ctx, c.keyBar)
	if err != nil || !reflect.DeepEqual(generic(again), c.valueBar) {
		t.Fatalf("after changing a returned value, Get = %#v, %v", again, err)
	}
	if err := s.Delete(c.ctx, c.keyBar, nil); err != nil {
		t.Fatal(err)
	}
	err = s.Delete(c.ctx, c.keyBar, nil)
	var nf *NotFoundError
	if !errors.As(err, &nf) || !reflect.DeepEqual(nf.Keys, []string{c.keyBar}) {
		t.Fatalf("second Delete: %v, want NotFound naming %s", err, c.keyBar)
	}
	if got, want := err.Error(), "Could not find: "+c.keyBar+"."; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func kvsMultiGetSetDelete(t *testing.T, s *KeyValueStore) {
	c := setUp(t)
	keys := []string{c.keyFoo, c.keyBar}
	if err := s.SetMulti(c.ctx, map[string]any{c.keyFoo: c.valueFoo, c.keyBar: c.valueBar}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMulti(c.ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{c.valueFoo, c.valueBar}; !reflect.DeepEqual(generic(got), want) {
		t.Fatalf("GetMulti = %#v, want %#v", got, want)
	}
	if err := s.DeleteMulti(c.ctx, keys); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetMulti(c.ctx, keys)
	var nf *NotFoundError
	if !errors.As(err, &nf) || !reflect.DeepEqual(nf.Keys, keys) {
		t.Fatalf("GetMulti after DeleteMulti: %v, want NotFound naming both keys", err)
	}
	if want := "Could not find: [" + c.keyFoo + ", " + c.keyBar + "]."; err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
	for _, k := range keys {
		if _, err := s.Get(c.ctx, k); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(%s): %v, want ErrNotFound", k, err)
		}
	}
	if err := s.Set(c.ctx, c.keyFoo, c.valueFoo, nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetMulti(c.ctx, keys)
	if !errors.As(err, &nf) || !reflect.DeepEqual(nf.Keys, []string{c.keyBar}) {
		t.Fatalf("GetMulti with one key missing: %v, want NotFound naming %s", err, c.keyBar)
	}
	// DeleteMulti ignores missing keys.
	if err := s.DeleteMulti(c.ctx, keys); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMulti(c.ctx, keys); err != nil {
		t.Fatalf("DeleteMulti of missing keys: %v", err)
	}
}

func TestKVSMultiGetSetDelete(t *testing.T) {
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memory")
	kvsMultiGetSetDelete(t, s)
}

func TestKVSLockingContextHandler(t *testing.T) {
	c, s, db, lockKey := setUpFixtureLock(t)
	if _, ok := db.get(lockKey); ok {
		t.Fatal("lock key present before locking")
	}
	lock := NewLock(s.mutex(c.keyFoo), c.keyFoo, true, 0)
	err := withLock(c.ctx, lock, func(*Lock) error {
		if v, ok := db.get(lockKey); !ok || v != 1 {
			t.Errorf("inside the lock: db[%s] = %v, %v; want 1", lockKey, v, ok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := db.get(lockKey); ok {
		t.Fatal("lock key present after the lock")
	}
}

func TestKVSLockingContextHandlerLockingDisabled(t *testing.T) {
	c, s, db, lockKey := setUpFixtureLock(t, WithLocking(false))
	if _, ok := db.get(lockKey); ok {
		t.Fatal("lock key present before locking")
	}
	lock := NewLock(s.mutex(c.keyFoo), c.keyFoo, false, 0)
	err := withLock(c.ctx, lock, func(l *Lock) error {
		if _, ok := db.get(lockKey); ok {
			t.Error("lock key present inside a disabled lock")
		}
		if !l.Active() {
			t.Error("disabled lock is not active")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := db.get(lockKey); ok {
		t.Fatal("lock key present after the lock")
	}
	// The store's own locks are disabled too.
	err = s.WithLock(c.ctx, c.keyFoo, func(l *Lock) error {
		if _, ok := db.get(lockKey); ok || l.Enabled() {
			t.Error("store lock took the mutex with locking disabled")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// shiftAcquired moves a lock's acquire time back, as Keystone's test does
// with lock.acquire_time.
func shiftAcquired(l *Lock, d time.Duration) {
	l.mu.Lock()
	l.acquired = l.acquired.Add(-d)
	l.mu.Unlock()
}

func TestKVSWithLockActionContextManagerTimeout(t *testing.T) {
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memory", WithArguments(region.Arguments{"lock_timeout": 5}))
	checkLockTimeouts(t, s)
}

// checkLockTimeouts writes under locks acquired 2s, 5s and 100s ago on a
// store with a 5s lock_timeout: the first write succeeds, the others fail
// with Keystone's LockTimeout message and write nothing.
func checkLockTimeouts(t *testing.T, s *KeyValueStore) {
	t.Helper()
	ctx := t.Context()
	for _, tc := range []struct {
		offset  time.Duration
		timeout bool
	}{{2 * time.Second, false}, {5 * time.Second, true}, {100 * time.Second, true}} {
		key := "foo_" + randomHex()
		err := s.WithLock(ctx, key, func(l *Lock) error {
			if !l.Active() {
				t.Error("lock not active")
			}
			shiftAcquired(l, tc.offset)
			return s.Set(ctx, key, "value", l)
		})
		switch {
		case !tc.timeout && err != nil:
			t.Errorf("offset %v: %v", tc.offset, err)
		case tc.timeout:
			var lt *LockTimeoutError
			if !errors.Is(err, ErrLockTimeout) || !errors.As(err, &lt) {
				t.Errorf("offset %v: %v, want ErrLockTimeout", tc.offset, err)
				continue
			}
			if want := "Lock Timeout occurred for key, " + key; err.Error() != want {
				t.Errorf("message = %q, want %q", err.Error(), want)
			}
			if _, gerr := s.Get(ctx, key); !errors.Is(gerr, ErrNotFound) {
				t.Errorf("offset %v: value written with an expired lock", tc.offset)
			}
		}
	}
}

func TestKVSWithLockActionMismatchedKeys(t *testing.T) {
	c := setUp(t)
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memory")
	err := s.WithLock(c.ctx, c.keyFoo, func(l *Lock) error {
		if !l.Active() {
			t.Error("lock not active")
		}
		return s.Set(c.ctx, c.keyBar, "value", l)
	})
	if !errors.Is(err, ErrLockKeyMismatch) {
		t.Fatalf("Set with another key's lock: %v, want ErrLockKeyMismatch", err)
	}
	if err := s.Delete(c.ctx, c.keyBar, s.GetLock(c.keyFoo)); !errors.Is(err, ErrLockKeyMismatch) {
		t.Fatalf("Delete with another key's lock: %v, want ErrLockKeyMismatch", err)
	}
}

func TestKVSWithLockActionContextManager(t *testing.T) {
	c, s, db, lockKey := setUpFixtureLock(t)
	err := s.WithLock(c.ctx, c.keyFoo, func(l *Lock) error {
		if !l.Active() {
			t.Error("lock not active")
		}
		if err := l.check(c.keyFoo); err != nil {
			return err
		}
		if v, ok := db.get(lockKey); !ok || v != 1 {
			t.Errorf("db[%s] = %v, %v; want 1", lockKey, v, ok)
		}
		return s.Set(c.ctx, c.keyFoo, c.valueFoo, l)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := db.get(lockKey); ok {
		t.Fatal("lock key present after the lock")
	}
	// Mangling is off: the region kept the mangler it took from the backend
	// when it was configured (as dogpile does), and the backend has none.
	if _, ok := db.get("KVSBackend_" + c.keyFoo); !ok {
		t.Error(`value not stored under "KVSBackend_"+key`)
	}
}

func TestKVSWithLockActionContextManagerNoLock(t *testing.T) {
	c, s, db, lockKey := setUpFixtureLock(t)
	if err := s.Set(c.ctx, c.keyFoo, c.valueFoo, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := db.get(lockKey); ok {
		t.Fatal("lock key written without a lock")
	}
	if err := s.Delete(c.ctx, c.keyFoo, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := db.get(lockKey); ok {
		t.Fatal("lock key written without a lock")
	}
}

func TestKVSBackendRegistrationDoesNotReregisterBackends(t *testing.T) {
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memory")
	registerBackends() // would panic on a duplicate registration
	registerBackends()
	for _, name := range []string{kvsFixture, kvsForcedFixture, kvsRecording, kvsLate, kvsMissing} {
		if !region.IsBackendRegistered(name) {
			t.Errorf("%s not registered", name)
		}
	}
}

// TestCacheRegionInit

func TestDifferentInstancesInitialization(t *testing.T) {
	// Keystone uses the fixed name "test-kvs" and relies on the weak
	// registry to hand each test an unconfigured store.
	name := "test-kvs-" + randomHex()
	store := GetKeyValueStore(name, nil)
	otherStore := GetKeyValueStore(name, nil)
	if store.IsConfigured() || otherStore.IsConfigured() {
		t.Fatal("new stores are configured")
	}
	mustConfigure(t, otherStore, "openstack.kvs.Memory")
	if !otherStore.IsConfigured() {
		t.Fatal("store not configured after Configure")
	}
	err := store.Configure("openstack.kvs.Memory")
	if !errors.Is(err, ErrAlreadyConfigured) {
		t.Fatalf("second Configure: %v, want ErrAlreadyConfigured", err)
	}
	if want := "KVS region " + name + " is already configured. Cannot reconfigure."; !strings.Contains(err.Error(), want) {
		t.Errorf("message %q does not contain %q", err.Error(), want)
	}
}

func TestKVSConfigureCalledTwice(t *testing.T) {
	// Keystone mocks KeyValueStore.configure and counts two calls: the
	// registry does not guard configure, only the configured check does.
	// Both calls reach the store here; the second is refused by that check.
	name := "test-kvs-" + randomHex()
	store := GetKeyValueStore(name, nil)
	otherStore := GetKeyValueStore(name, nil)
	if store != otherStore {
		t.Fatal("same name gave two stores")
	}
	calls, refused := 0, 0
	for _, s := range []*KeyValueStore{store, otherStore} {
		calls++
		if err := s.Configure("openstack.kvs.Memory"); errors.Is(err, ErrAlreadyConfigured) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if calls != 2 || refused != 1 {
		t.Fatalf("calls %d, refused %d; want 2 and 1", calls, refused)
	}
}

// generic turns the maps a generic read returns into map[string]any, so
// they compare with the values written. (region decodes MessagePack maps
// read into an interface as map[any]any.)
func generic(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = generic(e)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = generic(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = generic(e)
		}
		return s
	}
	return v
}
