// Package distlock holds what the distributed mutexes of lockmutex's
// subpackages (memcachedmutex, redismutex) share and that needs no client:
// the normalized options, the jittered backoff, the per-mutex record of the
// current hold, the attempt loop of a blocking Acquire, and the error of a
// lost lock.
package distlock

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/dogpile-go/dogpile/lockmutex"
)

// Settings are the normalized options of a distributed mutex.
type Settings struct {
	LockTimeout   time.Duration
	MaxAttempts   int // 0: unlimited
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
}

// NewSettings normalizes the options: zero or negative values take the
// lockmutex defaults, and MaxRetryDelay is at least RetryDelay.
func NewSettings(lockTimeout time.Duration, maxAttempts int, retryDelay, maxRetryDelay time.Duration) Settings {
	s := Settings{lockTimeout, maxAttempts, retryDelay, maxRetryDelay}
	if s.LockTimeout <= 0 {
		s.LockTimeout = lockmutex.DefaultLockTimeout
	}
	if s.MaxAttempts < 0 {
		s.MaxAttempts = 0
	}
	if s.RetryDelay <= 0 {
		s.RetryDelay = lockmutex.DefaultRetryDelay
	}
	if s.MaxRetryDelay <= 0 {
		s.MaxRetryDelay = lockmutex.DefaultMaxRetryDelay
	}
	if s.MaxRetryDelay < s.RetryDelay {
		s.MaxRetryDelay = s.RetryDelay
	}
	return s
}

// Backoff returns the jittered pause after the given (1-based) failed
// attempt: RetryDelay doubled per attempt up to MaxRetryDelay, jittered to
// between half and all of it.
func (s Settings) Backoff(attempt int) time.Duration {
	d := s.RetryDelay
	for i := 1; i < attempt && d < s.MaxRetryDelay; i++ {
		d *= 2
	}
	d = min(d, s.MaxRetryDelay)
	half := d / 2
	return half + rand.N(d-half+1)
}

// Holder is the per-mutex state shared by the distributed mutexes: the
// token of the current hold, if any. The zero value holds nothing.
type Holder struct {
	mu        sync.Mutex
	token     string // "" when not held
	acquiring bool   // an Acquire is under way
}

// newToken returns a random token that identifies one hold of a lock.
func newToken() string { return crand.Text() }

// beginAcquire reserves the mutex for one Acquire call.
func (h *Holder) beginAcquire(lockKey string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.token != "" || h.acquiring {
		return fmt.Errorf("%w: %q", lockmutex.ErrAlreadyHeld, lockKey)
	}
	h.acquiring = true
	return nil
}

// endAcquire ends an Acquire call, recording token when it got the lock.
func (h *Holder) endAcquire(token string, acquired bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.acquiring = false
	if acquired {
		h.token = token
	}
}

// Current returns the token of the current hold, or an error matching
// lockmutex.ErrNotHeld that names op and the lock key.
func (h *Holder) Current(lockKey, op string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.token == "" {
		return "", fmt.Errorf("%w: %s %q: this mutex does not hold the lock", lockmutex.ErrNotHeld, op, lockKey)
	}
	return h.token, nil
}

// Forget drops the hold identified by token (after a release, or when the
// lock turned out to be lost).
func (h *Holder) Forget(token string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.token == token {
		h.token = ""
	}
}

// Held reports whether the mutex believes it holds the lock.
func (h *Holder) Held() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.token != ""
}

// Acquire runs the attempt loop shared by the distributed mutexes. try makes
// one attempt with the given token: (true, nil) when it got the lock,
// (false, nil) when someone else holds it. A second Acquire while the mutex
// holds the lock, or is acquiring it, fails with lockmutex.ErrAlreadyHeld.
// With wait, failed attempts are retried after s.Backoff until ctx ends or
// s.MaxAttempts are used up (lockmutex.ErrMaxLockAttempts).
func (h *Holder) Acquire(ctx context.Context, s Settings, lockKey string, wait bool,
	try func(ctx context.Context, token string) (bool, error)) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := h.beginAcquire(lockKey); err != nil {
		return false, err
	}
	token := newToken()
	acquired := false
	defer func() { h.endAcquire(token, acquired) }()

	for attempt := 1; ; attempt++ {
		ok, err := try(ctx, token)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return false, ctxErr
			}
			return false, err
		}
		if ok {
			acquired = true
			return true, nil
		}
		if !wait {
			return false, nil
		}
		if s.MaxAttempts > 0 && attempt >= s.MaxAttempts {
			return false, fmt.Errorf("%w: %d attempts on %q", lockmutex.ErrMaxLockAttempts, attempt, lockKey)
		}
		if err := Sleep(ctx, s.Backoff(attempt)); err != nil {
			return false, err
		}
	}
}

// Sleep pauses for d or until ctx ends, returning ctx.Err() in that case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// LockLost returns the error for a lock that expired under its holder
// (lockKey is the lock item's name, op "release" or "extend"). It matches
// both lockmutex.ErrLockLost and lockmutex.ErrNotHeld.
func LockLost(lockKey, op string) error {
	return &lockLostError{key: lockKey, op: op}
}

type lockLostError struct {
	key string
	op  string
}

func (e *lockLostError) Error() string {
	return fmt.Sprintf("lockmutex: %s %q: lock lost (it expired, and another holder may have taken it)", e.op, e.key)
}

func (e *lockLostError) Is(target error) bool {
	return target == lockmutex.ErrLockLost || target == lockmutex.ErrNotHeld
}
