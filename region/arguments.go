package region

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dogpile-go/dogpile/internal/suggest"
)

// Arguments are a backend's configuration arguments, as given in code or
// read from a configuration file. The typed getters accept both Go values
// and the strings a config file gives ("600", "true", "1.5", "a,b") and
// return an *ArgumentError naming the argument when a value cannot be used.
//
// A BackendFactory must treat its Arguments as read-only; Clone and Without
// return modified copies.
type Arguments map[string]any

// CheckKnown returns an *UnknownArgumentError (matching ErrBadArgument)
// naming every argument of a that is not one of known, with a "did you
// mean" hint where one is close, or nil. A BackendFactory calls it first,
// with every argument it reads, including those it accepts without a use
// in Go (documented as such), so that a misspelt or misplaced argument is
// refused rather than silently ignored. backend is the registered name the
// error reports.
func (a Arguments) CheckKnown(backend string, known ...string) error {
	var unknown []string
	for name := range a {
		if !slices.Contains(known, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	e := &UnknownArgumentError{Backend: backend, Names: unknown}
	for _, n := range unknown {
		if s := suggest.Closest(n, known); s != "" {
			if e.Suggestions == nil {
				e.Suggestions = map[string]string{}
			}
			e.Suggestions[n] = s
		}
	}
	return e
}

// Has reports whether name is set (to anything other than nil).
func (a Arguments) Has(name string) bool {
	v, ok := a[name]
	return ok && v != nil
}

// Clone returns a copy of a that can be modified freely.
func (a Arguments) Clone() Arguments {
	if a == nil {
		return Arguments{}
	}
	return maps.Clone(a)
}

// Without returns a copy of a without the named arguments.
func (a Arguments) Without(names ...string) Arguments {
	c := a.Clone()
	for _, n := range names {
		delete(c, n)
	}
	return c
}

func (a Arguments) bad(name string, v any, want string, err error) error {
	return &ArgumentError{Name: name, Value: v, Want: want, Err: err}
}

// String returns the named argument as a string, or def when it is unset.
func (a Arguments) String(name, def string) (string, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case fmt.Stringer:
		return x.String(), nil
	case int, int64, int32, uint, uint64, uint32, float64, float32, bool:
		return fmt.Sprint(x), nil
	}
	return "", a.bad(name, v, "a string", nil)
}

// Int returns the named argument as an int, or def when it is unset.
func (a Arguments) Int(name string, def int) (int, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case int:
		return x, nil
	case int8:
		return int(x), nil
	case int16:
		return int(x), nil
	case int32:
		return int(x), nil
	case int64:
		return int(x), nil
	case uint:
		return int(x), nil
	case uint8:
		return int(x), nil
	case uint16:
		return int(x), nil
	case uint32:
		return int(x), nil
	case uint64:
		if x > 1<<62 {
			return 0, a.bad(name, v, "an integer", nil)
		}
		return int(x), nil
	case float64:
		if x != float64(int64(x)) {
			return 0, a.bad(name, v, "an integer", nil)
		}
		return int(x), nil
	case float32:
		if x != float32(int64(x)) {
			return 0, a.bad(name, v, "an integer", nil)
		}
		return int(x), nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return 0, a.bad(name, v, "an integer", nil)
		}
		return n, nil
	}
	return 0, a.bad(name, v, "an integer", nil)
}

// Float returns the named argument as a float64, or def when it is unset.
func (a Arguments) Float(name string, def float64) (float64, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, a.bad(name, v, "a number", nil)
		}
		return f, nil
	}
	n, err := a.Int(name, 0)
	if err != nil {
		return 0, a.bad(name, v, "a number", nil)
	}
	return float64(n), nil
}

// Bool returns the named argument as a bool, or def when it is unset.
// Strings true/false, yes/no, on/off and 1/0 are accepted.
func (a Arguments) Bool(name string, def bool) (bool, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case int, int64, int32, float64:
		if n, err := a.Int(name, 0); err == nil && (n == 0 || n == 1) {
			return n == 1, nil
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "on", "1":
			return true, nil
		case "false", "no", "off", "0":
			return false, nil
		}
	}
	return false, a.bad(name, v, "a boolean", nil)
}

// Duration returns the named argument as a duration, or def when it is
// unset. Numbers (and numeric strings such as "600" or "1.5") are seconds,
// as in dogpile.cache and Keystone; strings such as "10m" or "250ms" are Go
// durations. Negative durations are rejected.
func (a Arguments) Duration(name string, def time.Duration) (time.Duration, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	d, ok, tooLarge := toDuration(v)
	switch {
	case tooLarge:
		return 0, a.bad(name, v, "a duration", errDurationTooLarge)
	case !ok:
		return 0, a.bad(name, v, "a duration (seconds or a Go duration such as \"10m\")", nil)
	case d < 0:
		return 0, a.bad(name, v, "a duration of zero or more", nil)
	}
	return d, nil
}

