// Package pystr renders Go values as Python 3 prints the Python values they
// stand for: str() and repr(). Cache keys a Go service shares with a Python
// one (dogpile's function_key_generator) and option values substituted
// into oslo.config text are made this way.
//
// The Go value a Python value stands for:
//
//	string            str                 nil, nil pointer   None
//	bool              True, False         ints, uints        int
//	float32, float64  float (1.0, 1e-05)  *big.Int           int
//	[]byte            bytes (b'...')      fmt.Stringer       its String()
//	slice, array      list                map                dict
//	struct            tuple of its exported fields, in order
//	pointer           what it points to
//
// Printable characters (kept as they are inside a repr) are those of Go's
// unicode tables, as Python's str.isprintable: characters assigned only in
// a Unicode version newer than the Python's are escaped by Python and kept
// here. Bytes of a string that are not UTF-8 (a Python str cannot hold
// them) are escaped as \xNN. A value that holds itself renders as Python
// renders a list that holds itself: [1, [...]].
package pystr

import (
	"bytes"
	"cmp"
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

// Str is Python's str() of the Python value v stands for: a string as it
// is, anything else as repr.
func Str(v any) string { return StrValue(reflect.ValueOf(v)) }

// StrValue is Str of a reflect.Value (an invalid Value is None).
func StrValue(v reflect.Value) string {
	v = unwrap(v)
	if !v.IsValid() {
		return "None"
	}
	if v.Kind() == reflect.String {
		return v.String()
	}
	return reprValue(v)
}

// repr is Python's repr() of the Python value v stands for (what str() of
// a list or dict shows for its items).
func repr(v any) string { return reprValue(reflect.ValueOf(v)) }

// reprValue is repr of a reflect.Value (an invalid Value is None).
func reprValue(v reflect.Value) string {
	var p printer
	return string(p.repr(nil, v))
}

// unwrap strips interfaces and pointers down to the value they hold; a nil
// one is the invalid Value (None). Pointers with a meaning of their own
// (*big.Int, a pointer with a String method) are kept.
func unwrap(v reflect.Value) reflect.Value {
	// A pointer may point to itself (type P *P): after many steps, the
	// pointer is left to repr, which renders such a cycle.
	for steps := 0; v.IsValid() && steps < 64; steps++ {
		switch v.Kind() {
		case reflect.Interface:
			v = v.Elem()
			continue
		case reflect.Pointer:
			if v.IsNil() {
				return reflect.Value{}
			}
			if v.CanInterface() {
				switch v.Interface().(type) {
				case *big.Int, fmt.Stringer:
					return v
				}
			}
			v = v.Elem()
			continue
		}
		return v
	}
	return v
}

// printer renders one value. path holds the pointers, slices and maps
// being rendered around the current item: one met again is a value that
// holds itself, rendered as Python renders a list that holds itself
// ([1, [...]]) rather than recursing without end.
type printer struct {
	path []uintptr
}

// enter pushes the container at p on the path; false when it is already
// there.
func (p *printer) enter(ptr uintptr) bool {
	if slices.Contains(p.path, ptr) {
		return false
	}
	p.path = append(p.path, ptr)
	return true
}

func (p *printer) leave() { p.path = p.path[:len(p.path)-1] }

func (p *printer) repr(dst []byte, v reflect.Value) []byte {
	for v.IsValid() && v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return append(dst, "None"...)
	}
	if v.CanInterface() {
		switch x := v.Interface().(type) {
		case *big.Int:
			return x.Append(dst, 10)
		case []byte:
			return AppendBytesRepr(dst, x)
		case fmt.Stringer:
			return append(dst, x.String()...)
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !p.enter(v.Pointer()) {
			return append(dst, "..."...)
		}
		dst = p.repr(dst, v.Elem())
		p.leave()
		return dst
	case reflect.String:
		return AppendStringRepr(dst, v.String())
	case reflect.Bool:
		if v.Bool() {
			return append(dst, "True"...)
		}
		return append(dst, "False"...)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(dst, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(dst, v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return AppendFloat(dst, v.Float())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Len() > 0 {
			if !p.enter(v.Pointer()) {
				return append(dst, "[...]"...)
			}
			defer p.leave()
		}
		dst = append(dst, '[')
		for i := range v.Len() {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = p.repr(dst, v.Index(i))
		}
		return append(dst, ']')
	case reflect.Map:
		if !p.enter(v.Pointer()) {
			return append(dst, "{...}"...)
		}
		defer p.leave()
		return p.mapRepr(dst, v)
	case reflect.Struct:
		return p.tuple(dst, fields(v))
	}
	if v.CanInterface() {
		return fmt.Append(dst, v.Interface())
	}
	return append(dst, v.String()...)
}

// Elements returns the Python values a Go value stands for when it stands
// for several (the positional arguments of a call, a tuple): a slice's or
// an array's elements, or a struct's exported fields in order. ok is false
// for any other value, and for a []byte or a fmt.Stringer (one value each).
// Pointers and interfaces are looked through.
func Elements(v any) (items []reflect.Value, ok bool) {
	rv := unwrap(reflect.ValueOf(v))
	if !rv.IsValid() {
		return nil, false
	}
	if rv.CanInterface() {
		switch rv.Interface().(type) {
		case []byte, fmt.Stringer, *big.Int:
			return nil, false
		}
	}
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		items = make([]reflect.Value, rv.Len())
		for i := range items {
			items[i] = rv.Index(i)
		}
		return items, true
	case reflect.Struct:
		return fields(rv), true
	}
	return nil, false
}

// fields are a struct's exported fields, in order.
func fields(v reflect.Value) []reflect.Value {
	var out []reflect.Value
	for i := range v.NumField() {
		if v.Type().Field(i).IsExported() {
			out = append(out, v.Field(i))
		}
	}
	return out
}

// TupleRepr is Python's repr (and str) of a tuple of items: (1, 'a'),
// (1,) and ().
func TupleRepr(items []reflect.Value) string {
	var p printer
	return string(p.tuple(nil, items))
}

func (p *printer) tuple(dst []byte, items []reflect.Value) []byte {
	dst = append(dst, '(')
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = p.repr(dst, it)
	}
	if len(items) == 1 {
		dst = append(dst, ',')
	}
	return append(dst, ')')
}

// mapRepr writes a dict. A Go map has no order, and a Python dict
// prints in insertion order, which the Go side cannot know: the items are
// sorted, numbers first by value, then everything else by its repr, so
// that the same map always renders alike.
func (p *printer) mapRepr(dst []byte, v reflect.Value) []byte {
	type item struct {
		key      reflect.Value
		keyRepr  []byte
		valueRep []byte
	}
	items := make([]item, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		items = append(items, item{unwrap(it.Key()), p.repr(nil, it.Key()), p.repr(nil, it.Value())})
	}
	slices.SortFunc(items, func(a, b item) int {
		na, nb := numberKind(a.key) != notNumber, numberKind(b.key) != notNumber
		switch {
		case na && !nb:
			return -1
		case nb && !na:
			return 1
		case na && nb:
			if c := compareNumbers(a.key, b.key); c != 0 {
				return c
			}
		}
		return bytes.Compare(a.keyRepr, b.keyRepr)
	})
	dst = append(dst, '{')
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, it.keyRepr...)
		dst = append(dst, ": "...)
		dst = append(dst, it.valueRep...)
	}
	return append(dst, '}')
}

