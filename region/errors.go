package region

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors returned by the region. Test for them with errors.Is; the
// returned errors usually wrap them with the name, key or argument involved.
var (
	// ErrPluginNotFound: Configure named a backend or proxy that is not
	// registered. The message lists the registered names and, for a name a
	// package of this module registers, the import that registers it
	// (backends register when their package is imported, as database/sql
	// drivers do); for a likely typo, the name meant.
	ErrPluginNotFound = errors.New("region: plugin not found")
	// ErrAlreadyConfigured: Configure was called on a configured region
	// without WithReplaceExistingBackend.
	ErrAlreadyConfigured = errors.New("region: already configured")
	// ErrNotConfigured: a data call was made before Configure.
	ErrNotConfigured = errors.New("region: not configured")
	// ErrBadArgument: a configuration argument or call argument could not be
	// used. The error is an *ArgumentError naming it.
	ErrBadArgument = errors.New("region: bad argument")
	// ErrSoftInvalidationNeedsExpiration: a soft-invalidated value was read
	// through GetOrCreate with no expiration time to expire it against.
	ErrSoftInvalidationNeedsExpiration = errors.New("region: soft invalidation requires an expiration time")
	// ErrTypeMismatch: a typed read found a value of another type. The error
	// is a *TypeError.
	ErrTypeMismatch = errors.New("region: cached value has another type")
	// ErrCreationTimeout: a caller waited longer than FailSafe.HardTimeout
	// for a value to be created (the creation goes on in the background),
	// or a creator ran past FailSafe.CreatorTimeout.
	ErrCreationTimeout = errors.New("region: timed out waiting for the value to be created")
	// ErrCorruptValue: bytes read from a byte backend could not be parsed.
	// Reads treat such values as absent; the error reaches the region's
	// error handler.
	ErrCorruptValue = errors.New("region: corrupt cached value")
)

// ArgumentError reports a configuration or call argument that could not be
// used.
type ArgumentError struct {
	Name  string // the argument, e.g. "expiration_time"
	Value any    // what was given
	Want  string // what was expected, e.g. "a duration"
	Err   error  // the underlying parse error, if any
}

// Error names the argument, the value and what was expected.
func (e *ArgumentError) Error() string {
	msg := fmt.Sprintf("region: argument %q: cannot use %#v as %s", e.Name, e.Value, e.Want)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrBadArgument) true.
func (e *ArgumentError) Is(target error) bool { return target == ErrBadArgument }

// Unwrap returns the underlying parse error.
func (e *ArgumentError) Unwrap() error { return e.Err }

// TypeError reports a typed read (GetAs, GetOrCreateAs) of a key whose cached
// value has another type.
type TypeError struct {
	Key  string // the caller's key (before mangling)
	Want string // the requested type
	Got  string // the cached value's type
	Err  error  // the decoding error for serialized values, if any
}

// Error names the key and both types.
func (e *TypeError) Error() string {
	msg := fmt.Sprintf("region: key %q: cached value is %s, not %s", e.Key, e.Got, e.Want)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrTypeMismatch) true.
func (e *TypeError) Is(target error) bool { return target == ErrTypeMismatch }

// Unwrap returns the decoding error, if any.
func (e *TypeError) Unwrap() error { return e.Err }

// UnknownArgumentError reports configuration arguments that a backend does
// not know. dogpile.cache ignores such arguments; this project refuses them,
// because a silently dropped argument (a misspelt lock_timeout, a host meant
// for another backend) configures a different cache than the one intended.
// It matches ErrBadArgument.
type UnknownArgumentError struct {
	Backend string   // the backend's registered name, e.g. "memcached"
	Names   []string // the unknown arguments, sorted
	// Suggestions maps an unknown argument to the known one it is probably
	// a misspelling of, when there is one.
	Suggestions map[string]string
}

// Error names every unknown argument, with "did you mean" hints. It does
// not repeat the backend's name: Configure and NewBackend wrap the error
// with it ("backend \"memcached\": unknown argument ...").
func (e *UnknownArgumentError) Error() string {
	var b strings.Builder
	b.WriteString("unknown argument")
	if len(e.Names) > 1 {
		b.WriteString("s")
	}
	for i, n := range e.Names {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %q", n)
		if s, ok := e.Suggestions[n]; ok {
			fmt.Fprintf(&b, " (did you mean %q?)", s)
		}
	}
	return b.String()
}

// Is makes errors.Is(err, ErrBadArgument) true.
func (e *UnknownArgumentError) Is(target error) bool { return target == ErrBadArgument }
