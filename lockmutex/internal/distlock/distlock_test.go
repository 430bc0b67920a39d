package distlock

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/lockmutex"
)

func TestBackoff(t *testing.T) {
	s := NewSettings(0, 0, 10*time.Millisecond, 80*time.Millisecond)
	for attempt, nominal := range map[int]time.Duration{1: 10, 2: 20, 3: 40, 4: 80, 5: 80, 100: 80} {
		nominal *= time.Millisecond
		for range 50 {
			if d := s.Backoff(attempt); d < nominal/2 || d > nominal {
				t.Fatalf("backoff(%d) = %v; want in [%v, %v]", attempt, d, nominal/2, nominal)
			}
		}
	}
	if s := NewSettings(-1, -1, -1, -1); s != (Settings{lockmutex.DefaultLockTimeout, 0, lockmutex.DefaultRetryDelay, lockmutex.DefaultMaxRetryDelay}) {
		t.Errorf("defaults = %+v", s)
	}
	if s := NewSettings(0, 0, time.Second, time.Millisecond); s.MaxRetryDelay != time.Second {
		t.Errorf("MaxRetryDelay below RetryDelay not raised: %+v", s)
	}
}

// The lost-lock error matches both sentinels and names the operation and
// the lock key, whichever package's mutex returns it.
func TestLockLost(t *testing.T) {
	err := LockLost("_lockk", "release")
	if !errors.Is(err, lockmutex.ErrLockLost) || !errors.Is(err, lockmutex.ErrNotHeld) {
		t.Fatalf("LockLost = %v; want it to match ErrLockLost and ErrNotHeld", err)
	}
	if errors.Is(err, lockmutex.ErrAlreadyHeld) {
		t.Fatalf("LockLost matches ErrAlreadyHeld")
	}
	if msg := err.Error(); !strings.Contains(msg, "release") || !strings.Contains(msg, `"_lockk"`) {
		t.Errorf("message %q should name the operation and the lock key", msg)
	}
}

// The holder records one hold at a time: a second Acquire fails with
// ErrAlreadyHeld, MaxAttempts ends a waiting Acquire, and Forget only drops
// the hold it names.
func TestHolder(t *testing.T) {
	ctx := context.Background()
	s := NewSettings(0, 3, time.Millisecond, time.Millisecond)
	var h Holder
	if _, err := h.Current("_lockk", "release"); !errors.Is(err, lockmutex.ErrNotHeld) {
		t.Fatalf("Current of a new holder = %v; want ErrNotHeld", err)
	}
	var got string
	ok, err := h.Acquire(ctx, s, "_lockk", false, func(_ context.Context, token string) (bool, error) {
		got = token
		return true, nil
	})
	if !ok || err != nil || !h.Held() {
		t.Fatalf("Acquire = %v, %v (held %v); want the lock", ok, err, h.Held())
	}
	if tok, err := h.Current("_lockk", "release"); tok != got || err != nil {
		t.Fatalf("Current = %q, %v; want the token of the attempt %q", tok, err, got)
	}
	if ok, err := h.Acquire(ctx, s, "_lockk", true, nil); ok || !errors.Is(err, lockmutex.ErrAlreadyHeld) {
		t.Fatalf("second Acquire = %v, %v; want ErrAlreadyHeld", ok, err)
	}
	h.Forget("another token")
	if !h.Held() {
		t.Fatal("Forget of another token dropped the hold")
	}
	h.Forget(got)
	if h.Held() {
		t.Fatal("Forget of the hold's token left it held")
	}

	attempts := 0
	ok, err = h.Acquire(ctx, s, "_lockk", true, func(context.Context, string) (bool, error) {
		attempts++
		return false, nil
	})
	if ok || !errors.Is(err, lockmutex.ErrMaxLockAttempts) || attempts != 3 || !strings.Contains(err.Error(), "3 attempts") {
		t.Fatalf("waiting Acquire = %v, %v after %d attempts; want ErrMaxLockAttempts after 3", ok, err, attempts)
	}
	if h.Held() {
		t.Fatal("failed Acquire left the holder held")
	}
}

// Run records the hold's value with its token, uses the mutex's own token
// maker, and stops where Next says: without an error (false, nil), or with
// Next's error.
func TestHolderRun(t *testing.T) {
	ctx := context.Background()
	var h Holder
	type hold struct{ n int }
	ok, err := h.Run(ctx, "_lockk", false, Loop{
		NewToken: func() string { return "tok" },
		Try:      func(context.Context, string) (any, bool, error) { return &hold{1}, true, nil },
	})
	if !ok || err != nil {
		t.Fatalf("Run = %v, %v; want the lock", ok, err)
	}
	if tok, v, err := h.CurrentHold("_lockk", "release"); tok != "tok" || err != nil || v.(*hold).n != 1 {
		t.Fatalf("CurrentHold = %q, %v, %v; want the token and value of the attempt", tok, v, err)
	}
	h.Forget("tok")
	if _, v, err := h.CurrentHold("_lockk", "release"); v != nil || !errors.Is(err, lockmutex.ErrNotHeld) {
		t.Fatalf("after Forget: %v, %v", v, err)
	}

	attempts, pauses := 0, 0
	busy := func(context.Context, string) (any, bool, error) { attempts++; return nil, false, nil }
	ok, err = h.Run(ctx, "_lockk", true, Loop{Try: busy, Next: func(attempt int) (time.Duration, bool, error) {
		pauses++
		return time.Millisecond, attempt >= 2, nil
	}})
	if ok || err != nil || attempts != 2 || pauses != 2 {
		t.Fatalf("Run that gives up = %v, %v after %d attempts; want false, nil after 2", ok, err, attempts)
	}
	stopErr := errors.New("stop")
	if ok, err := h.Run(ctx, "_lockk", true, Loop{Try: busy, Next: func(int) (time.Duration, bool, error) { return 0, true, stopErr }}); ok || err != stopErr {
		t.Fatalf("Run stopped with an error = %v, %v", ok, err)
	}
	if h.Held() {
		t.Fatal("a Run that did not get the lock left the holder held")
	}
	// A failed attempt past the context's deadline reports the deadline.
	dctx, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	_, err = h.Run(context.WithoutCancel(dctx), "_lockk", false, Loop{Try: func(context.Context, string) (any, bool, error) {
		return nil, false, errors.New("i/o timeout")
	}})
	if err == nil || err.Error() != "i/o timeout" {
		t.Fatalf("Run with a context without deadline = %v; want the attempt's error", err)
	}
	if got := ContextFailure(dctx, errors.New("i/o timeout")); !errors.Is(got, context.DeadlineExceeded) {
		t.Fatalf("ContextFailure past the deadline = %v", got)
	}
}
