package region

import (
	"hash/maphash"
	"sync"
)

// This file is the table of flights in progress that the dogpile lock
// (lock.go) joins, by backend key.

// flights are a region's flights in progress, by backend key, in shards
// chosen by the key's hash: callers of different keys (many keys expiring
// together) rarely wait for one another's bookkeeping
// (BenchmarkStampedeManyKeys).
type flights struct {
	seed   maphash.Seed
	shards [flightShards]flightShard
}

const flightShards = 64

type flightShard struct {
	mu sync.Mutex
	m  map[string]*flight
	_  [64 - 16]byte // a shard to a 64-byte cache line: no false sharing between neighbours
}

func newFlights() *flights {
	g := &flights{seed: maphash.MakeSeed()}
	for i := range g.shards {
		g.shards[i].m = make(map[string]*flight)
	}
	return g
}

func (g *flights) shard(key string) *flightShard {
	return &g.shards[maphash.String(g.seed, key)%flightShards]
}

// join returns key's flight, starting one held by its leader (leader ==
// true) if there is none.
func (g *flights) join(key string) (f *flight, leader bool) {
	sh := g.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if f = sh.m[key]; f != nil {
		return f, false
	}
	f = &flight{done: make(chan struct{}), retry: true}
	f.holders.Store(1)
	sh.m[key] = f
	return f, true
}

// serving reports whether a caller that read a value judged v serves it at
// once, as lock.get would have it: the value is stale (or picked for early
// refresh) and already being regenerated in this process. GetOrCreate asks
// before it builds a lock, so that these callers, the many of a stampede,
// cost nothing.
func (g *flights) serving(key string, v verdict) bool {
	if v != stale && v != early {
		return false
	}
	sh := g.shard(key)
	sh.mu.Lock()
	_, busy := sh.m[key]
	sh.mu.Unlock()
	return busy
}

func (g *flights) remove(key string, f *flight) {
	sh := g.shard(key)
	sh.mu.Lock()
	if sh.m[key] == f {
		delete(sh.m, key)
	}
	sh.mu.Unlock()
}

// len is the number of flights in progress.
func (g *flights) len() int {
	n := 0
	for i := range g.shards {
		sh := &g.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
