package lockmutex

import "errors"

// Errors returned by the distributed mutexes. Test for them with errors.Is;
// the returned errors wrap them with the lock key and further detail.
var (
	// ErrMaxLockAttempts: a blocking Acquire made MaxLockAttempts attempts
	// without getting the lock. The error message names the lock key and the
	// number of attempts (Keystone's "Maximum lock attempts on <key>
	// occurred").
	ErrMaxLockAttempts = errors.New("lockmutex: maximum lock attempts exhausted")

	// ErrNotHeld: Release or Extend was called on a mutex that does not hold
	// the lock (never acquired, or already released). A lost lock (see
	// ErrLockLost) matches ErrNotHeld too.
	ErrNotHeld = errors.New("lockmutex: lock not held")

	// ErrLockLost: the mutex acquired the lock, but when it came to Release
	// or Extend it the lock item had expired, and possibly another holder
	// had taken it. Nothing was changed on the server: another holder's
	// lock is never removed or extended. Errors matching ErrLockLost also
	// match ErrNotHeld, and the mutex counts as not holding the lock
	// afterwards.
	ErrLockLost = errors.New("lockmutex: lock lost")

	// ErrAlreadyHeld: Acquire was called on a mutex that already holds the
	// lock. The distributed mutexes are not reentrant; Release first (or
	// use another mutex value).
	ErrAlreadyHeld = errors.New("lockmutex: lock already held by this mutex")

	// ErrInvalidKey: the lock key cannot be stored by the server (for
	// memcached: longer than 250 bytes, or containing spaces or control
	// characters). Nothing is sent to the server.
	ErrInvalidKey = errors.New("lockmutex: invalid lock key")

	// ErrNilClient: the mutex was constructed with a nil client.
	ErrNilClient = errors.New("lockmutex: nil client")
)
