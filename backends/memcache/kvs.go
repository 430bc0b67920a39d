package memcache

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// DefaultDriver is the memcached driver openstack.kvs.Memcached uses when
// no memcached_backend is given: this package's Backend.
const DefaultDriver = "memcached"

// DefaultKVSURL is the server openstack.kvs.Memcached uses when no url is
// given (Keystone's [memcache] servers default).
const DefaultKVSURL = "localhost:11211"

// DefaultMaxLockAttempts is openstack.kvs.Memcached's max_lock_attempts
// default, as in Keystone.
const DefaultMaxLockAttempts = 15

// Driver is a memcached client the openstack.kvs.Memcached backend stores
// through (Keystone's VALID_DOGPILE_BACKENDS entries). This package's
// *Backend is one, registered as "memcached" and "pooled_memcached".
//
// A driver's factory receives every argument of the KVS backend except
// memcached_backend, no_expiry_keys and use_backend_key_mangler, with
// distributed_lock set to true and lock_timeout and max_lock_attempts set to
// the values in use, so GetMutex must return a distributed lock honouring
// them (Keystone's MemcachedLock).
//
// A driver that also has a method ValidateItems(map[string][]byte) error
// (as *Backend does) lets the KVS backend check a whole batch before it
// writes any of it.
type Driver interface {
	region.BytesBackend
	// SetSerializedMultiTTL stores m with the given server-side lifetime
	// (zero: none), instead of the driver's own memcached_expire_time.
	SetSerializedMultiTTL(ctx context.Context, m map[string][]byte, ttl time.Duration) error
}

// DriverFactory builds a driver from the KVS backend's arguments. It must
// not modify args.
type DriverFactory func(args region.Arguments) (Driver, error)

var drivers = struct {
	sync.RWMutex
	m map[string]DriverFactory
}{m: map[string]DriverFactory{}}

// RegisterDriver makes a memcached driver available to the
// openstack.kvs.Memcached backend under name (its memcached_backend
// argument). Call it from an init function. It panics if name is empty, f
// is nil, or name is already registered.
func RegisterDriver(name string, f DriverFactory) {
	drivers.Lock()
	defer drivers.Unlock()
	if name == "" || f == nil {
		panic("memcache: RegisterDriver needs a name and a factory")
	}
	if _, dup := drivers.m[name]; dup {
		panic("memcache: RegisterDriver called twice for driver " + name)
	}
	drivers.m[name] = f
}

// Drivers returns the registered driver names, sorted.
func Drivers() []string {
	drivers.RLock()
	defer drivers.RUnlock()
	return slices.Sorted(maps.Keys(drivers.m))
}

func lookupDriver(name string) (DriverFactory, error) {
	drivers.RLock()
	f, ok := drivers.m[name]
	drivers.RUnlock()
	if !ok {
		return nil, &region.ArgumentError{
			Name:  "memcached_backend",
			Value: name,
			Want:  fmt.Sprintf("a valid memcached backend (valid backends: %s)", strings.Join(Drivers(), ",")),
			Err:   ErrUnknownDriver,
		}
	}
	return f, nil
}

// KVSBackend is Keystone's memcached KVS backend (openstack.kvs.Memcached):
// a front end that stores through a memcached Driver chosen by name, keeps
// some keys free of the server-side expiration (no_expiry_keys), and locks
// with the driver's distributed lock. The registered backend is a
// KVSBackend behind region.NewSerializedBackend.
//
// Its arguments:
//
//	memcached_backend        the driver's registered name (default "memcached")
//	no_expiry_keys           keys (before mangling) written without
//	                         memcached_expire_time: a list or comma string
//	lock_timeout             lifetime of a lock item (default 5s)
//	max_lock_attempts        attempts of a waiting lock (default 15;
//	                         0 = unlimited, where Keystone would fail at once)
//	url                      servers (default "localhost:11211")
//	use_backend_key_mangler  ask the kvs package to use this backend's key
//	                         mangler even over an explicit one (default false,
//	                         as Keystone's memcached backend)
//
// Every other argument (memcached_expire_time, socket_timeout, ...) goes to
// the driver. distributed_lock is ignored: the KVS backend always locks
// through memcached, as Keystone's does.
type KVSBackend struct {
	driver          Driver
	driverName      string
	lockTimeout     time.Duration
	maxLockAttempts int
	useBackendKM    bool

	mu       sync.RWMutex
	mangler  func(string) string // set by SetKeyMangler; nil: none
	raw      map[string]struct{} // no_expiry_keys as given
	noExpiry map[string]struct{} // the same keys, mangled: what writes compare against
}

