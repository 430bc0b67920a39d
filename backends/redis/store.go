package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// GetSerializedMulti reads keys as GetSerializedOrdered does, into a map.
func (s *Store) GetSerializedMulti(ctx context.Context, keys []string) (map[string][]byte, error) {
	values, err := s.GetSerializedOrdered(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	for i, v := range values {
		if v != nil {
			out[keys[i]] = v
		}
	}
	return out, nil
}

var _ region.OrderedBytesReader = (*Store)(nil)

// GetSerializedOrdered reads keys with MGET (region.OrderedBytesReader:
// values[i] is keys[i]'s value, nil when absent). On a cluster, where an
// MGET cannot span slots, it pipelines a GET per key, and one MGET for the
// keys that share a hash tag ("{user42}:a", "{user42}:b"), hence a slot:
// one round trip to each node, the nodes in parallel. (Grouping every key
// by slot would save nothing for keys without a tag, which 100 at a time
// rarely share one of the 16384 slots, and costs a CRC-16 and two map
// entries per key, more than a tenth of a loopback GetMulti of 100.)
func (s *Store) GetSerializedOrdered(ctx context.Context, keys []string) ([][]byte, error) {
	values := make([][]byte, len(keys))
	if len(keys) == 0 {
		return values, nil
	}
	if s.cluster == nil {
		vals, err := s.client.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, s.failMulti("MGET", keys, err)
		}
		collectValues(values, nil, vals)
		return values, nil
	}
	gets := make([]*goredis.StringCmd, len(keys)) // nil: in an MGET
	var tags tagGroups
	_, err := s.cluster.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			if tag, ok := hashTag(k); ok {
				tags.add(tag, i)
			} else {
				gets[i] = p.Get(ctx, k)
			}
		}
		for _, g := range tags.groups {
			if len(g.keys) == 1 {
				gets[g.keys[0]] = p.Get(ctx, keys[g.keys[0]])
				continue
			}
			args := make([]string, len(g.keys))
			for j, i := range g.keys {
				args[j] = keys[i]
			}
			g.mget = p.MGet(ctx, args...)
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) && ctx.Err() != nil {
		return nil, s.failMulti("MGET", keys, err)
	}
	// Exec reports the first failed command, a GET's miss (redis.Nil)
	// included: look at each.
	for i, cmd := range gets {
		if cmd == nil {
			continue
		}
		b, err := cmd.Bytes()
		switch {
		case err == nil:
			if b == nil {
				b = []byte{}
			}
			values[i] = b
		case !errors.Is(err, goredis.Nil):
			return nil, s.fail("GET", keys[i], err)
		}
	}
	for _, g := range tags.groups {
		if g.mget == nil {
			continue
		}
		vals, err := g.mget.Result()
		if err != nil {
			names := make([]string, len(g.keys))
			for j, i := range g.keys {
				names[j] = keys[i]
			}
			return nil, s.failMulti("MGET", names, err)
		}
		collectValues(values, g.keys, vals)
	}
	return values, nil
}

// tagGroups groups key indexes by hash tag, in order of first appearance.
type tagGroups struct {
	index  map[string]int
	groups []*tagGroup
}

type tagGroup struct {
	keys []int // indexes into the keys read
	mget *goredis.SliceCmd
}

func (t *tagGroups) add(tag string, i int) {
	if t.index == nil {
		t.index = map[string]int{}
	}
	g, ok := t.index[tag]
	if !ok {
		g = len(t.groups)
		t.index[tag] = g
		t.groups = append(t.groups, &tagGroup{})
	}
	t.groups[g].keys = append(t.groups[g].keys, i)
}

// collectValues stores MGET's answer: vals[j] in values[at[j]], or in
// values[j] when at is nil. A value that is present is never nil.
func collectValues(values [][]byte, at []int, vals []any) {
	for j, v := range vals {
		i := j
		if at != nil {
			if j >= len(at) {
				break
			}
			i = at[j]
		}
		if i >= len(values) {
			break
		}
		switch x := v.(type) {
		case string:
			values[i] = []byte(x)
		case []byte:
			if x == nil {
				x = []byte{}
			}
			values[i] = x
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
		slices.Sort(keys) // the error names the first key: the same one every time
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
