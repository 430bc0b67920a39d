package kvs

import (
	"context"

	"github.com/dogpile-go/dogpile/region"
)

// Get returns key's value. An absent key is a *NotFoundError (errors.Is
// ErrNotFound). Values from byte backends (openstack.kvs.Memory,
// openstack.kvs.Memcached) come back as isolated copies decoded into
// generic Go values (maps become map[string]any); use GetAs to decode into
// a type.
func (s *KeyValueStore) Get(ctx context.Context, key string) (any, error) {
	if err := s.assertConfigured(); err != nil {
		return nil, err
	}
	v, ok, err := s.region.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &NotFoundError{Keys: []string{key}}
	}
	return v, nil
}

// GetMulti returns the values of keys, in key order. If any key is absent
// the whole call fails with a *NotFoundError naming every absent key.
func (s *KeyValueStore) GetMulti(ctx context.Context, keys []string) ([]any, error) {
	if err := s.assertConfigured(); err != nil {
		return nil, err
	}
	vals, err := s.region.GetMulti(ctx, keys)
	if err != nil {
		return nil, err
	}
	var missing []string
	for i, v := range vals {
		if v == region.NoValue {
			missing = append(missing, keys[i])
		}
	}
	if missing != nil {
		return nil, &NotFoundError{Keys: missing}
	}
	return vals, nil
}

// Set stores value under key. With a lock, the lock must be for key
// (ErrLockKeyMismatch), acquired (ErrLockNotActive) and not expired
// (ErrLockTimeout); the checks are made once, before writing. With a nil
// lock nothing is checked or locked.
func (s *KeyValueStore) Set(ctx context.Context, key string, value any, lock *Lock) error {
	if err := s.assertConfigured(); err != nil {
		return err
	}
	if err := lock.check(key); err != nil {
		return err
	}
	return s.region.Set(ctx, key, value)
}

// SetMulti stores every key/value pair of m, without locking. An empty map
// does nothing.
func (s *KeyValueStore) SetMulti(ctx context.Context, m map[string]any) error {
	if err := s.assertConfigured(); err != nil {
		return err
	}
	return s.region.SetMulti(ctx, m)
}

// Delete removes key. An absent key is a *NotFoundError (so a second
// Delete fails). The lock is checked as in Set; the read that finds the key
// and the delete both happen after the check, under the caller's lock.
func (s *KeyValueStore) Delete(ctx context.Context, key string, lock *Lock) error {
	if err := s.assertConfigured(); err != nil {
		return err
	}
	if err := lock.check(key); err != nil {
		return err
	}
	if _, err := s.Get(ctx, key); err != nil {
		return err
	}
	return s.region.Delete(ctx, key)
}

// DeleteMulti removes keys, without locking; absent keys are ignored.
func (s *KeyValueStore) DeleteMulti(ctx context.Context, keys []string) error {
	if err := s.assertConfigured(); err != nil {
		return err
	}
	return s.region.DeleteMulti(ctx, keys)
}

// WithLock runs fn holding key's lock (Keystone's "with
// kvs.get_lock(key) as lock:"): it acquires a lock from GetLock, calls fn
// with it (pass it on to Set and Delete), and releases it afterwards, also
// when fn returns an error or panics. An error from Release is joined to
// fn's. If the lock cannot be acquired fn is not called.
//
//	err := s.WithLock(ctx, "counter", func(l *kvs.Lock) error {
//		n, err := kvs.GetAs[int](ctx, s, "counter")
//		if err != nil { return err }
//		return s.Set(ctx, "counter", n+1, l)
//	})
func (s *KeyValueStore) WithLock(ctx context.Context, key string, fn func(*Lock) error) error {
	return withLock(ctx, s.GetLock(key), fn)
}

// GetAs returns key's value as a T. Values from byte backends are decoded
// straight into T. An absent key is a *NotFoundError; a value of another
// type is a *region.TypeError (errors.Is region.ErrTypeMismatch).
func GetAs[T any](ctx context.Context, s *KeyValueStore, key string) (T, error) {
	var zero T
	if err := s.assertConfigured(); err != nil {
		return zero, err
	}
	v, ok, err := region.GetAs[T](ctx, s.region, key)
	if err != nil {
		return zero, err
	}
	if !ok {
		return zero, &NotFoundError{Keys: []string{key}}
	}
	return v, nil
}

// GetMultiAs returns the values of keys as Ts, in key order, in one backend
// call. If any key is absent the whole call fails with a *NotFoundError
// naming every absent key.
func GetMultiAs[T any](ctx context.Context, s *KeyValueStore, keys []string) ([]T, error) {
	if err := s.assertConfigured(); err != nil {
		return nil, err
	}
	out, found, err := region.GetMultiAs[T](ctx, s.region, keys)
	if err != nil {
		return nil, err
	}
	var missing []string
	for i, ok := range found {
		if !ok {
			missing = append(missing, keys[i])
		}
	}
	if missing != nil {
		return nil, &NotFoundError{Keys: missing}
	}
	return out, nil
}
