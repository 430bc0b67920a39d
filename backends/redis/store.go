package redis

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/bsm/redislock"
	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/lockmutex/redismutex"
	"github.com/dogpile-go/dogpile/region"
)

// Store is the byte store under the three backends: the commands
// dogpile.cache's RedisBackend sends, on a go-redis client. The backends
// wrap it in a region.SerializedBackend; a program reaches it with
// region.BackendAs[*redis.Store](r.ActualBackend()).
type Store struct {
	backend    string // registered name, for errors
	client     goredis.UniversalClient
	cluster    *goredis.ClusterClient // non-nil: keys are grouped by hash slot
	ownsClient bool
	expiration time.Duration // redis_expiration_time; 0: none

	lock  *redismutex.PyLockOptions // nil: no distributed lock
	locks *redislock.Client
}

var _ region.BytesBackend = (*Store)(nil)

func newStore(c *config, client goredis.UniversalClient) *Store {
	s := &Store{
		backend:    c.backend,
		client:     client,
		ownsClient: c.client == nil,
		expiration: c.expiration,
	}
	s.cluster, _ = client.(*goredis.ClusterClient)
	if c.distributedLock {
		s.lock = &redismutex.PyLockOptions{Timeout: c.lockTimeout, Sleep: c.lockSleep, BlockingTimeout: c.lockBlockingTimeout}
		s.locks = redislock.New(client)
	}
	return s
}

// Client returns the go-redis client the store talks to.
func (s *Store) Client() goredis.UniversalClient { return s.client }

// Expiration returns redis_expiration_time (zero: values do not expire in
// Redis).
func (s *Store) Expiration() time.Duration { return s.expiration }

// Close closes the client, unless the program passed it in (argument
// "client"), in which case the program closes it.
func (s *Store) Close() error {
	if !s.ownsClient {
		return nil
	}
	return s.client.Close()
}

func (s *Store) fail(op string, key string, err error) error {
	return fmt.Errorf("%s: redis %s %q: %w", s.backend, op, key, err)
}

func (s *Store) failMulti(op string, keys []string, err error) error {
	if len(keys) == 1 {
		return s.fail(op, keys[0], err)
	}
	return fmt.Errorf("%s: redis %s of %d keys (first %q): %w", s.backend, op, len(keys), keys[0], err)
}

// GetSerialized reads key with GET.
func (s *Store) GetSerialized(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := s.client.Get(ctx, key).Bytes()
	switch {
	case err == nil:
		return b, true, nil
	case errors.Is(err, goredis.Nil):
		return nil, false, nil
	}
	return nil, false, s.fail("GET", key, err)
}

// GetSerializedMulti reads keys with MGET; on a cluster, one MGET per hash
// slot (GET for a slot with one key), pipelined: one round trip to each
// node, the nodes in parallel.
func (s *Store) GetSerializedMulti(ctx context.Context, keys []string) (map[string][]byte, error) {
	if len(keys) == 0 {
		return map[string][]byte{}, nil
	}
	out := make(map[string][]byte, len(keys))
	if s.cluster == nil {
		vals, err := s.client.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, s.failMulti("MGET", keys, err)
		}
		collectValues(out, keys, vals)
		return out, nil
	}
	// A slot with one key (the usual case: 100 keys rarely share one of
	// 16384 slots unless they carry a hash tag) gets a GET, which costs
	// go-redis less than a one-key MGET.
	groups := bySlot(keys)
	mgets := make([]*goredis.SliceCmd, len(groups))
	gets := make([]*goredis.StringCmd, len(groups))
	_, err := s.cluster.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, g := range groups {
			if len(g) == 1 {
				gets[i] = p.Get(ctx, g[0])
			} else {
				mgets[i] = p.MGet(ctx, g...)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) && ctx.Err() != nil {
		return nil, s.failMulti("MGET", keys, err)
	}
	// Exec reports the first failed command, a GET's miss (redis.Nil)
	// included: look at each.
	for i, g := range groups {
		if gets[i] != nil {
			b, err := gets[i].Bytes()
			switch {
			case err == nil:
				out[g[0]] = b
			case !errors.Is(err, goredis.Nil):
				return nil, s.failMulti("GET", g, err)
			}
			continue
		}
		vals, err := mgets[i].Result()
		if err != nil {
			return nil, s.failMulti("MGET", g, err)
		}
		collectValues(out, g, vals)
	}
	return out, nil
}

