package pickle

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns matches one of them
// with errors.Is, or is a *TypeError.
var (
	// ErrCorrupt: the bytes are not a well-formed pickle (truncated, a
	// length past the end, an unknown opcode, stack underflow, bytes after
	// STOP, ...).
	ErrCorrupt = errors.New("pickle: corrupt data")
	// ErrUnsupported: the pickle is well formed but holds something that
	// cannot cross into Go (a class not on the allow-list, a persistent
	// reference, ...), or a Go value has no Python counterpart. The
	// *UnsupportedError names the type.
	ErrUnsupported = errors.New("pickle: unsupported type")
	// ErrLimit: a limit that keeps hostile input cheap was reached
	// (nesting depth, the size a value expands to through shared
	// references, integer text length).
	ErrLimit = errors.New("pickle: limit exceeded")
	// ErrNotCachedValue: DecodeCachedValue was given a pickle of something
	// else than a dogpile.cache.api.CachedValue with a metadata dict.
	ErrNotCachedValue = errors.New("pickle: not a dogpile.cache.api.CachedValue")
)

// UnsupportedError reports a type that cannot cross between Python and Go.
// It matches ErrUnsupported with errors.Is.
type UnsupportedError struct {
	// Type is the Python type ("decimal.Decimal", "complex", ...) when
	// reading, or the Go type ("chan int") when writing (GoType true).
	Type   string
	GoType bool
	// Reason says why, when there is more to say.
	Reason string
}

// Error names the type that has no counterpart and why.
func (e *UnsupportedError) Error() string {
	var msg string
	if e.GoType {
		msg = "pickle: Go type " + e.Type + " has no Python counterpart"
	} else {
		msg = "pickle: Python type " + e.Type + " cannot be read into Go"
	}
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// Is reports whether target is ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// TypeError reports a Python value that does not fit the Go type asked
// for: a str decoded into an int, 300 into an int8, ...
type TypeError struct {
	// Path locates the value in the decoded tree: "" for the root,
	// `["roles"][1]` for the second item of the dict key "roles".
	Path string
	// Python is the Python type of the value ("str", "int", ...).
	Python string
	// Go is the Go type it was decoded into.
	Go string
	// Detail says more ("overflows int8"), when there is more to say.
	Detail string
}

// Error names the Python and Go types and where in the value they met.
func (e *TypeError) Error() string {
	where := ""
	if e.Path != "" {
		where = " at " + e.Path
	}
	msg := fmt.Sprintf("pickle: cannot decode Python %s into Go %s%s", e.Python, e.Go, where)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}
