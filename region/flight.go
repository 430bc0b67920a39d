package region

import (
	"hash/maphash"
	"sync"
)

// A flight is one in-process creation of a key's value. Callers in this
// process that find no usable value join the flight and wait for its result
// instead of each queueing on the creation lock, so a creator's value, or
// its error, reaches every caller that waited for it (as with
// golang.org/x/sync/singleflight). Callers that hold an old value see the
// flight and return the old value at once.
type flight struct {
	done chan struct{}
	// The result, set before done is closed: the created payload or the
	// creation's error, or retry: the flight ended without an answer for
	// the waiters (the leader was cancelled, or another process holds the
	// creation lock), and they start over.
	value any
	err   error
	retry bool
}

const flightShards = 32

type flightGroup struct {
	seed   maphash.Seed
	shards [flightShards]flightShard
}

type flightShard struct {
	mu sync.Mutex
	m  map[string]*flight
}

func (g *flightGroup) init() {
	g.seed = maphash.MakeSeed()
	for i := range g.shards {
		g.shards[i].m = make(map[string]*flight)
	}
}

func (g *flightGroup) shard(key string) *flightShard {
	return &g.shards[maphash.String(g.seed, key)%flightShards]
}

// join returns key's flight, starting one (leader == true) if there is none.
func (g *flightGroup) join(key string) (f *flight, leader bool) {
	s := g.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if f = s.m[key]; f != nil {
		return f, false
	}
	f = &flight{done: make(chan struct{})}
	s.m[key] = f
	return f, true
}

// finish ends the flight: its result is set, and the waiters may read it.
func (g *flightGroup) finish(key string, f *flight) {
	s := g.shard(key)
	s.mu.Lock()
	if s.m[key] == f {
		delete(s.m, key)
	}
	s.mu.Unlock()
	close(f.done)
}
