package region

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dogpile-go/dogpile/lockmutex"
)

// WithLockLeases keeps a distributed creation lock alive while it is held:
// from taking the lock to releasing it, creator included, the region
// extends the lock every third of its timeout, so a creator that runs
// longer than the timeout does not let a second creator start meanwhile
// (memcached: compare-and-swap of the holder's token with a new expiry;
// Redis: a script that resets the expiry only while the lock holds the
// holder's token). Extension stops as soon as it finds the lock no longer
// the holder's. It applies to mutexes with Extend(ctx) error and
// LockTimeout() methods, as those of lockmutex/memcachedmutex and
// lockmutex/redismutex have; the in-process mutex needs none.
func WithLockLeases() Option {
	return func(r *Region) { r.leases = true }
}

// extendable is a mutex with a lifetime that its holder can renew.
type extendable interface {
	Mutex
	Extend(context.Context) error
	LockTimeout() time.Duration
}

// leased returns m with a lease, when the region takes leases and m can be
// extended: from Acquire to Release, m is extended every third of its
// timeout.
func (r *Region) leased(m Mutex, key string) Mutex {
	if e, ok := m.(extendable); ok && r.leases && e.LockTimeout() > 0 {
		return &leasedMutex{extendable: e, r: r, key: key}
	}
	return m
}

type leasedMutex struct {
	extendable
	r    *Region
	key  string
	stop func() // ends the lease; nil: none running
}

func (m *leasedMutex) Acquire(ctx context.Context, wait bool) (bool, error) {
	got, err := m.extendable.Acquire(ctx, wait)
	if got && err == nil {
		m.stop = m.renew(context.WithoutCancel(ctx))
	}
	return got, err
}

func (m *leasedMutex) Release(ctx context.Context) error {
	if m.stop != nil {
		m.stop()
		m.stop = nil
	}
	return m.extendable.Release(ctx)
}

// renew extends the lock on a timer until the returned function is called,
// or an extension finds the lock lost (someone else may hold it now).
func (m *leasedMutex) renew(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(m.LockTimeout() / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := m.Extend(ctx); err != nil {
					m.r.reportError(ctx, m.key, fmt.Errorf("extending the creation lock: %w", err))
					if errors.Is(err, lockmutex.ErrNotHeld) {
						return
					}
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
