package lockmutex

import "time"

// Defaults for the distributed mutexes' options (packages
// lockmutex/memcachedmutex and lockmutex/redismutex).
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
