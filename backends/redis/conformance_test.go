package redis_test

import (
	"testing"

	"github.com/dogpile-go/dogpile/region/regiontest"
)

// The generic backend suite on the three topologies, with dogpile's JSON
// serializer, with and without the distributed lock.
func TestConformanceJSON(t *testing.T) {
	for _, tp := range topologies {
		t.Run(tp.name, func(t *testing.T) {
			t.Parallel()
			(&regiontest.Suite{Backend: tp.name, Arguments: tp.args(t), RegionOptions: jsonRegion}).Run(t)
		})
		t.Run(tp.name+"/distributed_lock", func(t *testing.T) {
			t.Parallel()
			args := with(tp.args(t), map[string]any{"distributed_lock": true, "lock_timeout": 30, "lock_sleep": 0.01})
			s := &regiontest.Suite{Backend: tp.name, Arguments: args, RegionOptions: jsonRegion}
			s.Run(t)
			s.RunMutex(t)
		})
	}
}

// The suite with the default serializer, pickle.
func TestConformancePickle(t *testing.T) {
	for _, tp := range topologies {
		t.Run(tp.name, func(t *testing.T) {
			t.Parallel()
			(&regiontest.Suite{Backend: tp.name, Arguments: tp.args(t)}).Run(t)
		})
	}
}