// compareNumbers compares a and b, two Go numbers, by value.
func compareNumbers(a, b reflect.Value) int {
	ka, kb := numberKind(a), numberKind(b)
	switch {
	case ka == signed && kb == signed:
		return cmp.Compare(a.Int(), b.Int())
	case ka == unsigned && kb == unsigned:
		return cmp.Compare(a.Uint(), b.Uint())
	case ka == signed && kb == unsigned:
		if a.Int() < 0 {
			return -1
		}
		return cmp.Compare(uint64(a.Int()), b.Uint())
	case ka == unsigned && kb == signed:
		if b.Int() < 0 {
			return 1
		}
		return cmp.Compare(a.Uint(), uint64(b.Int()))
	}
	return cmp.Compare(asFloat(a), asFloat(b))
}

type kind uint8

const (
	notNumber kind = iota
	signed
	unsigned
	float
)

func numberKind(v reflect.Value) kind {
	if !v.IsValid() {
		return notNumber
	}
	if v.CanInterface() {
		if _, ok := v.Interface().(fmt.Stringer); ok {
			return notNumber
		}
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return signed
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return unsigned
	case reflect.Float32, reflect.Float64:
		return float
	}
	return notNumber
}

func asFloat(v reflect.Value) float64 {
	switch numberKind(v) {
	case signed:
		return float64(v.Int())
	case unsigned:
		return float64(v.Uint())
	}
	return v.Float()
}

