package lockmutex

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
)

const registryShards = 64

// Registry hands out in-process mutexes, one per key. A key's mutex exists
// only while someone holds it or waits for it, so the registry's memory
// stays flat however many distinct keys pass through it. The zero value is
// not usable; call NewRegistry.
//
// Like dogpile's per-key threading.Lock, the lock is not owned by a
// goroutine: any goroutine may release it.
type Registry struct {
	seed   maphash.Seed
	shards [registryShards]registryShard
}

type registryShard struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	refs int           // holders plus waiters; guarded by the shard's mu
	sem  chan struct{} // holds a token while the lock is held
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	r := &Registry{seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].locks = make(map[string]*keyLock)
	}
	return r
}

func (r *Registry) shard(key string) *registryShard {
	return &r.shards[maphash.String(r.seed, key)%registryShards]
}

// ref returns key's lock with its reference count raised.
func (s *registryShard) ref(key string) *keyLock {
	s.mu.Lock()
	l := s.locks[key]
	if l == nil {
		l = &keyLock{sem: make(chan struct{}, 1)}
		s.locks[key] = l
	}
	l.refs++
	s.mu.Unlock()
	return l
}

// unref drops a reference and forgets the lock when nobody needs it.
func (s *registryShard) unref(key string, l *keyLock) {
	s.mu.Lock()
	l.refs--
	if l.refs == 0 {
		delete(s.locks, key)
	}
	s.mu.Unlock()
}

// Acquire takes key's lock. With wait == false it tries once; with
// wait == true it waits until the lock is free or ctx ends, returning
// ctx.Err() in that case.
func (r *Registry) Acquire(ctx context.Context, key string, wait bool) (bool, error) {
	s := r.shard(key)
	l := s.ref(key)
	select {
	case l.sem <- struct{}{}:
		return true, nil
	default:
	}
	if !wait {
		s.unref(key, l)
		return false, nil
	}
	select {
	case l.sem <- struct{}{}:
		return true, nil
	case <-ctx.Done():
		s.unref(key, l)
		return false, ctx.Err()
	}
}

// Release gives key's lock back. Releasing a lock that is not held is an
// error.
func (r *Registry) Release(key string) error {
	s := r.shard(key)
	s.mu.Lock()
	l := s.locks[key]
	if l == nil || len(l.sem) == 0 {
		s.mu.Unlock()
		return fmt.Errorf("%w: key %q", ErrNotHeld, key)
	}
	<-l.sem
	l.refs--
	if l.refs == 0 {
		delete(s.locks, key)
	}
	s.mu.Unlock()
	return nil
}

// Locked reports whether key's lock is held.
func (r *Registry) Locked(key string) bool {
	s := r.shard(key)
	s.mu.Lock()
	l := s.locks[key]
	held := l != nil && len(l.sem) > 0
	s.mu.Unlock()
	return held
}

// Len returns how many keys currently have a lock (held or waited for).
func (r *Registry) Len() int {
	n := 0
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		n += len(s.locks)
		s.mu.Unlock()
	}
	return n
}

// Mutex returns key's lock as a mutex value with the Acquire / Release /
// Locked methods of region.Mutex.
func (r *Registry) Mutex(key string) *KeyMutex {
	return &KeyMutex{registry: r, key: key}
}

// KeyMutex is one key's in-process lock, from Registry.Mutex. It satisfies
// region.Mutex.
type KeyMutex struct {
	registry *Registry
	key      string
}

// Acquire takes the lock; see Registry.Acquire.
func (m *KeyMutex) Acquire(ctx context.Context, wait bool) (bool, error) {
	return m.registry.Acquire(ctx, m.key, wait)
}

// Release gives the lock back.
func (m *KeyMutex) Release(context.Context) error { return m.registry.Release(m.key) }

// Locked reports whether the lock is held.
func (m *KeyMutex) Locked(context.Context) (bool, error) { return m.registry.Locked(m.key), nil }

// Key returns the key this mutex guards.
func (m *KeyMutex) Key() string { return m.key }
