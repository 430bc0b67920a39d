package redis_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// With region.WithLockLeases a creator that runs longer than lock_timeout
// keeps redis-py's lock alive, so a second process waits for its value
// rather than taking the expired lock and creating again. The lock timeout
// (2 s, extended every 667 ms) leaves a loaded machine room; the second
// region asks once the first creator has run past one lock timeout.
func TestLockLeases(t *testing.T) {
	ctx := testCtx(t)
	const lockTimeout = 2 * time.Second
	args := with(singleArgs(t), region.Arguments{"distributed_lock": true, "lock_timeout": lockTimeout.Seconds(), "lock_sleep": 0.05})
	leased := func() *region.Region {
		return newRegion(t, append([]region.Option{region.WithLockLeases()}, jsonRegion...), "dogpile.cache.redis", args)
	}
	a, b := leased(), leased()
	key := testservers.UniqueKey(t, "k")
	var runs atomic.Int32
	started := make(chan struct{})
	creator := func(who string) func(context.Context) (any, error) {
		return func(context.Context) (any, error) {
			if runs.Add(1) == 1 {
				close(started)
			}
			time.Sleep(3 * lockTimeout)
			return who, nil
		}
	}
	done := make(chan any, 1)
	go func() {
		v, err := a.GetOrCreate(ctx, key, creator("a"))
		if err != nil {
			t.Error(err)
		}
		done <- v
	}()
	<-started
	time.Sleep(lockTimeout * 3 / 2) // past one lock timeout
	v, err := b.GetOrCreate(ctx, key, creator("b"))
	if err != nil || v != "a" {
		t.Fatalf("the second region got %v, %v; want the first creator's value", v, err)
	}
	if <-done != "a" || runs.Load() != 1 {
		t.Fatalf("%d creators ran; want 1", runs.Load())
	}
}
