package gocache

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/memcacheutil"
)

// Batch operations on the client under a store, which gocache's
// StoreInterface does not offer.
type (
	multiGetter interface {
		// getMulti returns the bytes of the keys present.
		getMulti(ctx context.Context, keys []string) (map[string][]byte, error)
	}
	multiSetter interface {
		// setMulti stores every value; on error it names a key involved.
		setMulti(ctx context.Context, m map[string][]byte) (string, error)
	}
	multiDeleter interface {
		// deleteMulti removes keys; on error it names a key involved.
		deleteMulti(ctx context.Context, keys []string) (string, error)
	}
)

// redisBatch uses MGET and DEL on a single-node client, pipelines on
// cluster and ring clients (whose keys may live on different nodes), and a
// pipeline of SET commands for SetMulti everywhere.
type redisBatch struct {
	client redis.UniversalClient
	exp    time.Duration
}

func (r *redisBatch) single() (*redis.Client, bool) {
	c, ok := r.client.(*redis.Client)
	return c, ok
}

func (r *redisBatch) getMulti(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	if c, ok := r.single(); ok {
		vals, err := c.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			switch x := v.(type) {
			case string:
				out[keys[i]] = []byte(x)
			case nil: // absent
			default:
				return nil, fmt.Errorf("redis MGET returned a %T for %q", v, keys[i])
			}
		}
		return out, nil
	}
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	for i, cmd := range cmds {
		data, err := cmd.Bytes()
		switch {
		case err == nil:
			out[keys[i]] = data
		case !errors.Is(err, redis.Nil):
			return nil, err
		}
	}
	return out, nil
}

func (r *redisBatch) setMulti(ctx context.Context, m map[string][]byte) (string, error) {
	keys := slices.Sorted(maps.Keys(m))
	cmds := make([]*redis.StatusCmd, len(keys))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Set(ctx, k, m[k], r.exp)
		}
		return nil
	})
	if err != nil {
		return failedKey(keys, cmds, err)
	}
	return "", nil
}

func (r *redisBatch) deleteMulti(ctx context.Context, keys []string) (string, error) {
	if c, ok := r.single(); ok {
		if err := c.Del(ctx, keys...).Err(); err != nil {
			return keys[0], err
		}
		return "", nil
	}
	cmds := make([]*redis.IntCmd, len(keys))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Del(ctx, k)
		}
		return nil
	})
	if err != nil {
		return failedKey(keys, cmds, err)
	}
	return "", nil
}

// memcacheBatch uses memcached's multi-get (one request per server).
// memcached has no multi-set or multi-delete, so those stay per key.
type memcacheBatch struct {
	client   *memcache.Client
	selector memcache.ServerSelector // nil: unknown (a caller's client)
}

// getMulti returns what the servers that answered hold; if one failed
// (gomemcache reports the first failure), the error is a *serverFailure
// naming it and its keys, or, when the server cannot be told, all keys.
func (m *memcacheBatch) getMulti(ctx context.Context, keys []string) (map[string][]byte, error) {
	if err := ctx.Err(); err != nil { // gomemcache takes no context
		return nil, err
	}
	items, err := m.client.GetMulti(keys)
	out := make(map[string][]byte, len(items))
	for k, it := range items {
		out[k] = it.Value
	}
	if err != nil {
		sf := &serverFailure{addr: memcacheutil.ErrAddr(err), err: err}
		if sf.keys = memcacheutil.KeysOn(m.selector, sf.addr, keys); len(sf.keys) == 0 {
			sf.keys = keys
		}
		return out, sf
	}
	return out, nil
}

// serverFailure is a batch call's failure on one server (addr, "" when
// unknown), holding keys of the call.
type serverFailure struct {
	addr string
	keys []string
	err  error
}

func (e *serverFailure) Error() string {
	return fmt.Sprintf("server %s (%d keys): %v", e.addr, len(e.keys), e.err)
}

func (e *serverFailure) Unwrap() error { return e.err }

// failedKey names the first key whose pipelined command failed, with its
// error; err (the pipeline's) goes with the first key when none did.
func failedKey[C interface{ Err() error }](keys []string, cmds []C, err error) (string, error) {
	for i, cmd := range cmds {
		if cmd.Err() != nil {
			return keys[i], cmd.Err()
		}
	}
	return keys[0], err
}
