package gocache

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/eko/gocache/lib/v4/store"

	"github.com/dogpile-go/dogpile/region"
)

// TypeRegion is the GetType() of the stores NewStore and NewStoreOf return.
const TypeRegion = "dogpile"

// ErrTagsUnsupported is returned by a region store's Set and Invalidate when
// given gocache tags: a region has no tag index to invalidate by. It matches
// errors.ErrUnsupported too.
var ErrTagsUnsupported = fmt.Errorf("gocache: a dogpile region store does not support tags: %w", errors.ErrUnsupported)

// RegionStore is a gocache store (store.StoreInterface) that reads and
// writes through a region, with the region's key mangler, proxies,
// expiration and invalidation, so a region can be one layer of a gocache
// cache.NewChain or the cache of a cache.NewLoadable. T is the type values
// are read as (see NewStoreOf); NewStore uses any.
//
// Mapping of the store methods:
//
//   - Get and GetWithTTL read with the region's Get (or region.GetAs[T]); a
//     key with no usable value (absent, expired, invalidated) is a miss,
//     returned as store.NotFound. GetWithTTL's TTL is the time left until
//     the value expires by the region's expiration time (0 when the region
//     has none).
//   - Set stores with the region's Set. The store options' expiration and
//     cost are ignored (the region's expiration time applies to every
//     value); tags are refused with ErrTagsUnsupported, storing nothing.
//   - Delete deletes with the region's Delete.
//   - Invalidate without tags does nothing; with tags it returns
//     ErrTagsUnsupported.
//   - Clear hard-invalidates the region (region.Invalidate(true)): every
//     value it holds now reads as absent. The backend's data is not
//     deleted, and other processes see the invalidation only when the
//     region's InvalidationStrategy is shared.
//   - GetType returns TypeRegion ("dogpile").
//
// Keys must be strings (gocache's cache.Cache turns other keys into
// strings before they reach a store).
type RegionStore[T any] struct {
	r     *region.Region
	isAny bool
}

var _ store.StoreInterface = (*RegionStore[any])(nil)

// NewStore returns a gocache store over r; values read back are what the
// region's Get returns (for byte backends, generic decoded values: maps
// become map[string]any, integers int64, ...). Use NewStoreOf to read them
// back as one type.
func NewStore(r *region.Region) store.StoreInterface { return NewStoreOf[any](r) }

// NewStoreOf returns a gocache store over r whose reads decode values into
// T (region.GetAs), so a cache.New[T] or cache.NewChain[T] over a region on
// a byte backend (Redis, memcached) gets T values back. A value that is not
// a T is an error (region.ErrTypeMismatch), not a miss.
func NewStoreOf[T any](r *region.Region) store.StoreInterface {
	return &RegionStore[T]{r: r, isAny: reflect.TypeFor[T]() == reflect.TypeFor[any]()}
}

// Region returns the region the store reads and writes through.
func (s *RegionStore[T]) Region() *region.Region { return s.r }

func storeKey(key any) (string, error) {
	switch k := key.(type) {
	case string:
		return k, nil
	case fmt.Stringer:
		return k.String(), nil
	}
	return "", fmt.Errorf("gocache: region store keys must be strings, not %T", key)
}

func (s *RegionStore[T]) miss(key string) error {
	return store.NotFoundWithCause(fmt.Errorf("gocache: no usable value for %q in region %q", key, s.r.Name()))
}

// Get returns key's value, or a store.NotFound error when the region has no
// usable value for it.
func (s *RegionStore[T]) Get(ctx context.Context, key any) (any, error) {
	k, err := storeKey(key)
	if err != nil {
		return nil, err
	}
	var v any
	var ok bool
	if s.isAny {
		v, ok, err = s.r.Get(ctx, k)
	} else {
		v, ok, err = region.GetAs[T](ctx, s.r, k)
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.miss(k)
	}
	return v, nil
}

// GetWithTTL returns key's value and the time left until it expires by the
// region's expiration time (0: it does not expire), or a store.NotFound
// error when the region has no usable value for it.
func (s *RegionStore[T]) GetWithTTL(ctx context.Context, key any) (any, time.Duration, error) {
	k, err := storeKey(key)
	if err != nil {
		return nil, 0, err
	}
	cv, err := s.r.GetValueMetadata(ctx, k)
	if err != nil {
		return nil, 0, err
	}
	if cv == nil {
		return nil, 0, s.miss(k)
	}
	v := cv.Payload
	if _, isT := v.(T); !isT && !s.isAny {
		// A byte backend's payload was decoded generically; read it again
		// into T.
		var ok bool
		if v, ok, err = region.GetAs[T](ctx, s.r, k); err != nil {
			return nil, 0, err
		} else if !ok {
			return nil, 0, s.miss(k)
		}
	}
	var ttl time.Duration
	if exp := s.r.ExpirationTime(); exp > 0 {
		ttl = max(exp-time.Since(cv.Metadata.CreatedAt), time.Millisecond)
	}
	return v, ttl, nil
}

// Set stores value under key through the region. Expiration and cost
// options are ignored; tags are refused (ErrTagsUnsupported).
func (s *RegionStore[T]) Set(ctx context.Context, key any, value any, options ...store.Option) error {
	k, err := storeKey(key)
	if err != nil {
		return err
	}
	if len(options) > 0 {
		if o := store.ApplyOptions(options...); len(o.Tags) > 0 {
			return fmt.Errorf("set %q: %w", k, ErrTagsUnsupported)
		}
	}
	return s.r.Set(ctx, k, value)
}

// Delete deletes key through the region.
func (s *RegionStore[T]) Delete(ctx context.Context, key any) error {
	k, err := storeKey(key)
	if err != nil {
		return err
	}
	return s.r.Delete(ctx, k)
}

// Invalidate does nothing without tags and returns ErrTagsUnsupported with
// them.
func (s *RegionStore[T]) Invalidate(_ context.Context, options ...store.InvalidateOption) error {
	if o := store.ApplyInvalidateOptions(options...); len(o.Tags) > 0 {
		return ErrTagsUnsupported
	}
	return nil
}

// Clear hard-invalidates the region: every value it holds now reads as
// absent (see RegionStore). It returns region.ErrNotConfigured for a region
// without a backend.
func (s *RegionStore[T]) Clear(context.Context) error {
	if !s.r.IsConfigured() {
		return fmt.Errorf("%w: region %q", region.ErrNotConfigured, s.r.Name())
	}
	s.r.Invalidate(true)
	return nil
}

// GetType returns TypeRegion ("dogpile").
func (s *RegionStore[T]) GetType() string { return TypeRegion }
