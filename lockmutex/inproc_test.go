package lockmutex

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRegistryMutex(t *testing.T) {
	ctx := context.Background()
	r := NewRegistry()
	m := r.Mutex("foo")
	if locked, _ := m.Locked(ctx); locked {
		t.Fatal("new mutex is locked")
	}
	if ok, err := m.Acquire(ctx, true); !ok || err != nil {
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	if ok, err := r.Mutex("foo").Acquire(ctx, false); ok || err != nil {
		t.Fatalf("try-acquire while held = %v, %v; want false", ok, err)
	}
	if locked, _ := m.Locked(ctx); !locked {
		t.Fatal("Locked is false while held")
	}
	// Other keys are independent.
	bar := r.Mutex("bar")
	if ok, _ := bar.Acquire(ctx, false); !ok {
		t.Fatal("an independent key was blocked")
	}
	if ok, _ := bar.Acquire(ctx, false); ok {
		t.Fatal("the lock is reentrant; want not")
	}
	_ = bar.Release(ctx)
	if err := m.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Release(ctx); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("second Release: %v; want ErrNotHeld", err)
	}
	if locked, _ := m.Locked(ctx); locked {
		t.Fatal("Locked after release")
	}
	if n := r.Len(); n != 0 {
		t.Fatalf("registry keeps %d locks nobody uses", n)
	}
}

func TestRegistryWaitHonoursContext(t *testing.T) {
	r := NewRegistry()
	ctx := context.Background()
	if ok, _ := r.Acquire(ctx, "k", false); !ok {
		t.Fatal("first acquire failed")
	}
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	ok, err := r.Acquire(wctx, "k", true)
	if ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire = %v, %v; want the context's error", ok, err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("waiter did not give up promptly")
	}
	// The cancelled waiter left no reference behind.
	if err := r.Release("k"); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Fatalf("Len = %d after everyone left", r.Len())
	}
}

func TestRegistryMutualExclusion(t *testing.T) {
	r := NewRegistry()
	ctx := context.Background()
	var inside, overlaps atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				m := r.Mutex("shared")
				if ok, err := m.Acquire(ctx, true); !ok || err != nil {
					t.Errorf("Acquire = %v, %v", ok, err)
					return
				}
				if inside.Add(1) > 1 {
					overlaps.Add(1)
				}
				inside.Add(-1)
				_ = m.Release(ctx)
			}
		}()
	}
	wg.Wait()
	if overlaps.Load() != 0 {
		t.Fatalf("%d overlapping holders", overlaps.Load())
	}
	if r.Len() != 0 {
		t.Fatalf("Len = %d after everyone left", r.Len())
	}
}

func TestRegistryFreesManyKeys(t *testing.T) {
	r := NewRegistry()
	ctx := context.Background()
	for i := 0; i < 100000; i++ {
		k := fmt.Sprint("key-", i)
		if ok, _ := r.Acquire(ctx, k, true); !ok {
			t.Fatal("acquire failed")
		}
		if err := r.Release(k); err != nil {
			t.Fatal(err)
		}
	}
	if r.Len() != 0 {
		t.Fatalf("Len = %d; every key's lock should be freed", r.Len())
	}
}
