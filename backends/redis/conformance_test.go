package redis_test

import (
	"testing"

	"github.com/dogpile-go/dogpile/region/regiontest"
)

// The generic backend suite on the three topologies, one after the other
// (each suite runs its own tests in parallel): with the default serializer
// (pickle) and the distributed lock, plus the mutex tests; and on the
// single server with dogpile's JSON serializer and the in-process lock.
func TestConformance(t *testing.T) {
	for _, tp := range topologies {
		t.Run(tp.name+"/pickle/distributed_lock", func(t *testing.T) {
			args := with(tp.args(t), map[string]any{"distributed_lock": true, "lock_timeout": 30, "lock_sleep": 0.01})
			s := &regiontest.Suite{Backend: tp.name, Arguments: args}
			s.Run(t)
			s.RunMutex(t)
		})
	}
	t.Run("dogpile.cache.redis/json", func(t *testing.T) {
		(&regiontest.Suite{Backend: "dogpile.cache.redis", Arguments: singleArgs(t), RegionOptions: jsonRegion}).Run(t)
	})
}
