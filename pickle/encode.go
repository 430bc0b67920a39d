package pickle

import (
	"bytes"
	"encoding"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"unicode/utf8"

	ogorek "github.com/kisielk/og-rek"
)

// Protocols.
const (
	// DefaultProtocol is Python 3.11's pickle.DEFAULT_PROTOCOL: what
	// pickle.dumps(value) writes, and so what dogpile.cache's Redis backend
	// and regions with a pickle serializer store.
	DefaultProtocol = 4
	// HighestProtocol is the highest protocol read and written (Python
	// 3.8's and later pickle.HIGHEST_PROTOCOL; pymemcache's pickle_serde
	// writes it).
	HighestProtocol = 5
	// ProtocolZero selects protocol 0 in Serializer.Protocol, whose zero
	// value means DefaultProtocol. python-memcached writes protocol 0.
	ProtocolZero = -1
)

// encoderConfigs are og-rek's settings per protocol. StrictUnicode makes a
// Go string a Python str in every protocol (og-rek's default writes a
// Python 2 byte string for protocols 0 to 2).
var encoderConfigs = func() (c [HighestProtocol + 1]*ogorek.EncoderConfig) {
	for p := range c {
		c[p] = &ogorek.EncoderConfig{Protocol: p, StrictUnicode: true}
	}
	return c
}()

// Marshal encodes v as a pickle of the given protocol (0 to 5), with
// github.com/kisielk/og-rek. See the package documentation for how Go
// types map to Python's. Python's pickle.loads reads the result into
// equal values; the bytes differ from what Python writes for the same
// value (no memo, no framing, dict order unspecified).
func Marshal(v any, protocol int) ([]byte, error) {
	if protocol < 0 || protocol > HighestProtocol {
		return nil, fmt.Errorf("pickle: protocol %d, want 0 to %d", protocol, HighestProtocol)
	}
	tree, err := toPython(v, 0)
	if err != nil {
		return nil, err
	}
	return encodeTree(tree, protocol)
}

// encodeTree writes an og-rek tree.
func encodeTree(tree any, protocol int) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("pickle: encoder failed: %v", p)
		}
	}()
	var buf bytes.Buffer
	buf.Grow(128)
	if err := ogorek.NewEncoderWithConfig(&buf, encoderConfigs[protocol]).Encode(tree); err != nil {
		return nil, fmt.Errorf("pickle: %w", err)
	}
	return buf.Bytes(), nil
}

var textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()

// toPython converts a Go value into the tree og-rek encodes, checking what
// og-rek would otherwise write wrong or not at all.
func toPython(v any, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d (or a value that contains itself)", ErrLimit, MaxDepth)
	}
	switch x := v.(type) {
	case nil:
		return ogorek.None{}, nil
	case string:
		return checkString(x)
	case bool, int64, float64:
		return x, nil
	case int:
		return int64(x), nil
	case []byte:
		if x == nil {
			return ogorek.None{}, nil
		}
		return ogorek.Bytes(x), nil
	case *big.Int:
		if x == nil {
			return ogorek.None{}, nil
		}
		return x, nil
	case map[string]any:
		if x == nil {
			return ogorek.None{}, nil
		}
		m := make(map[any]any, len(x))
		for k, e := range x {
			ks, err := checkString(k)
			if err != nil {
				return nil, err
			}
			pe, err := toPython(e, depth+1)
			if err != nil {
				return nil, err
			}
			m[ks] = pe
		}
		return m, nil
	case []any:
		if x == nil {
			return ogorek.None{}, nil
		}
		l := make([]any, len(x))
		for i, e := range x {
			pe, err := toPython(e, depth+1)
			if err != nil {
				return nil, err
			}
			l[i] = pe
		}
		return l, nil
	case *Value:
		g, err := x.Value()
		if err != nil {
			return nil, err
		}
		return toPython(g, depth)
	}
	return reflectToPython(reflect.ValueOf(v), depth)
}

func checkString(s string) (any, error) {
	if !utf8.ValidString(s) {
		return nil, &UnsupportedError{Type: "string", GoType: true, Reason: "not valid UTF-8, which a Python str must be; use []byte for bytes"}
	}
	return s, nil
}

func reflectToPython(rv reflect.Value, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d (or a value that contains itself)", ErrLimit, MaxDepth)
	}
	if !rv.IsValid() {
		return ogorek.None{}, nil
	}
	t := rv.Type()
	if t.PkgPath() != "" && t != bigIntType && t.Implements(textMarshalerType) {
		if t.Kind() == reflect.Pointer && rv.IsNil() {
			return ogorek.None{}, nil
		}
		text, err := rv.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return nil, fmt.Errorf("pickle: %s.MarshalText: %w", t, err)
		}
		return checkString(string(text))
	}
	switch t.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return new(big.Int).SetUint64(u), nil
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return checkString(rv.String())
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return ogorek.None{}, nil
		}
		if t.Kind() == reflect.Pointer && t.Elem() == bigIntType {
			return new(big.Int).Set(rv.Interface().(*big.Int)), nil
		}
		if t == valuePtrType {
			return toPython(rv.Interface(), depth)
		}
		return reflectToPython(rv.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && rv.IsNil() {
			return ogorek.None{}, nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return ogorek.Bytes(b), nil
		}
		l := make([]any, rv.Len())
		for i := range l {
			pe, err := reflectToPython(rv.Index(i), depth+1)
			if err != nil {
				return nil, err
			}
			l[i] = pe
		}
		return l, nil
	case reflect.Map:
		if rv.IsNil() {
			return ogorek.None{}, nil
		}
		m := make(map[any]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			k, err := mapKey(it.Key())
			if err != nil {
				return nil, err
			}
			pe, err := reflectToPython(it.Value(), depth+1)
			if err != nil {
				return nil, err
			}
			m[k] = pe
		}
		return m, nil
	case reflect.Struct:
		if t == bigIntType {
			b := rv.Interface().(big.Int)
			return new(big.Int).Set(&b), nil
		}
		fields := structFields(t)
		m := make(map[any]any, len(fields.list))
		for i := range fields.list {
			f := &fields.list[i]
			fv, ok := fieldForRead(rv, f.index)
			if !ok || (f.omitEmpty && fv.IsZero()) {
				continue
			}
			if f.omitEmpty && (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0 {
				continue
			}
			pe, err := reflectToPython(fv, depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.name, err)
			}
			m[f.name] = pe
		}
		return m, nil
	}
	return nil, &UnsupportedError{Type: t.String(), GoType: true}
}

// mapKey converts a Go map key: strings, integers, floats and bools
// become the Python key of the same value.
func mapKey(k reflect.Value) (any, error) {
	switch k.Kind() {
	case reflect.String:
		return checkString(k.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Bool:
		return reflectToPython(k, 0)
	case reflect.Interface:
		if !k.IsNil() {
			return mapKey(k.Elem())
		}
		return ogorek.None{}, nil
	}
	return nil, &UnsupportedError{Type: k.Type().String(), GoType: true, Reason: "as a dict key"}
}

// fieldForRead follows index, reporting false at a nil embedded pointer.
func fieldForRead(rv reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				return reflect.Value{}, false
			}
			rv = rv.Elem()
		}
		rv = rv.Field(x)
	}
	return rv, true
}
