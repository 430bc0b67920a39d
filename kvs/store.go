package kvs

import (
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/region"
)

// KeyValueStore is a named key-value store on top of a region, Keystone's
// KeyValueStore: values never expire, keys are mangled (SHA-1 by default),
// reads of absent keys are ErrNotFound, and writes can be guarded by a
// per-key Lock. Get one with GetKeyValueStore and configure it once with
// Configure; all methods are safe for concurrent use.
type KeyValueStore struct {
	region *region.Region
	locks  *lockmutex.Registry // in-process mutexes for backends without one

	configMu sync.Mutex // serializes Configure and setKeyMangler
	settings atomic.Pointer[storeSettings]
}

// storeSettings are what Configure decided for locks.
type storeSettings struct {
	locking     bool
	lockTimeout time.Duration
}

// The process-wide store registry, Keystone's REGISTRY: a
// WeakValueDictionary. Entries hold the stores weakly; a cleanup removes
// the entry of a store that was collected.
var stores = struct {
	sync.Mutex
	m map[string]weak.Pointer[KeyValueStore]
}{m: map[string]weak.Pointer[KeyValueStore]{}}

type storeEntry struct {
	name   string
	wp     weak.Pointer[KeyValueStore]
	region *region.Region // the region the store made itself (closed with it), or nil
}

// GetKeyValueStore returns the store registered under name, making it when
// there is none: on r, or on a new region of that name when r is nil. As
// long as anyone holds the store, every call with that name returns the
// same store (so its configuration is shared); once nobody does, it can be
// collected and the next call makes a new, unconfigured one. r is ignored
// when the store already exists. Safe for concurrent use.
//
// The first call of the process registers the backends of
// Config.Backends.
func GetKeyValueStore(name string, r *region.Region) *KeyValueStore {
	registerBackends()
	stores.Lock()
	defer stores.Unlock()
	if wp, ok := stores.m[name]; ok {
		if s := wp.Value(); s != nil {
			return s
		}
	}
	var own *region.Region
	if r == nil {
		r = region.New(name)
		own = r
	}
	s := &KeyValueStore{region: r, locks: lockmutex.NewRegistry()}
	s.settings.Store(&storeSettings{locking: true})
	wp := weak.Make(s)
	stores.m[name] = wp
	runtime.AddCleanup(s, forgetStore, storeEntry{name: name, wp: wp, region: own})
	slog.Debug("kvs: key value store created (Keystone's KVS is deprecated; the Go port keeps its behaviour)", "name", name)
	return s
}

// forgetStore drops a collected store's registry entry, unless the name
// has been given to a new store since.
func forgetStore(e storeEntry) {
	stores.Lock()
	if cur, ok := stores.m[e.name]; ok && cur == e.wp {
		delete(stores.m, e.name)
	}
	stores.Unlock()
	// Nothing else can reach a region the store made itself: stop what its
	// backend started (sweepers, connections).
	if e.region != nil {
		_ = e.region.Close()
	}
}

// registeredStores returns how many names the registry holds (for tests).
func registeredStores() int {
	stores.Lock()
	defer stores.Unlock()
	return len(stores.m)
}

// Region returns the region under the store.
func (s *KeyValueStore) Region() *region.Region { return s.region }

// Name returns the store's name (its region's name).
func (s *KeyValueStore) Name() string { return s.region.Name() }

// IsConfigured reports whether the store has a backend. As in Keystone it
// is true as soon as the backend was made, even when Configure failed
// afterwards (applying proxies), and such a store cannot be configured
// again.
func (s *KeyValueStore) IsConfigured() bool { return s.region.IsConfigured() }

// Locking reports whether the store's locks take their mutex (Configure's
// WithLocking; true until configured otherwise).
func (s *KeyValueStore) Locking() bool { return s.settings.Load().locking }

// LockTimeout returns the timeout of the store's locks: Configure's
// "lock_timeout" argument, else Config.DefaultLockTimeout (0 before
// Configure; 0 also means locks never expire).
func (s *KeyValueStore) LockTimeout() time.Duration { return s.settings.Load().lockTimeout }

func (s *KeyValueStore) assertConfigured() error {
	if !s.region.IsConfigured() {
		return notConfigured(s.region.Name())
	}
	return nil
}

// mutex returns the mutex for key's lock: the backend's for the raw,
// unmangled key (Keystone's _create_mutex), or the store's in-process one.
func (s *KeyValueStore) mutex(key string) region.Mutex {
	if b := s.region.Backend(); b != nil {
		if m := b.GetMutex(key); m != nil {
			return m
		}
	}
	return s.locks.Mutex(key)
}

// GetLock returns an unacquired lock on key with the store's mutex, locking
// setting and lock timeout. On a store that is not configured, the lock's
// Acquire returns ErrNotConfigured.
func (s *KeyValueStore) GetLock(key string) *Lock {
	if err := s.assertConfigured(); err != nil {
		l := NewLock(nil, key, false, 0)
		l.err = err
		return l
	}
	st := s.settings.Load()
	return NewLock(s.mutex(key), key, st.locking, st.lockTimeout)
}

// String returns a description of the store for logs and debugging.
func (s *KeyValueStore) String() string {
	return fmt.Sprintf("kvs.KeyValueStore(%q)", s.region.Name())
}