// floatStr is Python's repr (and str, and json.dumps) of a float.
func floatStr(f float64) string { return string(AppendFloat(nil, f)) }

// AppendFloat appends f as Python's repr (and so str and json.dumps)
// writes it: the shortest decimal that reads back as f, with ".0" on
// integral values, an exponent (of two digits at least) only below 1e-4 or
// from 1e16, and inf, -inf and nan (json.dumps writes Infinity and NaN).
func AppendFloat(dst []byte, f float64) []byte {
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

// stringRepr is Python 3's repr of a str.
func stringRepr(s string) string { return string(AppendStringRepr(nil, s)) }

// AppendStringRepr appends Python 3's repr of a str: single quotes unless
// the text holds a single quote and no double quote; backslash escapes for
// the quote, the backslash, \t \n \r and characters that are not printable
// (\xNN, \uNNNN, \UNNNNNNNN). A byte that is not part of valid UTF-8 is
// written \xNN.
func AppendStringRepr(dst []byte, s string) []byte {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	dst = append(dst, quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = appendHex(dst, `\x`, uint32(s[i]), 2)
		case r == rune(quote) || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\t':
			dst = append(dst, `\t`...)
		case r == '\n':
			dst = append(dst, `\n`...)
		case r == '\r':
			dst = append(dst, `\r`...)
		case Printable(r):
			dst = append(dst, s[i:i+size]...)
		case r <= 0xff:
			dst = appendHex(dst, `\x`, uint32(r), 2)
		case r <= 0xffff:
			dst = appendHex(dst, `\u`, uint32(r), 4)
		default:
			dst = appendHex(dst, `\U`, uint32(r), 8)
		}
		i += size
	}
	return append(dst, quote)
}

// Printable reports whether Python's str.isprintable holds for r: a
// letter, mark, number, punctuation or symbol, or the ASCII space.
func Printable(r rune) bool { return unicode.IsPrint(r) }

// bytesRepr is Python 3's repr (and str) of a bytes value: b'...'.
func bytesRepr(p []byte) string { return string(AppendBytesRepr(nil, p)) }

// AppendBytesRepr appends Python 3's repr of a bytes value.
func AppendBytesRepr(dst, p []byte) []byte {
	quote := byte('\'')
	if bytes.IndexByte(p, '\'') >= 0 && bytes.IndexByte(p, '"') < 0 {
		quote = '"'
	}
	dst = append(dst, 'b', quote)
	for _, c := range p {
		switch {
		case c == quote || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\t':
			dst = append(dst, `\t`...)
		case c == '\n':
			dst = append(dst, `\n`...)
		case c == '\r':
			dst = append(dst, `\r`...)
		case c < 0x20 || c >= 0x7f:
			dst = appendHex(dst, `\x`, uint32(c), 2)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, quote)
}

func appendHex(dst []byte, prefix string, n uint32, digits int) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, prefix...)
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		dst = append(dst, hex[n>>uint(shift)&0xf])
	}
	return dst
}
