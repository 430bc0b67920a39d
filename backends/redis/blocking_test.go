package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// lock_blocking_timeout is redis-py's blocking_timeout: 0 means one attempt
// and no wait, as in redis-py; left out, a waiting Acquire waits until the
// lock is free or its context ends.
func TestLockBlockingTimeout(t *testing.T) {
	ctx := testCtx(t)
	key := testservers.UniqueKey(t, "")
	base := with(singleArgs(t), region.Arguments{"distributed_lock": true, "lock_timeout": 30, "lock_sleep": 0.01})
	holder := newRegion(t, jsonRegion, "dogpile.cache.redis", base).Backend().GetMutex(key)
	if ok, err := holder.Acquire(ctx, true); err != nil || !ok {
		t.Fatalf("holder's Acquire = %v, %v", ok, err)
	}
	defer func() { _ = holder.Release(ctx) }()

	zero := newRegion(t, jsonRegion, "dogpile.cache.redis", with(base, region.Arguments{"lock_blocking_timeout": "0"}))
	start := time.Now()
	ok, err := zero.Backend().GetMutex(key).Acquire(ctx, true)
	if err != nil || ok {
		t.Errorf("lock_blocking_timeout=0: Acquire of a held lock = %v, %v; want false, nil", ok, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("lock_blocking_timeout=0 waited %v; want a single attempt", d)
	}

	unset := newRegion(t, jsonRegion, "dogpile.cache.redis", base)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if ok, err := unset.Backend().GetMutex(key).Acquire(short, true); ok || err == nil {
		t.Errorf("no lock_blocking_timeout: Acquire of a held lock = %v, %v; want to wait until its context ends", ok, err)
	}

	neg := region.New("neg")
	defer neg.Close()
	if err := neg.Configure("dogpile.cache.redis", region.WithArguments(with(base, region.Arguments{"lock_blocking_timeout": -1}))); err == nil || !strings.Contains(err.Error(), "lock_blocking_timeout") {
		t.Errorf("lock_blocking_timeout=-1: Configure = %v; want an error naming it", err)
	}
}
