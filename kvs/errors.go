package kvs

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by the key-value store. Test for them with errors.Is; the
// returned errors usually wrap them with the key or store name involved.
var (
	// ErrNotFound: Get, GetMulti or Delete found no value for a key
	// (Keystone's exception.NotFound, HTTP 404). The error is a
	// *NotFoundError listing the missing keys.
	ErrNotFound = errors.New("kvs: not found")

	// ErrLockTimeout: Set or Delete was given a lock whose time ran out
	// (Keystone's LockTimeout). The error is a *LockTimeoutError whose
	// message is "Lock Timeout occurred for key, <key>".
	ErrLockTimeout = errors.New("kvs: lock timeout")

	// ErrLockKeyMismatch: Set or Delete was given a lock for another key
	// (Keystone's ValueError "Lock key must match target key").
	ErrLockKeyMismatch = errors.New("kvs: lock key must match target key")

	// ErrLockNotActive: Set or Delete was given a lock that was never
	// acquired (Keystone's ValidationError "Must be called within an active
	// lock context.").
	ErrLockNotActive = errors.New("kvs: must be called within an active lock context")

	// ErrAlreadyConfigured: Configure was called on a store that is already
	// configured (Keystone's RuntimeError "KVS region ... is already
	// configured. Cannot reconfigure.").
	ErrAlreadyConfigured = errors.New("kvs: already configured")

	// ErrNotConfigured: a data call or a lock was used before Configure
	// (Keystone's "Key Value Store not configured").
	ErrNotConfigured = errors.New("kvs: key value store not configured")

	// ErrLockNotAcquired: a lock's mutex reported that it did not get the
	// lock although it was asked to wait for it (a region.Mutex breaking
	// its contract). Keystone ignored the mutex's answer; the port reports
	// it rather than let a caller write without the lock.
	ErrLockNotAcquired = errors.New("kvs: lock not acquired")
)

// NotFoundError reports the keys that have no value. It matches ErrNotFound
// with errors.Is.
type NotFoundError struct {
	// Keys are the caller's keys (before mangling) that were missing, in
	// the order they were asked for.
	Keys []string
}

// Error returns Keystone's text: "Could not find: <key>." for one key and
// "Could not find: [<key>, <key>]." for several.
func (e *NotFoundError) Error() string {
	if len(e.Keys) == 1 {
		return "Could not find: " + e.Keys[0] + "."
	}
	return "Could not find: [" + strings.Join(e.Keys, ", ") + "]."
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// LockTimeoutError reports a lock that expired before it was used. It
// matches ErrLockTimeout with errors.Is.
type LockTimeoutError struct {
	Key string // the key the lock guards
}

// Error returns "Lock Timeout occurred for key, <key>", Keystone's message.
func (e *LockTimeoutError) Error() string {
	return "Lock Timeout occurred for key, " + e.Key
}

// Is makes errors.Is(err, ErrLockTimeout) true.
func (e *LockTimeoutError) Is(target error) bool { return target == ErrLockTimeout }

func notConfigured(name string) error {
	return fmt.Errorf("%w: %s", ErrNotConfigured, name)
}
