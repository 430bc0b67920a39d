package cli

import (
	"bytes"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"testing"
)

// FuzzParseJSONValue: whatever set accepts, get prints as JSON that set
// reads back as the same value (numbers exactly, floats staying floats),
// and a refused number is one that would not have read back the same.
func FuzzParseJSONValue(f *testing.F) {
	for _, s := range []string{`1`, `-0`, `0.1`, `1e400`, `1e-400`, `9223372036854775808`, `18446744073709551616`,
		`[1.0, -2.5e-7, {"a": 1e21}]`, `0.1000000000000000055511151231257827`, `"x"`, `5e-324`, `1.7976931348623157e308`,
		`123456789012345678901234567890`, `0e99999999999999999999`, `1e99999999999999999999`, `-0.0`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		v, err := parseJSONValue(text)
		if err != nil {
			return
		}
		var out bytes.Buffer
		notes, err := writeJSON(&out, v)
		if err != nil || len(notes) != 0 {
			t.Fatalf("%q: printed %q with notes %v, %v", text, out.String(), notes, err)
		}
		back, err := parseJSONValue(out.String())
		if err != nil {
			t.Fatalf("%q: printed %q, which set refuses: %v", text, out.String(), err)
		}
		if !sameValue(v, back) {
			t.Fatalf("%q: %#v printed as %q reads back as %#v", text, v, out.String(), back)
		}
	})
}

// sameValue is reflect.DeepEqual with -0.0 equal to itself.
func sameValue(a, b any) bool {
	fa, okA := a.(float64)
	fb, okB := b.(float64)
	if okA && okB {
		return fa == fb && math.Signbit(fa) == math.Signbit(fb)
	}
	return reflect.DeepEqual(a, b)
}

// jsonNumber is JSON's number syntax.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// FuzzExactNumber: an accepted number literal is exactly the float or
// integer stored; strconv agrees.
func FuzzExactNumber(f *testing.F) {
	for _, s := range []string{"1", "0.1", "1e400", "3.14159265358979323846", "-9223372036854775809", "2.5e-324", "1E5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !jsonNumber.MatchString(s) {
			return // set only ever passes JSON number literals
		}
		v, err := exactNumber(s)
		if err != nil {
			return
		}
		var stored string
		switch x := v.(type) {
		case int64:
			stored = strconv.FormatInt(x, 10)
		case uint64:
			stored = strconv.FormatUint(x, 10)
		case float64:
			stored = strconv.FormatFloat(x, 'e', -1, 64)
		default:
			t.Fatalf("%q stored as %T", s, v)
		}
		if !sameDecimal(s, stored) {
			t.Fatalf("%q stored as %s", s, stored)
		}
	})
}
