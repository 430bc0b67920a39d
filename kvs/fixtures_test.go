package kvs

// Fixtures from Keystone's test_kvs.py, registered under test-only names.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/region"
)

// Region backend names of the fixtures. TestMain lists the first two in
// Config.Backends, so stores see them as openstack.kvs.KVSBackendFixture
// and openstack.kvs.KVSBackendForcedKeyMangleFixture, as Keystone's test
// base registered "test_kvs.KVSBackendFixture".
const (
	fixtureBackend       = "kvstest.KVSBackendFixture"
	forcedFixtureBackend = "kvstest.KVSBackendForcedKeyMangleFixture"
	recordingMemory      = "kvstest.RecordingMemory"
	lateBackend          = "kvstest.late.LateBackend" // registered by a test, after the alias
	missingBackend       = "kvstest.missing.NoSuchBackend"

	kvsFixture       = BackendPrefix + "KVSBackendFixture"
	kvsForcedFixture = BackendPrefix + "KVSBackendForcedKeyMangleFixture"
	kvsRecording     = BackendPrefix + "RecordingMemory"
	kvsLate          = BackendPrefix + "LateBackend"
	kvsMissing       = BackendPrefix + "NoSuchBackend"

	proxyFixture  = "kvstest.RegionProxyFixture"
	proxy2Fixture = "kvstest.RegionProxy2Fixture"
)

func registerFixtures() {
	registerMemcacheFixtures()
	region.RegisterBackend(fixtureBackend, func(args region.Arguments) (region.Backend, error) {
		return newBackendFixture(args, false)
	})
	region.RegisterBackend(forcedFixtureBackend, func(args region.Arguments) (region.Backend, error) {
		return newBackendFixture(args, true)
	})
	region.RegisterBackend(recordingMemory, func(region.Arguments) (region.Backend, error) {
		return region.NewSerializedBackend(&manglerRecorder{Bytes: memory.NewBytes()}, nil), nil
	})
	region.RegisterProxy(proxyFixture, func() (region.Proxy, error) { return &regionProxyFixture{}, nil })
	region.RegisterProxy(proxy2Fixture, func() (region.Proxy, error) { return &regionProxy2Fixture{}, nil })
}

// writeOnceDB is the fixture's _db: setting an existing key fails.
type writeOnceDB struct {
	mu sync.Mutex
	m  map[string]any
}

func (db *writeOnceDB) set(key string, v any) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if _, ok := db.m[key]; ok {
		return fmt.Errorf("Key %s already exists", key)
	}
	db.m[key] = v
	return nil
}

func (db *writeOnceDB) get(key string) (any, bool) {
	db.mu.Lock()
	defer db.mu.Unlock()
	v, ok := db.m[key]
	return v, ok
}

func (db *writeOnceDB) pop(key string) {
	db.mu.Lock()
	defer db.mu.Unlock()
	delete(db.m, key)
}

// mutexFixture is Keystone's MutexFixture: it writes "_lock"+key into the
// fixture's db and never blocks.
type mutexFixture struct {
	db      *writeOnceDB
	key     string
	timeout time.Duration
}

func (m *mutexFixture) Acquire(context.Context, bool) (bool, error) {
	return m.db.set(m.key, 1) == nil, nil
}

func (m *mutexFixture) Release(context.Context) error {
	m.db.pop(m.key)
	return nil
}

func (m *mutexFixture) Locked(context.Context) (bool, error) {
	_, ok := m.db.get(m.key)
	return ok, nil
}

// backendFixture is KVSBackendFixture (forced == false) and
// KVSBackendForcedKeyMangleFixture (forced == true).
type backendFixture struct {
	db          *writeOnceDB
	forced      bool
	testArg     any
	lockTimeout any
	args        region.Arguments

	mu         sync.Mutex
	mangler    func(string) string
	manglerSet bool
}

func newBackendFixture(args region.Arguments, forced bool) (*backendFixture, error) {
	b := &backendFixture{db: &writeOnceDB{m: map[string]any{}}, forced: forced, args: args.Clone()}
	b.lockTimeout = 5
	if args.Has("lock_timeout") {
		b.lockTimeout = args["lock_timeout"]
	}
	b.testArg = args["test_arg"]
	return b, nil
}

func fixtureMangle(k string) string       { return "KVSBackend_" + k }
func forcedFixtureMangle(k string) string { return "KVSBackendForcedKeyMangle_" + k }

// KeyMangler is the class-level key_mangler, shadowed once one is set.
func (b *backendFixture) KeyMangler() func(string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.manglerSet {
		return b.mangler
	}
	if b.forced {
		return forcedFixtureMangle
	}
	return fixtureMangle
}

func (b *backendFixture) SetKeyMangler(f func(string) string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mangler, b.manglerSet = f, true
}

func (b *backendFixture) UseBackendKeyMangler() bool { return b.forced }

func (b *backendFixture) Get(_ context.Context, key string) (region.CachedValue, bool, error) {
	v, ok := b.db.get(key)
	if !ok {
		return region.CachedValue{}, false, nil
	}
	return v.(region.CachedValue), true, nil
}

func (b *backendFixture) GetMulti(ctx context.Context, keys []string) (map[string]region.CachedValue, error) {
	out := map[string]region.CachedValue{}
	for _, k := range keys {
		if v, ok, _ := b.Get(ctx, k); ok {
			out[k] = v
		}
	}
	return out, nil
}

func (b *backendFixture) Set(_ context.Context, key string, v region.CachedValue) error {
	return b.db.set(key, v)
}

func (b *backendFixture) SetMulti(ctx context.Context, m map[string]region.CachedValue) error {
	for k, v := range m {
		if err := b.Set(ctx, k, v); err != nil {
			return err
		}
	}
	return nil
}

func (b *backendFixture) Delete(_ context.Context, key string) error {
	b.db.pop(key)
	return nil
}

func (b *backendFixture) DeleteMulti(ctx context.Context, keys []string) error {
	for _, k := range keys {
		b.db.pop(k)
	}
	return nil
}

func (b *backendFixture) GetMutex(key string) region.Mutex {
	return &mutexFixture{db: b.db, key: "_lock" + key}
}

// manglerRecorder is the byte store of openstack.kvs.Memory that also
// remembers the key mangler it was told, like Python's backend.key_mangler
// attribute on inmemdb.MemoryBackend (which suggests none itself).
type manglerRecorder struct {
	*memory.Bytes

	mu      sync.Mutex
	mangler func(string) string
	calls   int
}

func (r *manglerRecorder) SetKeyMangler(f func(string) string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mangler = f
	r.calls++
}

func (r *manglerRecorder) current() func(string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mangler
}

type regionProxyFixture struct{ region.ProxyBackend }

type regionProxy2Fixture struct{ region.ProxyBackend }
