package gocache_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eko/gocache/lib/v4/cache"
	"github.com/eko/gocache/lib/v4/store"
	gocachestore "github.com/eko/gocache/store/go_cache/v4"
	gocache "github.com/patrickmn/go-cache"

	dpgocache "github.com/dogpile-go/dogpile/backends/gocache"
	_ "github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

type user struct {
	ID    int
	Name  string
	Roles []string
}

func regionCases(t *testing.T) map[string]func(t *testing.T) *region.Region {
	return map[string]func(t *testing.T) *region.Region{
		"memory":           func(t *testing.T) *region.Region { return newRegion(t, "memory", nil) },
		"gocache.go_cache": func(t *testing.T) *region.Region { return newRegion(t, "gocache.go_cache", nil) },
		"gocache.redis": func(t *testing.T) *region.Region {
			return newRegion(t, "gocache.redis", region.Arguments{"addr": testservers.Redis(t)})
		},
	}
}

// A region used as a store inside a gocache chain returns the same values
// as the region used directly.
func TestRegionStoreInChain(t *testing.T) {
	for name, mk := range regionCases(t) {
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			r := mk(t)
			top := gocachestore.NewGoCache(gocache.New(gocache.NoExpiration, 0))
			chain := cache.NewChain[any](cache.New[any](top), cache.New[any](dpgocache.NewStore(r)))
			defer chain.Close()

			values := []any{"text", true, []byte("raw"), 3.5}
			var keys []string
			for i, v := range values {
				k := testservers.UniqueKey(t, fmt.Sprint("direct", i))
				keys = append(keys, k)
				if err := r.Set(ctx, k, v); err != nil {
					t.Fatal(err)
				}
			}
			for i, v := range values {
				k := testservers.UniqueKey(t, fmt.Sprint("chain", i))
				keys = append(keys, k)
				if err := chain.Set(ctx, k, v); err != nil {
					t.Fatal(err)
				}
			}
			// Read through the chain first: its bottom layer (the region)
			// answers for the keys set directly.
			for _, k := range keys {
				got, err := chain.Get(ctx, k)
				if err != nil {
					t.Fatalf("chain.Get(%s): %v", k, err)
				}
				want, ok, err := r.Get(ctx, k)
				if err != nil || !ok {
					t.Fatalf("region.Get(%s) = %v, %v", k, ok, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: chain %#v, region %#v", k, got, want)
				}
			}
			// A key the region does not have is a miss in both.
			missing := testservers.UniqueKey(t, "missing")
			if _, err := chain.Get(ctx, missing); !errors.Is(err, store.NotFound{}) {
				t.Fatalf("chain.Get(missing) err = %v; want store.NotFound", err)
			}
			if _, ok, _ := r.Get(ctx, missing); ok {
				t.Fatal("region has the missing key")
			}
			// Deleting through the chain deletes in the region.
			if err := chain.Delete(ctx, keys[0]); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := r.Get(ctx, keys[0]); ok {
				t.Fatal("chain.Delete left the value in the region")
			}
		})
	}
}

// NewStoreOf decodes into the type, so a typed chain over a region on a
// byte backend gets its structs back.
func TestTypedRegionStore(t *testing.T) {
	for name, mk := range regionCases(t) {
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			r := mk(t)
			rs := dpgocache.NewStoreOf[user](r)
			top := gocachestore.NewGoCache(gocache.New(gocache.NoExpiration, 0))
			chain := cache.NewChain[user](cache.New[user](top), cache.New[user](rs))
			defer chain.Close()
			u := user{ID: 7, Name: "ann", Roles: []string{"admin"}}
			k := testservers.UniqueKey(t, "u")
			if err := r.Set(ctx, k, u); err != nil {
				t.Fatal(err)
			}
			got, err := chain.Get(ctx, k)
			if err != nil || !reflect.DeepEqual(got, u) {
				t.Fatalf("chain.Get = %#v, %v; want %#v", got, err, u)
			}
			direct, ok, err := region.GetAs[user](ctx, r, k)
			if err != nil || !ok || !reflect.DeepEqual(direct, got) {
				t.Fatalf("region.GetAs = %#v, %v, %v", direct, ok, err)
			}
			v, ttl, err := rs.GetWithTTL(ctx, k)
			if err != nil || !reflect.DeepEqual(v, u) || ttl != 0 {
				t.Fatalf("GetWithTTL = %#v, %v, %v; want the user and no TTL", v, ttl, err)
			}
			if err := r.Set(ctx, k, "not a user"); err != nil {
				t.Fatal(err)
			}
			if _, err := rs.Get(ctx, k); !errors.Is(err, region.ErrTypeMismatch) {
				t.Fatalf("Get of another type: err = %v; want ErrTypeMismatch", err)
			}
		})
	}
}

