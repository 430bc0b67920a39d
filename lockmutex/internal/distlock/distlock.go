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
// token of the current hold, if any, and what the mutex's client returned
// for it (a redislock hold, say). The zero value holds nothing.
type Holder struct {
	mu        sync.Mutex
	token     string // "" when not held
	hold      any    // the current hold's value, when the client gave one
	acquiring bool   // an Acquire is under way
}

// NewToken returns a random token that identifies one hold of a lock.
func NewToken() string { return crand.Text() }

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

// endAcquire ends an Acquire call, recording token and hold when it got
// the lock.
func (h *Holder) endAcquire(token string, hold any, acquired bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.acquiring = false
	if acquired {
		h.token, h.hold = token, hold
	}
}

// Current returns the token of the current hold, or an error matching
// lockmutex.ErrNotHeld that names op and the lock key.
func (h *Holder) Current(lockKey, op string) (string, error) {
	token, _, err := h.CurrentHold(lockKey, op)
	return token, err
}

// CurrentHold returns the token and the value of the current hold, or an
// error matching lockmutex.ErrNotHeld that names op and the lock key.
func (h *Holder) CurrentHold(lockKey, op string) (token string, hold any, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.token == "" {
		return "", nil, fmt.Errorf("%w: %s %q: this mutex does not hold the lock", lockmutex.ErrNotHeld, op, lockKey)
	}
	return h.token, h.hold, nil
}

// Forget drops the hold identified by token (after a release, or when the
// lock turned out to be lost).
func (h *Holder) Forget(token string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.token == token {
		h.token, h.hold = "", nil
	}
}

// Held reports whether the mutex believes it holds the lock.
func (h *Holder) Held() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.token != ""
}

// Loop is how one mutex takes its lock: Holder.Run's attempts.
type Loop struct {
	// NewToken makes the token of a hold; nil means NewToken.
	NewToken func() string
	// Try makes one attempt with token: got is true when it took the lock
	// (hold is then the value the client returned for it, if any), false
	// when someone else holds it.
	Try func(ctx context.Context, token string) (hold any, got bool, err error)
	// Next decides, after the attempt-th failed attempt of a waiting
	// Acquire, whether to pause for d and try again, or to stop: Acquire
	// then returns false and err (nil: it gave up without an error).
	Next func(attempt int) (d time.Duration, stop bool, err error)
}

// Run runs the attempt loop of an Acquire. A second Acquire while the
// mutex holds the lock, or is acquiring it, fails with
// lockmutex.ErrAlreadyHeld. Without wait it makes one attempt; with wait,
// failed attempts go on as l.Next says until ctx ends. An error of Try is
// returned at once, or ctx's error when ctx has ended (see ContextFailure).
func (h *Holder) Run(ctx context.Context, lockKey string, wait bool, l Loop) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := h.beginAcquire(lockKey); err != nil {
		return false, err
	}
	newToken := l.NewToken
	if newToken == nil {
		newToken = NewToken
	}
	token := newToken()
	var hold any
	acquired := false
	defer func() { h.endAcquire(token, hold, acquired) }()

	for attempt := 1; ; attempt++ {
		var err error
		hold, acquired, err = l.Try(ctx, token)
		if err != nil {
			acquired = false
			return false, ContextFailure(ctx, err)
		}
		if acquired || !wait {
			return acquired, nil
		}
		d, stop, err := l.Next(attempt)
		if stop || err != nil {
			return false, err
		}
		if err := Sleep(ctx, d); err != nil {
			return false, err
		}
	}
}

// Acquire runs the attempt loop with s's backoff: failed attempts of a
// waiting Acquire are retried after s.Backoff until ctx ends or
// s.MaxAttempts are used up (lockmutex.ErrMaxLockAttempts). try makes one
// attempt with the given token: (true, nil) when it got the lock, (false,
// nil) when someone else holds it.
func (h *Holder) Acquire(ctx context.Context, s Settings, lockKey string, wait bool,
	try func(ctx context.Context, token string) (bool, error)) (bool, error) {
	return h.Run(ctx, lockKey, wait, Loop{
		Try: func(ctx context.Context, token string) (any, bool, error) {
			got, err := try(ctx, token)
			return nil, got, err
		},
		Next: s.Next(lockKey),
	})
}

// Next is the Loop.Next of s for lockKey: s.Backoff after each failed
// attempt, until MaxAttempts attempts have failed
// (lockmutex.ErrMaxLockAttempts, naming the lock key).
func (s Settings) Next(lockKey string) func(attempt int) (time.Duration, bool, error) {
	return func(attempt int) (time.Duration, bool, error) {
		if s.MaxAttempts > 0 && attempt >= s.MaxAttempts {
			return 0, true, fmt.Errorf("%w: %d attempts on %q", lockmutex.ErrMaxLockAttempts, attempt, lockKey)
		}
		return s.Backoff(attempt), false, nil
	}
}

// ContextFailure returns ctx's error when ctx has ended (or its deadline
// has passed: a client that applies the deadline to its socket can report
// the socket's timeout a moment before the context's own timer fires), and
// err otherwise.
func ContextFailure(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return err
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