// collectValues adds MGET's answer for keys to out.
func collectValues(out map[string][]byte, keys []string, vals []any) {
	for i, v := range vals {
		if i >= len(keys) {
			break
		}
		switch x := v.(type) {
		case string:
			out[keys[i]] = []byte(x)
		case []byte:
			out[keys[i]] = x
		}
	}
}

// bySlot groups keys by hash slot, without repeats, in a stable order.
func bySlot(keys []string) [][]string {
	index := make(map[int]int)
	seen := make(map[string]struct{}, len(keys))
	var groups [][]string
	for _, k := range keys {
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		slot := keySlot(k)
		i, ok := index[slot]
		if !ok {
			i = len(groups)
			index[slot] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], k)
	}
	return groups
}

// SetSerialized writes key: SETEX with redis_expiration_time, else SET.
func (s *Store) SetSerialized(ctx context.Context, key string, data []byte) error {
	var err error
	if s.expiration > 0 {
		err = s.client.SetEx(ctx, key, data, s.expiration).Err()
	} else {
		err = s.client.Set(ctx, key, data, 0).Err()
	}
	if err != nil {
		op := "SET"
		if s.expiration > 0 {
			op = "SETEX"
		}
		return s.fail(op, key, err)
	}
	return nil
}

// SetSerializedMulti writes m as dogpile.cache does: MSET without
// redis_expiration_time, else a MULTI/EXEC pipeline of SETEX (redis-py's
// default pipeline). On a cluster, one MSET per hash slot, or the SETEX
// commands, are pipelined without MULTI (as redis-py's cluster pipeline).
func (s *Store) SetSerializedMulti(ctx context.Context, m map[string][]byte) error {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var err error
	switch {
	case s.expiration > 0 && s.cluster != nil:
		_, err = s.cluster.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, k := range keys {
				p.SetEx(ctx, k, m[k], s.expiration)
			}
			return nil
		})
	case s.expiration > 0:
		_, err = s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			for _, k := range keys {
				p.SetEx(ctx, k, m[k], s.expiration)
			}
			return nil
		})
	case s.cluster != nil:
		_, err = s.cluster.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, g := range bySlot(keys) {
				p.MSet(ctx, pairs(g, m)...)
			}
			return nil
		})
	default:
		err = s.client.MSet(ctx, pairs(keys, m)...).Err()
	}
	if err != nil {
		op := "MSET"
		if s.expiration > 0 {
			op = "SETEX"
		}
		return s.failMulti(op, keys, err)
	}
	return nil
}

// pairs returns MSET's arguments for keys.
func pairs(keys []string, m map[string][]byte) []any {
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, k, m[k])
	}
	return args
}

// Delete deletes key with DEL.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.client.Del(ctx, key).Err(); err != nil {
		return s.fail("DEL", key, err)
	}
	return nil
}

// DeleteMulti deletes keys with one DEL; on a cluster, one DEL per hash
// slot, pipelined.
func (s *Store) DeleteMulti(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	var err error
	if s.cluster == nil {
		err = s.client.Del(ctx, keys...).Err()
	} else {
		_, err = s.cluster.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, g := range bySlot(keys) {
				p.Del(ctx, g...)
			}
			return nil
		})
	}
	if err != nil {
		return s.failMulti("DEL", keys, err)
	}
	return nil
}

// GetMutex returns redis-py's Lock on "_lock" + key when distributed_lock
// is set (a *redismutex.PyLock), else nil: the region then uses its
// in-process lock, as dogpile.cache uses a thread lock.
func (s *Store) GetMutex(key string) region.Mutex {
	if s.lock == nil {
		return nil
	}
	return redismutex.NewPyLock(s.client, s.locks, key, *s.lock)
}
