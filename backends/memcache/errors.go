package memcache

import (
	"errors"
	"fmt"
	"github.com/dogpile-go/dogpile/region"
)

// Errors returned by the memcached backends. Test for them with errors.Is;
// the returned errors wrap them with the key, size or server involved.
var (
	// ErrInvalidKey: a key memcached cannot store (longer than 250 bytes,
	// or containing anything but printable non-space ASCII). The error is a
	// *KeyError naming the key. Nothing was sent to any server. With the
	// default SHA-1 key mangler every region key is legal.
	ErrInvalidKey = errors.New("memcache: invalid key")

	// ErrValueTooLarge: a value (with its key and the server's per-item
	// overhead) does not fit in one memcached item. The error is a
	// *ValueSizeError naming the key and the size. Nothing was stored.
	ErrValueTooLarge = errors.New("memcache: value too large")

	// ErrNoServers: the backend was configured without a server address.
	ErrNoServers = errors.New("memcache: no servers configured")

	// ErrUnknownDriver: the openstack.kvs.Memcached backend was given a
	// memcached_backend that is not registered. The message lists the
	// registered drivers.
	ErrUnknownDriver = errors.New("memcache: unknown memcached_backend driver")
)

// KeyError reports a key memcached cannot store. It matches ErrInvalidKey.
type KeyError struct {
	Key    string // the key as the backend received it (after mangling)
	Reason string // what is wrong with it
}

// Error names the key and what is wrong with it.
func (e *KeyError) Error() string {
	return fmt.Sprintf("memcache: invalid key %q: %s (memcached keys are at most %d bytes of printable non-space ASCII; use a key mangler such as region.SHA1MangleKey)",
		e.Key, e.Reason, MaxKeyLength)
}

// Is makes errors.Is(err, ErrInvalidKey) true, and errors.Is(err,
// region.ErrBadArgument): the key is the caller's to fix, so a fail-open
// region returns this error rather than hiding it.
func (e *KeyError) Is(target error) bool {
	return target == ErrInvalidKey || target == region.ErrBadArgument
}

// ValueSizeError reports a value too large for one memcached item. It
// matches ErrValueTooLarge.
type ValueSizeError struct {
	Key  string // the key as the backend received it (after mangling)
	Size int    // the value's size in bytes (the serialized envelope)
	Max  int    // the largest value that fits under this key
}

// Error names the key, the size and the limit.
func (e *ValueSizeError) Error() string {
	return fmt.Sprintf("memcache: value for key %q is %d bytes; at most %d fit in one memcached item under this key (max_item_size minus key and item overhead)",
		e.Key, e.Size, e.Max)
}

// Is makes errors.Is(err, ErrValueTooLarge) true, and errors.Is(err,
// region.ErrBadArgument), like KeyError.
func (e *ValueSizeError) Is(target error) bool {
	return target == ErrValueTooLarge || target == region.ErrBadArgument
}

// ServerError is a failure talking to one memcached server: a refused or
// timed-out connection, a server error reply, a protocol error. It names
// the operation, the key (or the number of keys of a batch) and the server
// address, and unwraps to the client library's error.
type ServerError struct {
	Op   string // "get", "get_multi", "set", "delete", ...
	Key  string // the key (after mangling); for batches, the first key of the batch
	Keys int    // for batches, how many keys went to this server; 0 for single-key calls
	Addr string // the server the key maps to ("" if it could not be chosen)
	Err  error  // the underlying error
}

// Error names the operation, the key or keys, the server and the cause.
func (e *ServerError) Error() string {
	target := fmt.Sprintf("key %q", e.Key)
	if e.Keys > 1 {
		target = fmt.Sprintf("%d keys (first %q)", e.Keys, e.Key)
	}
	addr := e.Addr
	if addr == "" {
		addr = "(no server)"
	}
	return fmt.Sprintf("memcache: %s %s on %s: %v", e.Op, target, addr, e.Err)
}

// Unwrap returns the client library's error.
func (e *ServerError) Unwrap() error { return e.Err }
