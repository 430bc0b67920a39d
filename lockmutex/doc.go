// Package lockmutex provides the mutexes behind the region's dogpile lock:
// the lock that lets one caller create a missing or expired value while
// the others wait for it or serve the old one.
//
// Four kinds share the method set of region.Mutex
// (Acquire(ctx, wait), Release(ctx), Locked(ctx)):
//
//   - Registry and KeyMutex (this package): an in-process lock per key,
//     the default when a backend offers no mutex of its own. It excludes
//     goroutines of one process only, and costs no memory for keys nobody
//     holds.
//
//   - memcachedmutex.Mutex (package lockmutex/memcachedmutex):
//     dogpile.cache's and Keystone's memcached lock. The lock is an item
//     "_lock"+key created with memcached's add, so it excludes every
//     process that uses the same memcached servers.
//
//   - redismutex.Mutex (package lockmutex/redismutex): the same on Redis,
//     with SET NX PX.
//
//   - redismutex.PyLock: redis-py's Lock, as dogpile.cache's Redis
//     backends use it (optional expiry, a fixed polling interval), so that
//     Go and Python processes share one creation lock per key.
//
// This package imports no network client: the distributed mutexes live in
// the subpackages, next to their clients, so a program that keeps its
// values in process links neither gomemcache nor go-redis. What they share
// is here: the errors (ErrLockLost, ErrMaxLockAttempts, ... which every
// mutex's errors match with errors.Is), the option defaults and
// LockKeyPrefix.
//
// The distributed mutexes store a random token per holder in the lock item
// and give it a lifetime (LockTimeout), so a crashed holder blocks the
// others for about that long (PyLock only when given a timeout: redis-py's
// default is none). Release and Extend change the item only while it still
// holds the caller's token: a holder whose lock expired and was taken by
// someone else gets ErrLockLost and never removes or extends the new
// holder's lock. A blocking Acquire retries with jittered exponential
// backoff until it gets the lock, its context ends, or MaxLockAttempts is
// used up (ErrMaxLockAttempts); PyLock polls every Sleep instead, as
// redis-py does, until its BlockingTimeout. Every call honours its context,
// Release included: to release a lock after the caller's context has
// ended, pass context.WithoutCancel(ctx) (a lock that is not released
// expires after its LockTimeout anyway).
//
// The package does not import region; region's Mutex interface is satisfied
// structurally.
package lockmutex
