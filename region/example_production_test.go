package region_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/region"
)

func ExampleWithFailSafe() {
	ctx := context.Background()
	r := region.New("prices",
		region.WithFailSafe(region.FailSafe{
			Grace:       time.Hour,              // serve an expired price for up to an hour if the source fails
			SoftTimeout: 200 * time.Millisecond, // don't make a caller with an old value wait longer than this
			HardTimeout: 2 * time.Second,        // no caller waits longer than this for a creator
			// No creator runs longer than this, even one left running in
			// the background: its context ends and the key is freed.
			CreatorTimeout: 30 * time.Second,
		}),
		region.WithErrorHandler(func(_ context.Context, key string, err error) {
			fmt.Println("reported:", key, errors.Unwrap(err))
		}))
	if err := r.Configure("memory", region.WithExpirationTime(50*time.Millisecond)); err != nil {
		panic(err)
	}
	_, _ = r.GetOrCreate(ctx, "EURUSD", func(context.Context) (any, error) { return 1.08, nil })
	time.Sleep(100 * time.Millisecond) // expired

	v, err := r.GetOrCreate(ctx, "EURUSD", func(context.Context) (any, error) {
		return nil, errors.New("price source down")
	})
	fmt.Println(v, err)
	// Output:
	// reported: EURUSD price source down
	// 1.08 <nil>
}

func ExampleWithEarlyRefresh() {
	// Hot keys are regenerated shortly before they expire, by one caller,
	// while everyone else keeps reading the current value. The region
	// learns how long creation takes; the closer a value is to its expiry
	// (in units of that time, scaled by beta), the likelier a hit picks it
	// for regeneration. A huge beta makes every hit here pick it.
	r := region.New("hot", region.WithEarlyRefresh(1e12))
	if err := r.Configure("memory", region.WithExpirationTime(time.Hour)); err != nil {
		panic(err)
	}
	ctx := context.Background()
	version := 0
	creator := func(context.Context) (any, error) {
		time.Sleep(5 * time.Millisecond) // a slow source
		version++
		return fmt.Sprint("report v", version), nil
	}
	v1, _ := r.GetOrCreate(ctx, "report", creator)
	v2, _ := r.GetOrCreate(ctx, "report", creator) // fresh for an hour, yet refreshed early
	fmt.Println(v1, "->", v2)
	// Output: report v1 -> report v2
}

func ExampleNewSharedInvalidation() {
	// Every process configured like this honours an Invalidate made by any
	// of them within CacheFor.
	r := region.New("catalog")
	inv := region.NewSharedInvalidation(r, region.SharedInvalidationOptions{CacheFor: time.Second})
	if err := r.Configure("memory_serialized", region.WithInvalidator(inv), region.WithExpirationTime(time.Hour)); err != nil {
		panic(err)
	}
	defer r.Close() // stops the strategy's refresher

	ctx := context.Background()
	_ = r.Set(ctx, "item:1", "old description")
	time.Sleep(time.Millisecond)
	r.Invalidate(true)
	_, ok, _ := r.Get(ctx, "item:1")
	fmt.Println(ok)
	// Output: false
}

// downBackend is a cache whose server is unreachable.
type downBackend struct{ region.ProxyBackend }

var errCacheDown = errors.New("dial tcp 127.0.0.1:11211: connection refused")

func (downBackend) Get(context.Context, string) (region.CachedValue, bool, error) {
	return region.CachedValue{}, false, errCacheDown
}
func (downBackend) Set(context.Context, string, region.CachedValue) error { return errCacheDown }
func (downBackend) GetMutex(string) region.Mutex                          { return nil }

func init() {
	region.RegisterBackend("example.down", func(region.Arguments) (region.Backend, error) { return &downBackend{}, nil })
	region.RegisterBackend("example.leased", func(args region.Arguments) (region.Backend, error) {
		mem, err := region.NewBackend("memory", args)
		return leasedBackend{mem, lockmutex.NewRegistry(), &leaseExtensions}, err
	})
}

func ExampleWithStrictBackendErrors() {
	creator := func(context.Context) (any, error) { return "from the source", nil }
	ctx := context.Background()

	// By default GetOrCreate fails open: the cache is unreachable, so the
	// creator's value is returned and the error goes to the ErrorHandler
	// (once: a call that could not read the cache does not try to write it).
	open := region.New("open", region.WithErrorHandler(func(_ context.Context, key string, err error) {
		fmt.Println("reported:", errors.Is(err, errCacheDown))
	}))
	if err := open.Configure("example.down"); err != nil {
		panic(err)
	}
	v, err := open.GetOrCreate(ctx, "k", creator)
	fmt.Println(v, err)

	// A strict region returns the error instead.
	strict := region.New("strict", region.WithStrictBackendErrors())
	if err := strict.Configure("example.down"); err != nil {
		panic(err)
	}
	_, err = strict.GetOrCreate(ctx, "k", creator)
	fmt.Println(errors.Is(err, errCacheDown))
	// Output:
	// reported: true
	// from the source <nil>
	// true
}

// leasedMutex is a distributed lock with a lifetime, like lockmutex's
// memcached and Redis mutexes: Extend pushes its expiry back.
type leasedMutex struct {
	region.Mutex
	extensions *atomic.Int32
}

func (m leasedMutex) Extend(context.Context) error { m.extensions.Add(1); return nil }
func (m leasedMutex) LockTimeout() time.Duration   { return 30 * time.Millisecond }

// leaseExtensions counts the extensions of every leasedMutex.
var leaseExtensions atomic.Int32

// leasedBackend hands out leasedMutexes.
type leasedBackend struct {
	region.Backend
	locks      *lockmutex.Registry
	extensions *atomic.Int32
}

func (b leasedBackend) GetMutex(key string) region.Mutex {
	return leasedMutex{b.locks.Mutex(key), b.extensions}
}

func ExampleWithLockLeases() {
	// With a distributed lock (memcached, Redis), a creator that runs past
	// the lock's timeout keeps the lock alive (every third of the timeout),
	// so no second creator starts while it works.
	leaseExtensions.Store(0)
	r := region.New("reports", region.WithLockLeases())
	if err := r.Configure("example.leased"); err != nil {
		panic(err)
	}
	_, err := r.GetOrCreate(context.Background(), "quarterly", func(context.Context) (any, error) {
		time.Sleep(100 * time.Millisecond) // over three lock timeouts
		return "report", nil
	})
	fmt.Println(err, leaseExtensions.Load() >= 2)
	// Output: <nil> true
}
