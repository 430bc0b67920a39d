package region

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ArgumentString renders a cached function's argument for its key as
// dogpile's function_key_generator renders a Python function's positional
// arguments: each with Python's str(), joined by spaces. A slice, an array
// or a struct (without a String method) is several arguments: its elements,
// or its exported fields in order. A single value renders as Python's str()
// of the Python value it stands for:
//
//	string      as it is                 true, false   True, False
//	nil         None                     1.0, 1.5      1.0, 1.5 (Python's repr of a float)
//	42          42                       *big.Int      its decimal digits
//	[]byte      b'...' (Python's bytes)  fmt.Stringer  its String()
//
// and a list or map inside an argument as Python prints one: [1, 'a'],
// {'k': 2} (map keys sorted).
func ArgumentString(arg any) string {
	if _, ok := arg.(fmt.Stringer); !ok && arg != nil {
		if _, isBytes := arg.([]byte); !isBytes {
			v := reflect.ValueOf(arg)
			switch v.Kind() {
			case reflect.Slice, reflect.Array:
				parts := make([]string, v.Len())
				for i := range parts {
					parts[i] = pyStr(v.Index(i))
				}
				return strings.Join(parts, " ")
			case reflect.Struct:
				var parts []string
				for i := range v.NumField() {
					if v.Type().Field(i).IsExported() {
						parts = append(parts, pyStr(v.Field(i)))
					}
				}
				return strings.Join(parts, " ")
			}
		}
	}
	return pyStr(reflect.ValueOf(arg))
}

// pyStr is Python's str() of the Python value v stands for.
func pyStr(v reflect.Value) string {
	for v.IsValid() && v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	if !v.IsValid() {
		return "None"
	}
	if v.Kind() == reflect.String {
		return v.String()
	}
	return pyRepr(v)
}

var bigIntType = reflect.TypeOf((*big.Int)(nil))

// pyRepr is Python's repr() of the Python value v stands for (what str()
// of a list or dict shows for its items).
func pyRepr(v reflect.Value) string {
	for v.IsValid() && v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	if !v.IsValid() {
		return "None"
	}
	if v.CanInterface() {
		switch x := v.Interface().(type) {
		case *big.Int:
			if x == nil {
				return "None"
			}
			return x.String()
		case []byte:
			return pyBytesRepr(x)
		case fmt.Stringer:
			if v.Kind() == reflect.Pointer && v.IsNil() {
				return "None"
			}
			return x.String()
		}
	}
	switch v.Kind() {
	case reflect.String:
		return pyStringRepr(v.String())
	case reflect.Bool:
		if v.Bool() {
			return "True"
		}
		return "False"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return string(appendPythonFloat(nil, v.Float()))
	case reflect.Pointer:
		if v.IsNil() {
			return "None"
		}
		return pyRepr(v.Elem())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return "[]"
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = pyRepr(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		items := make([][2]string, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			items = append(items, [2]string{pyRepr(it.Key()), pyRepr(it.Value())})
		}
		slices.SortFunc(items, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
		parts := make([]string, len(items))
		for i, kv := range items {
			parts[i] = kv[0] + ": " + kv[1]
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	if v.CanInterface() {
		return fmt.Sprint(v.Interface())
	}
	return v.String()
}

// appendPythonFloat appends f as Python's repr (and so str and json.dumps)
// writes it: the shortest decimal that reads back as f, with ".0" on
// integral values, an exponent only below 1e-4 or from 1e16, and inf, -inf
// and nan (json.dumps writes Infinity and NaN; dogpile never writes them).
func appendPythonFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		// Both write 1e+16 and 1.5e-05.
		return strconv.AppendFloat(dst, f, 'e', -1, 64)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	if bytes.IndexByte(dst[start:], '.') < 0 {
		dst = append(dst, ".0"...)
	}
	return dst
}

// pyStringRepr is Python 3's repr of a str: single quotes unless the text
// holds a single quote and no double quote; backslash escapes for the
// quote, backslash, \t \n \r and non-printable characters.
func pyStringRepr(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x80 || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// pyBytesRepr is Python 3's repr (and str) of a bytes value: b'...'.
func pyBytesRepr(p []byte) string {
	quote := byte('\'')
	if bytes.IndexByte(p, '\'') >= 0 && bytes.IndexByte(p, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteString("b")
	b.WriteByte(quote)
	for _, c := range p {
		switch {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}