// A region under a gocache loadable cache: the loader runs once, and the
// region holds what it loaded.
func TestRegionStoreLoadable(t *testing.T) {
	ctx := testCtx(t)
	r := newRegion(t, "gocache.redis", region.Arguments{"addr": testservers.Redis(t)})
	var loads atomic.Int32
	k := testservers.UniqueKey(t, "u")
	loadable := cache.NewLoadable[user](func(_ context.Context, key any) (user, []store.Option, error) {
		loads.Add(1)
		return user{ID: 1, Name: key.(string)}, nil, nil
	}, cache.New[user](dpgocache.NewStoreOf[user](r)))
	first, err := loadable.Get(ctx, k)
	if err != nil || first.Name != k {
		t.Fatalf("loadable.Get = %#v, %v", first, err)
	}
	if err := loadable.Close(); err != nil { // flushes the pending set into the region
		t.Fatal(err)
	}
	got, ok, err := region.GetAs[user](ctx, r, k)
	if err != nil || !ok || !reflect.DeepEqual(got, first) {
		t.Fatalf("region holds %#v, %v, %v; want %#v", got, ok, err, first)
	}
	again := cache.NewLoadable[user](func(context.Context, any) (user, []store.Option, error) {
		loads.Add(1)
		return user{}, nil, errors.New("should not load")
	}, cache.New[user](dpgocache.NewStoreOf[user](r)))
	defer again.Close()
	if v, err := again.Get(ctx, k); err != nil || !reflect.DeepEqual(v, first) {
		t.Fatalf("second loadable.Get = %#v, %v", v, err)
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("loader ran %d times; want 1", n)
	}
}

func TestRegionStoreMethods(t *testing.T) {
	ctx := testCtx(t)
	r := newRegion(t, "memory", nil, region.WithExpirationTime(time.Hour))
	s := dpgocache.NewStore(r)
	if s.GetType() != dpgocache.TypeRegion {
		t.Fatalf("GetType = %q", s.GetType())
	}
	if s.(*dpgocache.RegionStore[any]).Region() != r {
		t.Fatal("Region() is not the region")
	}
	if err := s.Set(ctx, "k", "v", store.WithExpiration(time.Second), store.WithCost(3)); err != nil {
		t.Fatal(err)
	}
	v, ttl, err := s.GetWithTTL(ctx, "k")
	if err != nil || v != "v" || ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("GetWithTTL = %v, %v, %v; want v and about an hour", v, ttl, err)
	}
	if err := s.Set(ctx, "t", "v", store.WithTags([]string{"x"})); !errors.Is(err, dpgocache.ErrTagsUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Set with tags: %v; want ErrTagsUnsupported", err)
	}
	if _, err := s.Get(ctx, "t"); !errors.Is(err, store.NotFound{}) {
		t.Fatalf("a refused Set stored something: %v", err)
	}
	if err := s.Invalidate(ctx); err != nil {
		t.Fatalf("Invalidate without tags: %v", err)
	}
	if err := s.Invalidate(ctx, store.WithInvalidateTags([]string{"x"})); !errors.Is(err, dpgocache.ErrTagsUnsupported) {
		t.Fatalf("Invalidate with tags: %v", err)
	}
	if _, err := s.Get(ctx, 42); err == nil {
		t.Fatal("Get with an int key succeeded")
	}
	time.Sleep(2 * time.Millisecond)
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Get(ctx, "k"); ok {
		t.Fatal("Clear did not invalidate the region")
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, store.NotFound{}) {
		t.Fatalf("Get after Clear: %v; want NotFound", err)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := dpgocache.NewStore(region.New("unconfigured")).Clear(ctx); !errors.Is(err, region.ErrNotConfigured) {
		t.Fatalf("Clear on an unconfigured region: %v", err)
	}
}