// errDurationTooLarge is the cause of an ArgumentError for a duration that
// a time.Duration cannot hold.
var errDurationTooLarge = fmt.Errorf("too large: the longest duration is %d seconds (about 292 years)", int64(1<<63-1)/int64(time.Second))

// maxDurationSeconds is the longest time.Duration, in seconds.
const maxDurationSeconds = float64(1<<63-1) / float64(time.Second)

// toDuration converts v to a duration. tooLarge reports a number of seconds
// (or a Go duration) beyond what a time.Duration holds.
func toDuration(v any) (d time.Duration, ok, tooLarge bool) {
	seconds := func(f float64) (time.Duration, bool, bool) {
		if f != f {
			return 0, false, false
		}
		if f > maxDurationSeconds || f < -maxDurationSeconds {
			return 0, false, true
		}
		return time.Duration(f * float64(time.Second)), true, false
	}
	switch x := v.(type) {
	case time.Duration:
		return x, true, false
	case string:
		s := strings.TrimSpace(x)
		if f, err := strconv.ParseFloat(s, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			return seconds(f)
		}
		if d, err := time.ParseDuration(s); err == nil {
			return d, true, false
		}
		// ParseDuration refuses a duration too large for it as it refuses
		// one that is not well-formed: add the parts up in float seconds.
		if f, ok := durationSeconds(s); ok {
			return seconds(f)
		}
		return 0, false, false
	case float64:
		return seconds(x)
	case float32:
		return seconds(float64(x))
	}
	n, err := Arguments{"": v}.Int("", 0)
	if err != nil {
		// An integer type too large for an int (a uint64 above 2^62).
		if u, isUint := v.(uint64); isUint {
			return seconds(float64(u))
		}
		return 0, false, false
	}
	return seconds(float64(n))
}

// durationUnits are the units of a Go duration, in seconds.
var durationUnits = map[string]float64{
	"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600,
}

// durationSeconds reads s, a Go duration ("1h30m", "-2.5s"), as float
// seconds, which hold durations of any size; ok is false when s is not
// well-formed.
func durationSeconds(s string) (total float64, ok bool) {
	sign := 1.0
	if s != "" && (s[0] == '+' || s[0] == '-') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	isNumber := func(r rune) bool { return r == '.' || (r >= '0' && r <= '9') }
	for s != "" {
		unitAt := strings.IndexFunc(s, func(r rune) bool { return !isNumber(r) })
		if unitAt <= 0 {
			return 0, false // no number, or no unit
		}
		n, err := strconv.ParseFloat(s[:unitAt], 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false
		}
		end := strings.IndexFunc(s[unitAt:], isNumber)
		if end < 0 {
			end = len(s) - unitAt
		}
		unit, known := durationUnits[s[unitAt:unitAt+end]]
		if !known {
			return 0, false
		}
		total += n * unit
		s = s[unitAt+end:]
	}
	return sign * total, true
}

// Strings returns the named argument as a list of strings, or def when it is
// unset. A single string is split at commas (spaces around items trimmed,
// empty items dropped), so "a, b" and []string{"a", "b"} are the same.
func (a Arguments) Strings(name string, def []string) ([]string, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case []string:
		return append([]string(nil), x...), nil
	case string:
		return splitList(x), nil
	case []any:
		out := make([]string, 0, len(x))
		for _, item := range x {
			s, ok := item.(string)
			if !ok {
				return nil, a.bad(name, v, "a list of strings", nil)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, a.bad(name, v, "a list of strings", nil)
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var (
	intPattern   = regexp.MustCompile(`^[-+]?\d+$`)
	floatPattern = regexp.MustCompile(`^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$`)
)

// CoerceString turns a configuration string into the value it spells, the
// way dogpile.cache's configure_from_config does: integers become int,
// decimals float64, "true"/"false" bool, "None" nil; anything else stays the
// (trimmed) string. A number is converted only when it reads back as the
// same text, so "0123", "1e3" or "1.10" (a password, a database name, a
// version) stay strings; the typed getters still parse them as numbers.
// Lists stay strings; Arguments.Strings splits them.
func CoerceString(s string) any {
	v := strings.TrimSpace(s)
	switch {
	case intPattern.MatchString(v):
		if n, err := strconv.Atoi(v); err == nil && strconv.Itoa(n) == v {
			return n
		}
		return v
	case floatPattern.MatchString(v):
		if f, err := strconv.ParseFloat(v, 64); err == nil && strconv.FormatFloat(f, 'f', -1, 64) == v {
			return f
		}
		return v
	case strings.EqualFold(v, "true"):
		return true
	case strings.EqualFold(v, "false"):
		return false
	case v == "None":
		return nil
	}
	return v
}
