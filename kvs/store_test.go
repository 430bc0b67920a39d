package kvs

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/region"
)

func TestGetKeyValueStoreSameName(t *testing.T) {
	name := "kvstest-" + randomHex()
	r := region.New(name)
	s1 := GetKeyValueStore(name, r)
	if s1.Region() != r {
		t.Fatal("store is not on the given region")
	}
	s2 := GetKeyValueStore(name, region.New("other")) // ignored: the name exists
	if s1 != s2 || s2.Region() != r {
		t.Fatal("same name gave another store")
	}
	if s1.Name() != name || s1.IsConfigured() || !s1.Locking() || s1.LockTimeout() != 0 {
		t.Fatalf("new store: name %q configured %v locking %v timeout %v", s1.Name(), s1.IsConfigured(), s1.Locking(), s1.LockTimeout())
	}
	if GetKeyValueStore("kvstest-"+randomHex(), nil) == s1 {
		t.Fatal("another name gave the same store")
	}
	runtime.KeepAlive(s1)
}

// TestGetKeyValueStoreCollected: a store nobody holds is collected and its
// registry entry dropped; the next call makes a new, unconfigured store.
func TestGetKeyValueStoreCollected(t *testing.T) {
	name := "kvstest-" + randomHex()
	before := registeredStores()
	func() {
		s := GetKeyValueStore(name, nil)
		if err := s.Configure("openstack.kvs.Memory"); err != nil {
			t.Fatal(err)
		}
	}()
	gone := false
	for range 200 {
		runtime.GC()
		if !hasStore(name) {
			gone = true
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !gone {
		t.Fatal("store entry not dropped after the store became unreachable")
	}
	if after := registeredStores(); after > before {
		t.Errorf("registry holds %d names, %d before", after, before)
	}
	s := GetKeyValueStore(name, nil)
	if s.IsConfigured() {
		t.Fatal("store made after collection is configured")
	}
	// A held store is never collected.
	for range 3 {
		runtime.GC()
	}
	if GetKeyValueStore(name, nil) != s {
		t.Fatal("held store replaced")
	}
	runtime.KeepAlive(s)
}

func hasStore(name string) bool {
	stores.Lock()
	defer stores.Unlock()
	_, ok := stores.m[name]
	return ok
}

// TestConfigureRace: many goroutines get and configure one new name at
// once; exactly one Configure wins.
func TestConfigureRace(t *testing.T) {
	const n = 64
	name := "kvstest-" + randomHex()
	got := make([]*KeyValueStore, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			got[i] = GetKeyValueStore(name, nil)
			errs[i] = got[i].Configure("openstack.kvs.Memory")
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for i := range n {
		if got[i] != got[0] {
			t.Fatal("goroutines got different stores")
		}
		switch {
		case errs[i] == nil:
			ok++
		case !errors.Is(errs[i], ErrAlreadyConfigured):
			t.Errorf("goroutine %d: %v", i, errs[i])
		}
	}
	if ok != 1 {
		t.Fatalf("%d Configure calls succeeded, want 1", ok)
	}
}

func TestNotConfigured(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	checks := map[string]error{}
	_, checks["Get"] = s.Get(ctx, "k")
	_, checks["GetMulti"] = s.GetMulti(ctx, []string{"k"})
	checks["Set"] = s.Set(ctx, "k", 1, nil)
	checks["SetMulti"] = s.SetMulti(ctx, map[string]any{"k": 1})
	checks["Delete"] = s.Delete(ctx, "k", nil)
	checks["DeleteMulti"] = s.DeleteMulti(ctx, []string{"k"})
	checks["GetLock.Acquire"] = s.GetLock("k").Acquire(ctx)
	checks["WithLock"] = s.WithLock(ctx, "k", func(*Lock) error { t.Error("fn called"); return nil })
	_, checks["GetAs"] = GetAs[int](ctx, s, "k")
	_, checks["GetMultiAs"] = GetMultiAs[int](ctx, s, []string{"k"})
	checks["setKeyMangler"] = s.setKeyMangler(identity)
	for name, err := range checks {
		if !errors.Is(err, ErrNotConfigured) {
			t.Errorf("%s: %v, want ErrNotConfigured", name, err)
		} else if !strings.Contains(err.Error(), s.Name()) {
			t.Errorf("%s: message %q does not name the store", name, err)
		}
	}
}

func TestConfigureUnknownBackend(t *testing.T) {
	s := newStore(t)
	err := s.Configure("no.such.backend")
	if !errors.Is(err, region.ErrPluginNotFound) {
		t.Fatalf("%v, want region.ErrPluginNotFound", err)
	}
	if s.IsConfigured() {
		t.Fatal("configured after an unknown backend")
	}
	mustConfigure(t, s, "openstack.kvs.Memory")
}

func TestConfigurePreconfiguredRegion(t *testing.T) {
	name := "kvstest-" + randomHex()
	r := region.New(name)
	if err := r.Configure("memory"); err != nil {
		t.Fatal(err)
	}
	s := GetKeyValueStore(name, r)
	if !s.IsConfigured() {
		t.Fatal("store on a configured region is not configured")
	}
	if err := s.Configure("openstack.kvs.Memory"); !errors.Is(err, ErrAlreadyConfigured) {
		t.Fatalf("%v, want ErrAlreadyConfigured", err)
	}
}

// TestConfigureArguments: the backend receives the arguments, lock_timeout
// plus LockWindow in seconds and distributed_lock true; the store keeps the
// lock timeout itself.
func TestConfigureArguments(t *testing.T) {
	for _, tc := range []struct {
		name        string
		args        region.Arguments
		wantBackend any
		wantStore   time.Duration
		wantDist    any
	}{
		{"default", region.Arguments{"test_arg": 100}, 6, 5 * time.Second, true},
		{"int", region.Arguments{"lock_timeout": 10}, 11, 10 * time.Second, true},
		{"string", region.Arguments{"lock_timeout": "7"}, 8, 7 * time.Second, true},
		{"duration", region.Arguments{"lock_timeout": 2500 * time.Millisecond}, 3.5, 2500 * time.Millisecond, true},
		{"zero", region.Arguments{"lock_timeout": 0}, 0, 0, true},
		{"distributed_lock", region.Arguments{"distributed_lock": false}, 6, 5 * time.Second, false},
		{"distributed_lock string", region.Arguments{"distributed_lock": "False"}, 6, 5 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			args := tc.args.Clone()
			mustConfigure(t, s, kvsFixture, WithArguments(tc.args))
			if !reflect.DeepEqual(tc.args, args) {
				t.Errorf("arguments modified: %v", tc.args)
			}
			b := fixtureOf(t, s)
			if b.lockTimeout != tc.wantBackend {
				t.Errorf("backend lock_timeout = %#v, want %#v", b.lockTimeout, tc.wantBackend)
			}
			if got := b.args["distributed_lock"]; got != tc.wantDist {
				t.Errorf("backend distributed_lock = %#v, want %#v", got, tc.wantDist)
			}
			if s.LockTimeout() != tc.wantStore {
				t.Errorf("store lock timeout = %v, want %v", s.LockTimeout(), tc.wantStore)
			}
			if l := s.GetLock("k"); l.Timeout() != tc.wantStore || !l.Enabled() {
				t.Errorf("lock timeout %v enabled %v", l.Timeout(), l.Enabled())
			}
		})
	}
	s := newStore(t)
	if err := s.Configure(kvsFixture, WithArguments(region.Arguments{"lock_timeout": -1})); !errors.Is(err, region.ErrBadArgument) {
		t.Errorf("negative lock_timeout: %v, want region.ErrBadArgument", err)
	}
	if s.IsConfigured() {
		t.Error("configured with a bad lock_timeout")
	}
	// WithArguments twice merges.
	s2 := newStore(t)
	mustConfigure(t, s2, kvsFixture, WithArguments(region.Arguments{"test_arg": 1, "lock_timeout": 3}), WithArguments(region.Arguments{"test_arg": 2}))
	if b := fixtureOf(t, s2); b.testArg != 2 || b.lockTimeout != 4 {
		t.Errorf("merged arguments: test_arg %v lock_timeout %v", b.testArg, b.lockTimeout)
	}
}

func TestConfigSettings(t *testing.T) {
	t.Run("DefaultLockTimeout", func(t *testing.T) {
		withConfig(t, func(c *Config) { c.DefaultLockTimeout = 9 * time.Second })
		s := newStore(t)
		mustConfigure(t, s, kvsFixture)
		if s.LockTimeout() != 9*time.Second || fixtureOf(t, s).lockTimeout != 10 {
			t.Errorf("store %v backend %v", s.LockTimeout(), fixtureOf(t, s).lockTimeout)
		}
	})
	t.Run("ZeroDefaultLockTimeout", func(t *testing.T) {
		withConfig(t, func(c *Config) { c.DefaultLockTimeout = 0 })
		s := newStore(t)
		mustConfigure(t, s, kvsFixture)
		if s.LockTimeout() != 0 || fixtureOf(t, s).lockTimeout != 0 {
			t.Errorf("store %v backend %v", s.LockTimeout(), fixtureOf(t, s).lockTimeout)
		}
		l := s.GetLock("k")
		if err := l.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		shiftAcquired(l, 1000*time.Hour)
		if l.Expired() {
			t.Error("lock with timeout 0 expired")
		}
		if err := l.Release(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ConfigPrefix", func(t *testing.T) {
		withConfig(t, func(c *Config) { c.ConfigPrefix = "my.app.kvs" })
		s := newStore(t)
		mustConfigure(t, s, kvsFixture, WithArguments(region.Arguments{"test_arg": "x"}))
		if fixtureOf(t, s).testArg != "x" {
			t.Error("arguments lost with another prefix")
		}
		if got := regionConfig("my.app.kvs", "b", region.Arguments{"a": 1}); !reflect.DeepEqual(got, map[string]any{
			"my.app.kvs.backend": "b", "my.app.kvs.arguments.a": 1,
		}) {
			t.Errorf("region config = %v", got)
		}
	})
	t.Run("SetConfig", func(t *testing.T) {
		old := CurrentConfig()
		if err := SetConfig(Config{DefaultLockTimeout: -time.Second}); !errors.Is(err, region.ErrBadArgument) {
			t.Errorf("negative timeout: %v", err)
		}
		if !reflect.DeepEqual(CurrentConfig(), old) {
			t.Error("a refused SetConfig changed the settings")
		}
		withConfig(t, func(c *Config) { c.ConfigPrefix = "" })
		if CurrentConfig().ConfigPrefix != DefaultConfigPrefix {
			t.Errorf("empty prefix gave %q", CurrentConfig().ConfigPrefix)
		}
	})
	t.Run("DefaultConfig", func(t *testing.T) {
		want := Config{ConfigPrefix: "keystone.kvs", EnableKeyMangler: true, DefaultLockTimeout: 5 * time.Second}
		if got := DefaultConfig(); !reflect.DeepEqual(got, want) {
			t.Errorf("DefaultConfig() = %+v", got)
		}
	})
	t.Run("ParseConfig", func(t *testing.T) {
		c, err := ParseConfig(map[string]string{
			"backends":             "a.B, c.D",
			"config_prefix":        "x.kvs",
			"enable_key_mangler":   "False",
			"default_lock_timeout": "12",
		})
		if err != nil {
			t.Fatal(err)
		}
		want := Config{Backends: []string{"a.B", "c.D"}, ConfigPrefix: "x.kvs", DefaultLockTimeout: 12 * time.Second}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("ParseConfig = %+v, want %+v", c, want)
		}
		if c, err := ParseConfig(nil); err != nil || !reflect.DeepEqual(c, DefaultConfig()) {
			t.Errorf("ParseConfig(nil) = %+v, %v", c, err)
		}
		for _, bad := range []map[string]string{
			{"default_lock_timeout": "-1"},
			{"default_lock_timeout": "soon"},
			{"enable_key_mangler": "maybe"},
			{"no_such_option": "1"},
		} {
			if _, err := ParseConfig(bad); !errors.Is(err, region.ErrBadArgument) {
				t.Errorf("ParseConfig(%v): %v, want region.ErrBadArgument", bad, err)
			}
		}
	})
}

// TestConfigBackends: the aliases of Config.Backends resolve when a store
// is configured, so a backend registered later works and a missing one is
// reported then.
func TestConfigBackends(t *testing.T) {
	if !region.IsBackendRegistered(lateBackend) {
		region.RegisterBackend(lateBackend, func(region.Arguments) (region.Backend, error) {
			return memory.New(memory.Options{}), nil
		})
	}
	s := newStore(t)
	mustConfigure(t, s, kvsLate)
	if _, ok := s.Region().ActualBackend().(*memory.Backend); !ok {
		t.Fatalf("backend is %T", s.Region().ActualBackend())
	}
	if err := s.Set(t.Context(), "k", "v", nil); err != nil {
		t.Fatal(err)
	}

	m := newStore(t)
	err := m.Configure(kvsMissing)
	if !errors.Is(err, region.ErrPluginNotFound) || !strings.Contains(err.Error(), missingBackend) {
		t.Fatalf("%v, want ErrPluginNotFound naming %s", err, missingBackend)
	}
	if m.IsConfigured() {
		t.Fatal("configured with a missing backend")
	}
	// Config.Backends is read once: changing it later registers nothing.
	withConfig(t, func(c *Config) { c.Backends = append(c.Backends, "kvstest.never.Registered") })
	GetKeyValueStore("kvstest-"+randomHex(), nil)
	if region.IsBackendRegistered(BackendPrefix + "Registered") {
		t.Fatal("Config.Backends re-read after the first store")
	}
}

func TestProxies(t *testing.T) {
	t.Run("Values", func(t *testing.T) {
		s := newStore(t)
		p1, p2 := &regionProxyFixture{}, &regionProxy2Fixture{}
		mustConfigure(t, s, "openstack.kvs.Memory", WithProxies(p1), WithProxies(p2))
		if s.Region().Backend() != p1 || p1.Proxied != p2 || p2.Proxied != s.Region().ActualBackend() {
			t.Fatal("proxies not applied first-outermost")
		}
	})
	t.Run("Mixed", func(t *testing.T) {
		s := newStore(t)
		counter := &countingProxy{}
		mustConfigure(t, s, "openstack.kvs.Memory",
			WithProxies(counter),
			WithProxyNames(proxy2Fixture),
			WithProxies(&regionProxyFixture{}, &regionProxy2Fixture{}),
		)
		var chain []string
		for b := s.Region().Backend(); b != nil; {
			chain = append(chain, reflect.TypeOf(b).String())
			u, ok := b.(interface{ Unwrap() region.Backend })
			if !ok {
				break
			}
			b = u.Unwrap()
		}
		want := []string{"*kvs.countingProxy", "*kvs.regionProxy2Fixture", "*kvs.regionProxyFixture", "*kvs.regionProxy2Fixture", "*region.SerializedBackend"}
		if !reflect.DeepEqual(chain, want) {
			t.Fatalf("chain = %v, want %v", chain, want)
		}
		if err := s.Set(t.Context(), "k", 1, nil); err != nil {
			t.Fatal(err)
		}
		if counter.sets.Load() != 1 {
			t.Error("outermost proxy did not see the set")
		}
	})
	t.Run("Nil", func(t *testing.T) {
		var typedNil *regionProxyFixture
		for _, p := range []region.Proxy{nil, typedNil} {
			err := newStore(t).Configure("openstack.kvs.Memory", WithProxies(p))
			if !errors.Is(err, region.ErrBadArgument) {
				t.Fatalf("WithProxies(%#v): %v, want region.ErrBadArgument", p, err)
			}
		}
	})
	t.Run("UnknownName", func(t *testing.T) {
		s := newStore(t)
		err := s.Configure("openstack.kvs.Memory", WithProxyNames("kvstest.NoSuchProxy"))
		if !errors.Is(err, region.ErrPluginNotFound) {
			t.Fatalf("%v, want region.ErrPluginNotFound", err)
		}
		// As in Keystone, the backend was made: configured, without proxies.
		if !s.IsConfigured() || s.Region().Backend() != s.Region().ActualBackend() {
			t.Fatal("want a configured store without proxies")
		}
		if err := s.Configure("openstack.kvs.Memory"); !errors.Is(err, ErrAlreadyConfigured) {
			t.Fatalf("reconfigure: %v", err)
		}
	})
}

type countingProxy struct {
	region.ProxyBackend
	sets atomic.Int64
}

func (p *countingProxy) Set(ctx context.Context, key string, v region.CachedValue) error {
	p.sets.Add(1)
	return p.Proxied.Set(ctx, key, v)
}

func TestKeyManglerExplicit(t *testing.T) {
	s := newStore(t)
	mustConfigure(t, s, kvsFixture, WithKeyMangler(identity))
	if !sameFunc(s.Region().KeyMangler(), identity) || !sameFunc(fixtureOf(t, s).KeyMangler(), identity) {
		t.Fatal("explicit mangler not on region and backend")
	}
	ctx := t.Context()
	if err := s.Set(ctx, "plain", "v", nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := fixtureOf(t, s).db.get("plain"); !ok {
		t.Fatal("value not stored under the identity-mangled key")
	}
	// Default SHA-1: the backend sees the digest.
	d := newStore(t)
	mustConfigure(t, d, kvsRecording)
	if err := d.Set(ctx, "plain", "v", nil); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := recorderOf(t, d).GetSerialized(ctx, region.SHA1MangleKey("plain")); !ok {
		t.Fatal("value not stored under the SHA-1 of the key")
	}
	// Lock keys are not mangled.
	f := newStore(t)
	mustConfigure(t, f, kvsFixture)
	err := f.WithLock(ctx, "raw", func(*Lock) error {
		if _, ok := fixtureOf(t, f).db.get("_lockraw"); !ok {
			t.Error("lock key mangled")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type token struct {
	ID    string
	User  string
	Roles []string
}

func testTypedReads(t *testing.T, s *KeyValueStore) {
	ctx := t.Context()
	a := token{ID: "a-" + randomHex(), User: "alice", Roles: []string{"admin"}}
	b := token{ID: "b-" + randomHex(), User: "bob", Roles: []string{"member", "reader"}}
	if err := s.SetMulti(ctx, map[string]any{a.ID: a, b.ID: b}); err != nil {
		t.Fatal(err)
	}
	got, err := GetAs[token](ctx, s, a.ID)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("GetAs = %+v, %v", got, err)
	}
	all, err := GetMultiAs[token](ctx, s, []string{b.ID, a.ID})
	if err != nil || !reflect.DeepEqual(all, []token{b, a}) {
		t.Fatalf("GetMultiAs = %+v, %v", all, err)
	}
	if _, err := GetAs[token](ctx, s, "missing-"+randomHex()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetAs of a missing key: %v", err)
	}
	missing := []string{"m1-" + randomHex(), "m2-" + randomHex()}
	_, err = GetMultiAs[token](ctx, s, []string{missing[0], a.ID, missing[1]})
	var nf *NotFoundError
	if !errors.As(err, &nf) || !reflect.DeepEqual(nf.Keys, missing) {
		t.Fatalf("GetMultiAs with missing keys: %v", err)
	}
	if err := s.Set(ctx, "n-"+a.ID, 7, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := GetAs[token](ctx, s, "n-"+a.ID); !errors.Is(err, region.ErrTypeMismatch) {
		t.Fatalf("GetAs of another type: %v, want region.ErrTypeMismatch", err)
	}
	if vals, err := GetMultiAs[token](ctx, s, nil); err != nil || len(vals) != 0 {
		t.Fatalf("GetMultiAs(nil) = %v, %v", vals, err)
	}
	if vals, err := s.GetMulti(ctx, nil); err != nil || len(vals) != 0 {
		t.Fatalf("GetMulti(nil) = %v, %v", vals, err)
	}
}

func TestTypedReadsMemory(t *testing.T) {
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memory")
	testTypedReads(t, s)
}