// NewKVS builds the openstack.kvs.Memcached backend from its arguments
// (see KVSBackend). It does not modify args. An unknown memcached_backend
// is an error matching ErrUnknownDriver and region.ErrBadArgument that lists
// the registered drivers.
func NewKVS(args region.Arguments) (*KVSBackend, error) {
	raw, err := keySet(args, "no_expiry_keys")
	if err != nil {
		return nil, err
	}
	lockTimeout, err := args.Duration("lock_timeout", 0)
	if err != nil {
		return nil, err
	}
	attempts, err := args.Int("max_lock_attempts", DefaultMaxLockAttempts)
	if err != nil {
		return nil, err
	}
	if attempts < 0 {
		return nil, &region.ArgumentError{Name: "max_lock_attempts", Value: args["max_lock_attempts"], Want: "an integer of zero or more"}
	}
	useBackendKM, err := args.Bool("use_backend_key_mangler", false)
	if err != nil {
		return nil, err
	}
	name, err := args.String("memcached_backend", DefaultDriver)
	if err != nil {
		return nil, err
	}
	factory, err := lookupDriver(name)
	if err != nil {
		return nil, err
	}
	dargs := args.Without("no_expiry_keys", "memcached_backend", "use_backend_key_mangler")
	dargs["distributed_lock"] = true
	dargs["lock_timeout"] = lockTimeout
	dargs["max_lock_attempts"] = attempts
	if !dargs.Has("url") {
		dargs["url"] = DefaultKVSURL
	}
	d, err := factory(dargs)
	if err != nil {
		return nil, fmt.Errorf("memcached_backend %q: %w", name, err)
	}
	if d == nil {
		return nil, fmt.Errorf("memcached_backend %q: factory returned no driver", name)
	}
	b := &KVSBackend{
		driver:          d,
		driverName:      name,
		lockTimeout:     lockTimeout,
		maxLockAttempts: attempts,
		useBackendKM:    useBackendKM,
		raw:             raw,
		noExpiry:        maps.Clone(raw),
	}
	return b, nil
}

// keySet reads a set of keys: a list, a comma string, or a set given as a
// map[string]struct{} or map[string]bool (true entries).
func keySet(args region.Arguments, name string) (map[string]struct{}, error) {
	set := map[string]struct{}{}
	switch v := args[name].(type) {
	case map[string]struct{}:
		for k := range v {
			set[k] = struct{}{}
		}
		return set, nil
	case map[string]bool:
		for k, in := range v {
			if in {
				set[k] = struct{}{}
			}
		}
		return set, nil
	}
	keys, err := args.Strings(name, nil)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		set[k] = struct{}{}
	}
	return set, nil
}

// Driver returns the memcached driver in use.
func (b *KVSBackend) Driver() Driver { return b.driver }

// DriverName returns the driver's registered name (memcached_backend).
func (b *KVSBackend) DriverName() string { return b.driverName }

// LockTimeout returns the lock_timeout given to the driver (zero: the
// lock's default).
func (b *KVSBackend) LockTimeout() time.Duration { return b.lockTimeout }

// MaxLockAttempts returns the max_lock_attempts given to the driver.
func (b *KVSBackend) MaxLockAttempts() int { return b.maxLockAttempts }

// UseBackendKeyMangler reports whether this backend's key mangler should
// win over one given explicitly to the key-value store (Keystone's
// use_backend_key_mangler attribute). The kvs package checks for this
// method. It is false unless the use_backend_key_mangler argument is true,
// as for Keystone's memcached backend.
func (b *KVSBackend) UseBackendKeyMangler() bool { return b.useBackendKM }

// KeyMangler returns the mangler last given to SetKeyMangler, or else the
// driver's suggestion (region.SHA1MangleKey for this package's driver), as
// Keystone's key_mangler property does.
func (b *KVSBackend) KeyMangler() func(string) string {
	b.mu.RLock()
	m := b.mangler
	b.mu.RUnlock()
	if m != nil {
		return m
	}
	if km, ok := b.driver.(region.KeyMangler); ok {
		return km.KeyMangler()
	}
	return nil
}

