package kvs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/lockmutex"
)

func TestLockExpiry(t *testing.T) {
	reg := lockmutex.NewRegistry()
	ctx := t.Context()
	l := NewLock(reg.Mutex("k"), "k", true, 5*time.Second)
	if l.Active() {
		t.Fatal("new lock is active")
	}
	if !l.Expired() {
		t.Error("a never-acquired lock with a timeout should count as expired")
	}
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if !l.Active() || l.Expired() || l.Key() != "k" || l.Timeout() != 5*time.Second {
		t.Fatalf("acquired lock: active %v expired %v", l.Active(), l.Expired())
	}
	// The window: expired once held longer than timeout - LockWindow (4 s).
	shiftAcquired(l, 3900*time.Millisecond)
	if l.Expired() {
		t.Error("expired after 3.9 s of 5")
	}
	shiftAcquired(l, 200*time.Millisecond)
	if !l.Expired() {
		t.Error("not expired after 4.1 s of 5")
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if !l.Active() {
		t.Error("lock inactive after Release; Keystone keeps it active")
	}
	if reg.Locked("k") {
		t.Error("mutex still held after Release")
	}
	if NewLock(nil, "k", false, 0).Expired() {
		t.Error("a lock with timeout 0 expired")
	}
	if NewLock(nil, "k", false, -time.Second).Timeout() != 0 {
		t.Error("negative timeout kept")
	}
}

func TestLockDisabled(t *testing.T) {
	ctx := t.Context()
	l := NewLock(nil, "k", false, 5*time.Second)
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if !l.Active() || l.Expired() || l.Enabled() {
		t.Fatalf("disabled lock: active %v expired %v enabled %v", l.Active(), l.Expired(), l.Enabled())
	}
	shiftAcquired(l, 10*time.Second)
	if !l.Expired() {
		t.Error("disabled lock does not expire")
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := NewLock(nil, "k", true, 0).Acquire(ctx); err == nil {
		t.Error("enabled lock without a mutex acquired")
	}
}

func TestLockNotActive(t *testing.T) {
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memory")
	ctx := t.Context()
	l := s.GetLock("k")
	if err := s.Set(ctx, "k", 1, l); !errors.Is(err, ErrLockNotActive) {
		t.Fatalf("Set with an unacquired lock: %v, want ErrLockNotActive", err)
	}
	if err := s.Delete(ctx, "k", l); !errors.Is(err, ErrLockNotActive) {
		t.Fatalf("Delete with an unacquired lock: %v, want ErrLockNotActive", err)
	}
	// Delete under a lock: NotFound when absent, checked after the lock checks.
	err := s.WithLock(ctx, "k", func(l *Lock) error {
		if err := s.Delete(ctx, "k", l); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete of a missing key under a lock: %v", err)
		}
		if err := s.Set(ctx, "k", 1, l); err != nil {
			return err
		}
		return s.Delete(ctx, "k", l)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLockMutualExclusion(t *testing.T) {
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memory")
	ctx := t.Context()
	first := s.GetLock("k")
	if err := first.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	// Another lock on the same key waits; it gives up when its ctx ends.
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	second := s.GetLock("k")
	if err := second.Acquire(wctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Acquire: %v, want context.DeadlineExceeded", err)
	}
	if second.Active() {
		t.Fatal("second lock active after a failed Acquire")
	}
	// Other keys are independent.
	other := s.GetLock("other")
	if err := other.Acquire(wctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- second.Acquire(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("second Acquire returned %v while the first holds the lock", err)
	case <-time.After(20 * time.Millisecond):
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := second.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := second.Release(ctx); !errors.Is(err, lockmutex.ErrNotHeld) {
		t.Errorf("second Release: %v, want lockmutex.ErrNotHeld", err)
	}
	// A stale lock's Release leaves the current holder's lock alone.
	third := s.GetLock("k")
	if err := third.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Release(ctx); !errors.Is(err, lockmutex.ErrNotHeld) {
		t.Errorf("stale Release: %v, want lockmutex.ErrNotHeld", err)
	}
	if err := third.Acquire(ctx); !errors.Is(err, lockmutex.ErrAlreadyHeld) {
		t.Errorf("Acquire of a held lock: %v, want lockmutex.ErrAlreadyHeld", err)
	}
	sctx, scancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer scancel()
	if err := s.GetLock("k").Acquire(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock taken while the third holder has it: %v", err)
	}
	if err := third.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWithLockReleases(t *testing.T) {
	s := newStore(t)
	mustConfigure(t, s, "openstack.kvs.Memory")
	ctx := t.Context()
	boom := errors.New("boom")
	if err := s.WithLock(ctx, "k", func(*Lock) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("WithLock = %v, want fn's error", err)
	}
	assertFree(t, s, "k")

	func() {
		defer func() {
			if r := recover(); r != "panic in fn" {
				t.Fatalf("recovered %v", r)
			}
		}()
		_ = s.WithLock(ctx, "k", func(*Lock) error { panic("panic in fn") })
	}()
	assertFree(t, s, "k")

	// A release error is joined to fn's result.
	err := s.WithLock(ctx, "k", func(l *Lock) error {
		return l.Release(ctx) // released early: WithLock's release fails
	})
	if !errors.Is(err, lockmutex.ErrNotHeld) {
		t.Fatalf("WithLock after an early release: %v, want lockmutex.ErrNotHeld", err)
	}
	assertFree(t, s, "k")

	// A cancelled context: fn is not called.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	hold := s.GetLock("k")
	if err := hold.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.WithLock(cctx, "k", func(*Lock) error { t.Error("fn called"); return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("WithLock with a cancelled ctx: %v", err)
	}
	if err := hold.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

func assertFree(t *testing.T, s *KeyValueStore, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	l := s.GetLock(key)
	if err := l.Acquire(ctx); err != nil {
		t.Fatalf("lock %q not released: %v", key, err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// notAcquiringMutex breaks the region.Mutex contract: it reports failure
// without an error although asked to wait.
type notAcquiringMutex struct{}

func (notAcquiringMutex) Acquire(context.Context, bool) (bool, error) { return false, nil }
func (notAcquiringMutex) Release(context.Context) error               { return nil }
func (notAcquiringMutex) Locked(context.Context) (bool, error)        { return true, nil }

func TestLockNotAcquired(t *testing.T) {
	l := NewLock(notAcquiringMutex{}, "k", true, 0)
	if err := l.Acquire(t.Context()); !errors.Is(err, ErrLockNotAcquired) {
		t.Fatalf("%v, want ErrLockNotAcquired", err)
	}
	if l.Active() {
		t.Fatal("lock active")
	}
}
