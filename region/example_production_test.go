package region_test

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	// while everyone else keeps reading the current value.
	r := region.New("hot", region.WithEarlyRefresh(1.0), region.WithAsyncCreationRunner(region.GoroutineRunner))
	if err := r.Configure("memory", region.WithExpirationTime(time.Minute)); err != nil {
		panic(err)
	}
	fmt.Println(r.IsConfigured())
	// Output: true
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

func ExampleWithStrictBackendErrors() {
	// By default GetOrCreate fails open: if the cache is unreachable the
	// creator's value is returned and the error goes to the ErrorHandler.
	// A strict region returns the error instead.
	r := region.New("strict", region.WithStrictBackendErrors())
	if err := r.Configure("memory"); err != nil {
		panic(err)
	}
	v, err := r.GetOrCreate(context.Background(), "k", func(context.Context) (any, error) { return "v", nil })
	fmt.Println(v, err)
	// Output: v <nil>
}

func ExampleWithLockLeases() {
	// With a distributed lock (memcached, Redis), a creator that runs past
	// the lock's timeout keeps the lock alive, so no second creator starts.
	r := region.New("reports", region.WithLockLeases())
	if err := r.Configure("memory"); err != nil { // in production: "memcached" with distributed_lock
		panic(err)
	}
	fmt.Println(r.BackendName())
	// Output: memory
}