// SetKeyMangler records the key mangler the region applies and recomputes
// the mangled no_expiry_keys from the raw ones; nil restores them to the
// raw keys. The region calls it when configured and whenever its mangler
// changes.
func (b *KVSBackend) SetKeyMangler(f func(string) string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mangler = f
	if f == nil {
		b.noExpiry = maps.Clone(b.raw)
		return
	}
	b.noExpiry = make(map[string]struct{}, len(b.raw))
	for k := range b.raw {
		b.noExpiry[f(k)] = struct{}{}
	}
}

// RawNoExpiryKeys returns the no_expiry_keys as configured, sorted.
func (b *KVSBackend) RawNoExpiryKeys() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return slices.Sorted(maps.Keys(b.raw))
}

// NoExpiryKeys returns the no_expiry_keys as written to the server (mangled
// with the current key mangler), sorted.
func (b *KVSBackend) NoExpiryKeys() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return slices.Sorted(maps.Keys(b.noExpiry))
}

// GetSerialized reads key through the driver.
func (b *KVSBackend) GetSerialized(ctx context.Context, key string) ([]byte, bool, error) {
	return b.driver.GetSerialized(ctx, key)
}

// GetSerializedMulti reads keys through the driver.
func (b *KVSBackend) GetSerializedMulti(ctx context.Context, keys []string) (map[string][]byte, error) {
	return b.driver.GetSerializedMulti(ctx, keys)
}

// SetSerialized writes key, without the server-side expiration when it is
// one of the no_expiry_keys.
func (b *KVSBackend) SetSerialized(ctx context.Context, key string, data []byte) error {
	return b.SetSerializedMulti(ctx, map[string][]byte{key: data})
}

// SetSerializedMulti writes m as Keystone does: the no_expiry_keys first,
// with no server-side expiration (the driver's SetSerializedMultiTTL with
// 0), then the others through the driver's SetSerializedMulti, which applies
// its memcached_expire_time. When the driver can validate a batch
// (ValidateItems), the whole of m is checked before either write.
func (b *KVSBackend) SetSerializedMulti(ctx context.Context, m map[string][]byte) error {
	if len(m) == 0 {
		return nil
	}
	if v, ok := b.driver.(interface {
		ValidateItems(map[string][]byte) error
	}); ok {
		if err := v.ValidateItems(m); err != nil {
			return err
		}
	}
	var ne, ex map[string][]byte
	b.mu.RLock()
	for k, v := range m {
		if _, no := b.noExpiry[k]; no {
			if ne == nil {
				ne = make(map[string][]byte)
			}
			ne[k] = v
		} else {
			if ex == nil {
				ex = make(map[string][]byte, len(m))
			}
			ex[k] = v
		}
	}
	b.mu.RUnlock()
	if ne != nil {
		if err := b.driver.SetSerializedMultiTTL(ctx, ne, 0); err != nil {
			return err
		}
	}
	if ex != nil {
		return b.driver.SetSerializedMulti(ctx, ex)
	}
	return nil
}

// Delete deletes key through the driver.
func (b *KVSBackend) Delete(ctx context.Context, key string) error {
	return b.driver.Delete(ctx, key)
}

// DeleteMulti deletes keys through the driver.
func (b *KVSBackend) DeleteMulti(ctx context.Context, keys []string) error {
	return b.driver.DeleteMulti(ctx, keys)
}

// GetMutex returns the driver's distributed lock for key (for this
// package's driver a memcachedmutex.Mutex with the KVS backend's
// lock_timeout and max_lock_attempts).
func (b *KVSBackend) GetMutex(key string) region.Mutex { return b.driver.GetMutex(key) }

// Close closes the driver if it implements io.Closer.
func (b *KVSBackend) Close() error {
	if c, ok := b.driver.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

var (
	_ region.BytesBackend     = (*KVSBackend)(nil)
	_ region.KeyMangler       = (*KVSBackend)(nil)
	_ region.KeyManglerSetter = (*KVSBackend)(nil)
)
