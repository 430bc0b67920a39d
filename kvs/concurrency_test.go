package kvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// increment adds one to the int under key, read-modify-write under the
// key's lock.
func increment(ctx context.Context, s *KeyValueStore, key string) error {
	return s.WithLock(ctx, key, func(l *Lock) error {
		n, err := GetAs[int](ctx, s, key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return s.Set(ctx, key, n+1, l)
	})
}

// hammer runs workers goroutines doing perWorker increments each.
func hammer(ctx context.Context, s *KeyValueStore, key string, workers, perWorker int) error {
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range perWorker {
				if err := increment(ctx, s, key); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func TestConcurrentIncrementsMemory(t *testing.T) {
	const workers, perWorker = 8, 1000
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memory")
	ctx := t.Context()
	if err := hammer(ctx, s, "counter", workers, perWorker); err != nil {
		t.Fatal(err)
	}
	n, err := GetAs[int](ctx, s, "counter")
	if err != nil {
		t.Fatal(err)
	}
	if n != workers*perWorker {
		t.Fatalf("counter = %d, want %d", n, workers*perWorker)
	}
}

// runChild runs a child role of the cross-process tests and returns the
// exit code.
func runChild(role string) int {
	var err error
	switch role {
	case "memcached-counter":
		err = childMemcachedCounter()
	default:
		err = fmt.Errorf("unknown child role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}
