package region

import "fmt"

// RefusedArgumentError reports an argument a backend knows but refuses: one
// that dogpile.cache (or the Python client under it) takes but that has no
// Go counterpart (a Python object, say), or one that the Python backend
// would silently drop next to another (host next to url), so that a Go
// region never quietly means something else than its Python twin. It
// matches ErrBadArgument.
type RefusedArgumentError struct {
	// Backend is the backend's registered name, e.g. "dogpile.cache.redis".
	Backend string
	// Name is the argument, e.g. "connection_pool", or the entry of a map
	// argument, e.g. "connection_kwargs.retry".
	Name string
	// Reason says why, and what to give instead.
	Reason string
	// Kind, if set, is a sentinel of the backend's package that the error
	// matches too (e.g. memcache.ErrUnsupportedBackend for SASL).
	Kind error
}

// Error names the argument and says why it is refused. It does not repeat
// the backend's name: Configure and NewBackend wrap the error with it.
func (e *RefusedArgumentError) Error() string {
	return fmt.Sprintf("argument %q refused: %s", e.Name, e.Reason)
}

// Is makes errors.Is(err, ErrBadArgument) true, and errors.Is(err, Kind).
func (e *RefusedArgumentError) Is(target error) bool {
	return target == ErrBadArgument || (e.Kind != nil && target == e.Kind)
}
