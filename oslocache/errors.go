package oslocache

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Every error the package returns wraps one of them (test
// with errors.Is) and is a *SyntaxError or an *OptionError naming the file,
// the line and, for options, the section and option.
var (
	// ErrSyntax: the file is not in oslo.config's ini dialect (a line
	// that is neither a section, a comment nor name = value, an indented
	// line with nothing to continue, ...).
	ErrSyntax = errors.New("oslocache: syntax error")
	// ErrUnknownOption: a [cache] option that oslo.cache does not define.
	// oslo.config ignores such keys; this package refuses them, because a
	// misspelt option is a setting silently not applied.
	ErrUnknownOption = errors.New("oslocache: unknown option")
	// ErrBadValue: an option's value cannot be used (not a number, out of
	// range, a $reference that cannot be resolved, a file that cannot be
	// read, ...), or options that oslo.cache refuses together.
	ErrBadValue = errors.New("oslocache: bad value")
	// ErrUnsupported: a setting oslo.cache honours that has no Go
	// counterpart here (SASL authentication, the dbm, mongo and etcd3gw
	// backends, ...). The message says why.
	ErrUnsupported = errors.New("oslocache: unsupported setting")
)

// Pos is where a value was written: a file and a line (1-based). The zero
// Pos stands for a default value, written nowhere.
type Pos struct {
	File string
	Line int
}

// String returns "file:line", or "" for the zero Pos.
func (p Pos) String() string {
	switch {
	case p.File == "" && p.Line == 0:
		return ""
	case p.Line == 0:
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// IsZero reports whether p is the position of a default value.
func (p Pos) IsZero() bool { return p == Pos{} }

// SyntaxError reports a line of the file that oslo.config's parser refuses.
type SyntaxError struct {
	Pos  Pos
	Text string // the line as written
	Msg  string // what is wrong, in oslo.config's words
}

// Error returns "file:line: msg: line".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s: %s: %q", e.Pos, e.Msg, e.Text)
}

// Is makes errors.Is(err, ErrSyntax) true.
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }

// OptionError reports an option that cannot be used: its position, section,
// name and value, and why.
type OptionError struct {
	Pos     Pos
	Section string // "cache", or the group of a memoization option
	Option  string
	Value   string // the value as written (after $substitution), if any
	Kind    error  // ErrUnknownOption, ErrBadValue or ErrUnsupported
	Msg     string // what is wrong and, where it helps, what to do
	// Err is the error the option led to, if any: the backend's
	// *region.ArgumentError or *region.UnknownArgumentError when it
	// refuses the argument the option was mapped to (see
	// RegionSettings.Apply).
	Err error
}

// Error returns "file:line: [section] option: msg".
func (e *OptionError) Error() string {
	where := e.Pos.String()
	if where != "" {
		where += ": "
	}
	return fmt.Sprintf("%s[%s] %s: %s", where, e.Section, e.Option, e.Msg)
}

// Is makes errors.Is(err, e.Kind) true.
func (e *OptionError) Is(target error) bool { return target == e.Kind }

// Unwrap returns Err, so that errors.Is and errors.As see the backend's
// error too (region.ErrBadArgument, *region.UnknownArgumentError, ...).
func (e *OptionError) Unwrap() error { return e.Err }
