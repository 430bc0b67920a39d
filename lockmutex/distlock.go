package lockmutex

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Defaults for the distributed mutexes' options.
const (
	// DefaultLockTimeout is how long a lock item lives when the options
	// leave LockTimeout zero: Keystone's default lock_timeout of 5 seconds.
	// A holder that crashes blocks others for at most this long.
	DefaultLockTimeout = 5 * time.Second

	// DefaultRetryDelay is the first pause of a blocking Acquire between
	// two attempts. Later pauses double, up to MaxRetryDelay, and each is
	// jittered to between half and all of its nominal length.
	DefaultRetryDelay = 10 * time.Millisecond

	// DefaultMaxRetryDelay caps the pause between two attempts.
	DefaultMaxRetryDelay = 500 * time.Millisecond
)

// LockKeyPrefix is put in front of a key to form the name of its lock item,
// as dogpile.cache and Keystone do: the lock for "k" is "_lock" + "k".
const LockKeyPrefix = "_lock"

// settings are normalized options shared by the distributed mutexes.
type settings struct {
	lockTimeout   time.Duration
	maxAttempts   int // 0: unlimited
	retryDelay    time.Duration
	maxRetryDelay time.Duration
}

func newSettings(lockTimeout time.Duration, maxAttempts int, retryDelay, maxRetryDelay time.Duration) settings {
	s := settings{lockTimeout, maxAttempts, retryDelay, maxRetryDelay}
	if s.lockTimeout <= 0 {
		s.lockTimeout = DefaultLockTimeout
	}
	if s.maxAttempts < 0 {
		s.maxAttempts = 0
	}
	if s.retryDelay <= 0 {
		s.retryDelay = DefaultRetryDelay
	}
	if s.maxRetryDelay <= 0 {
		s.maxRetryDelay = DefaultMaxRetryDelay
	}
	if s.maxRetryDelay < s.retryDelay {
		s.maxRetryDelay = s.retryDelay
	}
	return s
}

// backoff returns the jittered pause after the given (1-based) failed
// attempt.
func (s settings) backoff(attempt int) time.Duration {
	d := s.retryDelay
	for i := 1; i < attempt && d < s.maxRetryDelay; i++ {
		d *= 2
	}
	d = min(d, s.maxRetryDelay)
	half := d / 2
	return half + rand.N(d-half+1)
}

// holder is the per-mutex state shared by the distributed mutexes: the
// token of the current hold, if any.
type holder struct {
	mu        sync.Mutex
	token     string // "" when not held
	acquiring bool   // an Acquire is under way
}

// newToken returns a random token that identifies one hold of a lock.
func newToken() string { return crand.Text() }

// beginAcquire reserves the mutex for one Acquire call.
func (h *holder) beginAcquire(lockKey string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.token != "" || h.acquiring {
		return fmt.Errorf("%w: %q", ErrAlreadyHeld, lockKey)
	}
	h.acquiring = true
	return nil
}

// endAcquire ends an Acquire call, recording token when it got the lock.
func (h *holder) endAcquire(token string, acquired bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.acquiring = false
	if acquired {
		h.token = token
	}
}

// current returns the token of the current hold, or an ErrNotHeld error.
func (h *holder) current(lockKey, op string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.token == "" {
		return "", fmt.Errorf("%w: %s %q: this mutex does not hold the lock", ErrNotHeld, op, lockKey)
	}
	return h.token, nil
}

// forget drops the hold identified by token (after a release, or when the
// lock turned out to be lost).
func (h *holder) forget(token string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.token == token {
		h.token = ""
	}
}

// held reports whether the mutex believes it holds the lock.
func (h *holder) held() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.token != ""
}

// acquire runs the attempt loop shared by the distributed mutexes. try makes
// one attempt with the given token: (true, nil) when it got the lock,
// (false, nil) when someone else holds it.
func (h *holder) acquire(ctx context.Context, s settings, lockKey string, wait bool,
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
		if s.maxAttempts > 0 && attempt >= s.maxAttempts {
			return false, fmt.Errorf("%w: %d attempts on %q", ErrMaxLockAttempts, attempt, lockKey)
		}
		if err := sleep(ctx, s.backoff(attempt)); err != nil {
			return false, err
		}
	}
}

// sleep pauses for d or until ctx ends, returning ctx.Err() in that case.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
