package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/eko/gocache/lib/v4/store"
	memcachestore "github.com/eko/gocache/store/memcache/v4"
	redisstore "github.com/eko/gocache/store/redis/v4"
	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/memcacheutil"
	"github.com/dogpile-go/dogpile/region"
)

// A shared store is the memcached or Redis client under the configured
// backend. When there is one, the cache-aside and loadable strategies run
// on it too (a raw client, and eko/gocache's store over the same client),
// so that every row of the table pays the same network round trips and the
// comparison is like with like.
//
// A backend offers its client through a Client method, found under the
// region's proxies with region.BackendAs:
//
//	Client() *memcache.Client        // gomemcache (the memcached backends)
//	Client() redis.UniversalClient   // go-redis
//	Client() any                     // either of the above (the gocache backends)
//
// A backend with none of these is treated as in-process: the baselines use
// their own go-cache.
type sharedStore struct {
	reg *region.Region // owns the client: closing it closes the client
	mc  *memcache.Client
	rc  redis.UniversalClient
}

// openShared configures a region on the backend and returns its shared
// store, or nil (and closes the region) when the backend keeps values
// in-process.
func openShared(b Backend, exp time.Duration) (*sharedStore, error) {
	reg := region.New("dogpile-bench-shared", region.WithErrorHandler(func(context.Context, string, error) {}))
	if err := b.configure(reg, exp); err != nil {
		return nil, &BackendError{Backend: b.Name(), Err: err}
	}
	s := sharedOf(reg)
	if s == nil {
		_ = reg.Close()
	}
	return s, nil
}

// sharedOf returns the shared store under a configured region (owned by
// the region), or nil when its backend has no memcached or Redis client.
func sharedOf(reg *region.Region) *sharedStore {
	s := &sharedStore{reg: reg}
	actual := reg.ActualBackend()
	if c, ok := region.BackendAs[interface{ Client() *memcache.Client }](actual); ok {
		s.mc = c.Client()
	} else if c, ok := region.BackendAs[interface{ Client() redis.UniversalClient }](actual); ok {
		s.rc = c.Client()
	} else if c, ok := region.BackendAs[interface{ Client() any }](actual); ok {
		switch c := c.Client().(type) {
		case *memcache.Client:
			s.mc = c
		case redis.UniversalClient:
			s.rc = c
		}
	}
	if s.mc == nil && s.rc == nil {
		return nil
	}
	return s
}

func (s *sharedStore) close() { _ = s.reg.Close() }

// clientName is the raw client the cache-aside strategy uses.
func (s *sharedStore) clientName() string {
	if s.mc != nil {
		return "gomemcache"
	}
	return "go-redis"
}

// storeName is eko/gocache's store the loadable strategy uses.
func (s *sharedStore) storeName() string {
	if s.mc != nil {
		return "memcache store"
	}
	return "redis store"
}

// gocacheStore is eko/gocache's store over the same client.
func (s *sharedStore) gocacheStore() store.StoreInterface {
	if s.mc != nil {
		return memcachestore.NewMemcache(s.mc)
	}
	return redisstore.NewRedis(s.rc)
}

// storeExpiration is the lifetime given to eko/gocache's store: memcached
// counts whole seconds (and the memcache store truncates), so it is rounded
// up there.
func (s *sharedStore) storeExpiration(exp time.Duration) time.Duration {
	if s.mc != nil {
		return time.Duration(memcacheutil.Seconds(exp)) * time.Second
	}
	return exp
}

// get reads key's bytes.
func (s *sharedStore) get(ctx context.Context, key string) ([]byte, bool, error) {
	if s.mc != nil {
		it, err := s.mc.Get(key)
		switch {
		case errors.Is(err, memcache.ErrCacheMiss):
			return nil, false, nil
		case err != nil:
			return nil, false, err
		}
		return it.Value, true, nil
	}
	b, err := s.rc.Get(ctx, key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return b, true, nil
}

// set writes key's bytes to live ttl on the server.
func (s *sharedStore) set(ctx context.Context, key string, data []byte, ttl time.Duration) error {
	if s.mc != nil {
		return s.mc.Set(&memcache.Item{Key: key, Value: data, Expiration: memcacheutil.Seconds(ttl)})
	}
	return s.rc.Set(ctx, key, data, ttl).Err()
}

// deleteKeys deletes keys, ignoring absent ones, within a few seconds.
func (s *sharedStore) deleteKeys(ctx context.Context, keys []string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if s.mc != nil {
		for _, k := range keys {
			if dctx.Err() != nil {
				return
			}
			_ = s.mc.Delete(k)
		}
		return
	}
	_ = s.rc.Del(dctx, keys...).Err()
}

// encodeValue is a value's form on a shared store for the baselines:
// 16 bytes, the key and the creation time.
func encodeValue(v value) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint64(b, uint64(v.Key))
	binary.LittleEndian.PutUint64(b[8:], uint64(v.CreatedAt))
	return b
}

func decodeValue(b []byte) (value, error) {
	if len(b) != 16 {
		return value{}, fmt.Errorf("bench value of %d bytes, want 16", len(b))
	}
	return value{Key: int(binary.LittleEndian.Uint64(b)), CreatedAt: int64(binary.LittleEndian.Uint64(b[8:]))}, nil
}
