package kvs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	_ "github.com/dogpile-go/dogpile/backends/memory" // registers openstack.kvs.Memory
	"github.com/dogpile-go/dogpile/kvs"
	"github.com/dogpile-go/dogpile/region"
)

// Token is what the examples store.
type Token struct {
	ID     string
	UserID string
	Roles  []string
}

// A token store, as Keystone's token persistence used it: configure once,
// write under a lock, read back typed.
func Example() {
	ctx := context.Background()
	s := kvs.GetKeyValueStore("example-token", nil)
	if err := s.Configure("openstack.kvs.Memory"); err != nil {
		fmt.Println(err)
		return
	}
	tok := Token{ID: "3f9a", UserID: "alice", Roles: []string{"admin"}}
	err := s.WithLock(ctx, tok.ID, func(l *kvs.Lock) error {
		return s.Set(ctx, tok.ID, tok, l)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := kvs.GetAs[Token](ctx, s, tok.ID)
	fmt.Printf("%+v %v\n", got, err)

	_, err = kvs.GetAs[Token](ctx, s, "revoked")
	fmt.Println(errors.Is(err, kvs.ErrNotFound), err)
	// Output:
	// {ID:3f9a UserID:alice Roles:[admin]} <nil>
	// true Could not find: revoked.
}

func ExampleGetKeyValueStore() {
	a := kvs.GetKeyValueStore("example-shared", nil)
	b := kvs.GetKeyValueStore("example-shared", nil) // same name, same store
	fmt.Println(a == b, a.IsConfigured())

	if err := a.Configure("openstack.kvs.Memory"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.IsConfigured())
	// Output:
	// true false
	// true
}

func ExampleKeyValueStore_Configure() {
	s := kvs.GetKeyValueStore("example-configure", nil)
	err := s.Configure("openstack.kvs.Memory",
		kvs.WithLocking(true),
		kvs.WithArguments(region.Arguments{"lock_timeout": 10}))
	fmt.Println(err, s.IsConfigured(), s.LockTimeout())

	// A store is configured once.
	err = s.Configure("openstack.kvs.Memory")
	fmt.Println(errors.Is(err, kvs.ErrAlreadyConfigured))

	// Keys reach the backend SHA-1-mangled unless told otherwise.
	fmt.Println(s.Region().KeyMangler()("token-1"))
	// Output:
	// <nil> true 10s
	// true
	// 2ff8ce7b15424e80f5d5dcd568c370d816dfeff3
}

func ExampleKeyValueStore_Set() {
	ctx := context.Background()
	s := kvs.GetKeyValueStore("example-set", nil)
	if err := s.Configure("openstack.kvs.Memory"); err != nil {
		fmt.Println(err)
		return
	}
	// Without a lock.
	fmt.Println(s.Set(ctx, "a", "one", nil))

	// With a lock: it must be for the key, acquired and not expired.
	lock := s.GetLock("b")
	fmt.Println(errors.Is(s.Set(ctx, "b", "two", lock), kvs.ErrLockNotActive))
	if err := lock.Acquire(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Set(ctx, "b", "two", lock))
	fmt.Println(errors.Is(s.Set(ctx, "a", "two", lock), kvs.ErrLockKeyMismatch))
	fmt.Println(lock.Release(ctx))

	vals, err := s.GetMulti(ctx, []string{"a", "b"})
	fmt.Println(vals, err)
	// Output:
	// <nil>
	// true
	// <nil>
	// true
	// <nil>
	// [one two] <nil>
}

func ExampleKeyValueStore_Get() {
	ctx := context.Background()
	s := kvs.GetKeyValueStore("example-get", nil)
	if err := s.Configure("openstack.kvs.Memory"); err != nil {
		fmt.Println(err)
		return
	}
	_ = s.SetMulti(ctx, map[string]any{"user:1": "alice", "user:2": "bob"})

	v, err := s.Get(ctx, "user:1")
	fmt.Println(v, err)

	_, err = s.GetMulti(ctx, []string{"user:1", "user:3", "user:4"})
	var nf *kvs.NotFoundError
	fmt.Println(errors.As(err, &nf), nf.Keys, err)

	fmt.Println(s.Delete(ctx, "user:2", nil))
	fmt.Println(errors.Is(s.Delete(ctx, "user:2", nil), kvs.ErrNotFound))
	// Output:
	// alice <nil>
	// true [user:3 user:4] Could not find: [user:3, user:4].
	// <nil>
	// true
}

func ExampleKeyValueStore_WithLock() {
	ctx := context.Background()
	s := kvs.GetKeyValueStore("example-counter", nil)
	if err := s.Configure("openstack.kvs.Memory"); err != nil {
		fmt.Println(err)
		return
	}
	increment := func() error {
		return s.WithLock(ctx, "counter", func(l *kvs.Lock) error {
			n, err := kvs.GetAs[int](ctx, s, "counter")
			if err != nil && !errors.Is(err, kvs.ErrNotFound) {
				return err
			}
			return s.Set(ctx, "counter", n+1, l)
		})
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for range 100 {
				if err := increment(); err != nil {
					fmt.Println(err)
				}
			}
		})
	}
	wg.Wait()
	n, err := kvs.GetAs[int](ctx, s, "counter")
	fmt.Println(n, err)
	// Output:
	// 1000 <nil>
}
