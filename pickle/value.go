package pickle

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"

	ogorek "github.com/kisielk/og-rek"
	"github.com/nlpodyssey/gopickle/types"
)

// Limits that keep hostile input cheap. A pickle can reference one object
// many times through its memo (Python shares it; Go gets copies), so what a
// value expands to is bounded as well as its nesting.
const (
	// MaxDepth bounds nesting, like Python's default recursion limit: a
	// deeper value (or one that contains itself) is refused with ErrLimit.
	MaxDepth = 1000
	// maxExtraNodes bounds the values a decoded tree may hold beyond one
	// per input byte (an unshared tree never has more).
	maxExtraNodes = 1 << 18
	// maxExtraBytes bounds the bytes copied out of the tree beyond the
	// input's size.
	maxExtraBytes = 16 << 20
	// maxInput bounds the input (memcached's and Redis's value limits are
	// far below).
	maxInput = 1 << 30
)

// Value is a decoded Python object that has not been converted to Go yet:
// it is converted when the caller's type is known, by Decode (into any Go
// type) or Value (into generic Go values). A Value is read-only and safe
// for concurrent use; each call converts afresh and returns values that
// share nothing with the Value or with earlier results.
type Value struct {
	root any
	size int // input bytes, for the expansion limits
}

// Parse decodes a pickle of any protocol (0 to 5) into a Value. The
// pickle is checked first (see the package documentation for the limits
// and the allow-list): a corrupt one fails with ErrCorrupt, one naming a
// class that is not allowed with an *UnsupportedError.
func Parse(data []byte) (*Value, error) {
	root, err := load(data)
	if err != nil {
		return nil, err
	}
	return &Value{root: root, size: len(data)}, nil
}

// Unmarshal decodes a pickle into the value pointed to by into; it is
// Parse followed by (*Value).Decode.
func Unmarshal(data []byte, into any) error {
	root, err := load(data)
	if err != nil {
		return err
	}
	v := Value{root: root, size: len(data)}
	return v.Decode(into)
}

// PayloadEncoding is "pickle": a *Value is a region.EncodedPayload, a
// payload that stays encoded until the reader's type is known.
func (v *Value) PayloadEncoding() string { return "pickle" }

// Value converts the Python object into generic Go values: dict becomes
// map[string]any (map[any]any when a key is not a str), list, tuple, set
// and frozenset []any, str string, bytes and bytearray []byte, int int64
// (*big.Int beyond int64), float float64, bool bool and None nil.
func (v *Value) Value() (any, error) {
	d := newConverter(v.size)
	return d.toAny(v.root, 0)
}

// Decode converts the Python object into the value pointed to by into,
// which must be a non-nil pointer. See the package documentation for the
// conversions; a value that does not fit fails with a *TypeError naming
// where in the tree it is.
func (v *Value) Decode(into any) error {
	d := newConverter(v.size)
	switch p := into.(type) {
	case *any:
		if p != nil {
			x, err := d.toAny(v.root, 0)
			if err == nil {
				*p = x
			}
			return err
		}
	case *map[string]any:
		if p != nil {
			if m, ok, err := d.strDict(v.root, 0); ok || err != nil {
				if err == nil {
					*p = m
				}
				return err
			}
		}
	}
	rv := reflect.ValueOf(into)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("pickle: Decode needs a non-nil pointer, not %T", into)
	}
	return d.into(rv.Elem(), v.root, 0)
}

// converter walks a decoded tree, counting against the limits.
type converter struct {
	size            int
	nodes, maxNodes int
	copied, maxCopy int
}

func newConverter(size int) converter {
	return converter{size: size, maxNodes: size + maxExtraNodes, maxCopy: size + maxExtraBytes}
}

func (d *converter) enter(depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("%w: nesting deeper than %d (or a value that contains itself)", ErrLimit, MaxDepth)
	}
	d.nodes++
	if d.nodes > d.maxNodes {
		return fmt.Errorf("%w: more than %d values once shared references are copied", ErrLimit, d.maxNodes)
	}
	return nil
}

func (d *converter) copyBytes(b []byte) ([]byte, error) {
	d.copied += len(b)
	if d.copied > d.maxCopy {
		return nil, fmt.Errorf("%w: more than %d bytes once shared references are copied", ErrLimit, d.maxCopy)
	}
	out := make([]byte, len(b))
	copy(out, b)
	return out, nil
}

func (d *converter) copyString(s string) ([]byte, error) {
	d.copied += len(s)
	if d.copied > d.maxCopy {
		return nil, fmt.Errorf("%w: more than %d bytes once shared references are copied", ErrLimit, d.maxCopy)
	}
	return []byte(s), nil
}

// toAny converts x into generic Go values (see Value).
func (d *converter) toAny(x any, depth int) (any, error) {
	if err := d.enter(depth); err != nil {
		return nil, err
	}
	switch v := x.(type) {
	case string, int64, float64, bool:
		return x, nil // immutable: shared, not boxed again
	case int:
		return int64(v), nil
	case nil, ogorek.None:
		return nil, nil
	case *big.Int:
		if v.IsInt64() {
			return v.Int64(), nil
		}
		return new(big.Int).Set(v), nil
	case ogorek.ByteString:
		return string(v), nil
	case ogorek.Bytes:
		return d.copyString(string(v))
	case []byte:
		return d.copyBytes(v)
	case *types.ByteArray:
		return d.copyBytes(*v)
	case map[any]any, *types.Dict, ogorek.Dict:
		if m, ok, err := d.strDict(x, depth); ok || err != nil {
			return m, err
		}
		return d.anyDict(x, depth)
	case ogorek.Call:
		r, err := resolveCall(v)
		if err != nil {
			return nil, err
		}
		return d.toAny(r, depth)
	}
	items, ok := listItems(x)
	if !ok {
		return nil, &UnsupportedError{Type: pyTypeName(x)}
	}
	out := make([]any, len(items))
	for i, it := range items {
		e, err := d.toAny(it, depth+1)
		if err != nil {
			return nil, atIndex(err, i)
		}
		out[i] = e
	}
	return out, nil
}

// strDict converts a dict whose keys are all str into map[string]any; ok
// is false when x is not a dict or has another key.
func (d *converter) strDict(x any, depth int) (map[string]any, bool, error) {
	switch v := x.(type) {
	case map[any]any:
		// One pass, converting as it checks the keys: a key that is not a
		// str (rare) throws the work away, and the values it converted
		// are counted again by anyDict.
		if err := d.enter(depth); err != nil {
			return nil, true, err
		}
		nodes, copied := d.nodes, d.copied
		m := make(map[string]any, len(v))
		for k, it := range v {
			ks, isStr := strOf(k)
			if !isStr {
				d.nodes, d.copied = nodes-1, copied
				return nil, false, nil
			}
			e, err := d.toAny(it, depth+1)
			if err != nil {
				if errors.Is(err, ErrLimit) {
					return nil, true, err
				}
				// Another key may not be a str: then the dict reads as
				// map[any]any, and this error is anyDict's to report.
				if !allStrKeys(v) {
					d.nodes, d.copied = nodes-1, copied
					return nil, false, nil
				}
				return nil, true, atKey(err, ks)
			}
			m[ks] = e
		}
		return m, true, nil
	case *types.Dict:
		for _, it := range *v {
			if _, isStr := strOf(it.Key); !isStr {
				return nil, false, nil
			}
		}
		if err := d.enter(depth); err != nil {
			return nil, true, err
		}
		m := make(map[string]any, len(*v))
		for _, it := range *v {
			ks, _ := strOf(it.Key)
			e, err := d.toAny(it.Value, depth+1)
			if err != nil {
				return nil, true, atKey(err, ks)
			}
			m[ks] = e
		}
		return m, true, nil
	case ogorek.Dict:
		allStr := true
		_ = dictRange(v, func(k, _ any) error {
			_, isStr := strOf(k)
			allStr = allStr && isStr
			return nil
		})
		if !allStr {
			return nil, false, nil
		}
		if err := d.enter(depth); err != nil {
			return nil, true, err
		}
		m := make(map[string]any, v.Len())
		err := dictRange(v, func(k, it any) error {
			ks, _ := strOf(k)
			e, err := d.toAny(it, depth+1)
			if err != nil {
				return atKey(err, ks)
			}
			m[ks] = e
			return nil
		})
		return m, true, err
	}
	return nil, false, nil
}

func allStrKeys(m map[any]any) bool {
	for k := range m {
		if _, isStr := strOf(k); !isStr {
			return false
		}
	}
	return true
}

// anyDict converts a dict with a key that is not a str into map[any]any;
// keys must be int, float, bool or None (or str).
func (d *converter) anyDict(x any, depth int) (any, error) {
	n, _ := dictLen(x)
	m := make(map[any]any, n)
	err := dictRange(x, func(k, v any) error {
		key, err := d.toAny(k, depth+1)
		if err != nil {
			return err
		}
		switch key.(type) {
		case string, int64, float64, bool, nil:
		default:
			return &UnsupportedError{Type: "dict with " + pyTypeName(k) + " keys", Reason: "Go map keys must be comparable"}
		}
		e, err := d.toAny(v, depth+1)
		if err != nil {
			return atKey(err, fmt.Sprint(key))
		}
		m[key] = e
		return nil
	})
	return m, err
}

func dictLen(x any) (int, bool) {
	switch v := x.(type) {
	case map[any]any:
		return len(v), true
	case ogorek.Dict:
		return v.Len(), true
	case *types.Dict:
		return len(*v), true
	}
	return 0, false
}

// dictRange calls f for each item of a dict from either library (in
// insertion order for gopickle, where a repeated key comes later and wins).
func dictRange(x any, f func(k, v any) error) error {
	switch v := x.(type) {
	case map[any]any:
		for k, it := range v {
			if err := f(k, it); err != nil {
				return err
			}
		}
	case *types.Dict:
		for _, it := range *v {
			if err := f(it.Key, it.Value); err != nil {
				return err
			}
		}
	case ogorek.Dict:
		for _, kv := range pyDictItems(v) {
			if err := f(kv[0], kv[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// pyDictItems lists the items of an ogórek.Dict (og-rek reads dicts so
// only when a key cannot be a Go map key). Collecting them first keeps
// dictRange's callback from escaping to the heap at every call.
func pyDictItems(d ogorek.Dict) [][2]any {
	items := make([][2]any, 0, d.Len())
	d.Iter()(func(k, v any) bool {
		items = append(items, [2]any{k, v})
		return true
	})
	return items
}

// listItems returns the items of a list, tuple, set, frozenset or
// (nested) CachedValue, which convert to Go slices. An og-rek call is
// resolved first.
func listItems(x any) ([]any, bool) {
	if items, ok := seqItems(x); ok {
		return items, true
	}
	switch v := x.(type) {
	case *pySet:
		return v.items, true
	case *types.Set:
		items := make([]any, 0, len(*v))
		for k := range *v {
			items = append(items, k)
		}
		return items, true
	case *types.FrozenSet:
		items := make([]any, 0, len(*v))
		for k := range *v {
			items = append(items, k)
		}
		return items, true
	case *cachedValue:
		return []any{v.payload, v.metadata}, true
	}
	return nil, false
}

// pyTypeName names x's Python type for error messages.
func pyTypeName(x any) string {
	switch v := x.(type) {
	case string, ogorek.ByteString:
		return "str"
	case int64, int, *big.Int:
		return "int"
	case float64:
		return "float"
	case bool:
		return "bool"
	case nil, ogorek.None:
		return "NoneType"
	case ogorek.Bytes, []byte:
		return "bytes"
	case *types.ByteArray:
		return "bytearray"
	case []any, *types.List:
		return "list"
	case ogorek.Tuple, *types.Tuple:
		return "tuple"
	case map[any]any, *types.Dict, ogorek.Dict:
		return "dict"
	case *pySet:
		if v.frozen {
			return "frozenset"
		}
		return "set"
	case *types.Set:
		return "set"
	case *types.FrozenSet:
		return "frozenset"
	case *cachedValue:
		return "dogpile.cache.api.CachedValue"
	case ogorek.Call:
		return v.Callable.Module + "." + v.Callable.Name + "(...)"
	case ogorek.Class:
		return "type (" + v.Module + "." + v.Name + ")"
	case *pyClass:
		return "type (" + v.String() + ")"
	case ogorek.Ref:
		return "persistent id"
	case *types.OrderedDict:
		return "collections.OrderedDict"
	case *types.GenericObject:
		return v.Class.Module + "." + v.Class.Name
	}
	return fmt.Sprintf("unknown (%T)", x)
}

// atIndex and atKey prefix a *TypeError's path as the error unwinds.
func atIndex(err error, i int) error {
	return atPath(err, "["+strconv.Itoa(i)+"]")
}

func atKey(err error, k string) error {
	return atPath(err, "["+strconv.Quote(k)+"]")
}

func atPath(err error, seg string) error {
	var te *TypeError
	if errors.As(err, &te) {
		te.Path = seg + te.Path
	}
	return err
}

var (
	bigIntType          = reflect.TypeFor[big.Int]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	valuePtrType        = reflect.TypeFor[*Value]()
)

func mismatch(x any, rv reflect.Value, detail string) error {
	return &TypeError{Python: pyTypeName(x), Go: rv.Type().String(), Detail: detail}
}

// into converts x into rv, which is settable.
func (d *converter) into(rv reflect.Value, x any, depth int) error {
	if c, ok := x.(ogorek.Call); ok {
		r, err := resolveCall(c)
		if err != nil {
			return err
		}
		x = r
	}
	t := rv.Type()
	switch t.Kind() {
	case reflect.Interface:
		v, err := d.toAny(x, depth)
		if err != nil {
			return err
		}
		if v == nil {
			rv.SetZero()
			return nil
		}
		gv := reflect.ValueOf(v)
		if !gv.Type().AssignableTo(t) {
			return mismatch(x, rv, "")
		}
		rv.Set(gv)
		return nil
	case reflect.Pointer:
		if isNone(x) {
			rv.SetZero()
			return nil
		}
		if t == valuePtrType {
			// A *Value field keeps that part of the tree undecoded.
			if err := d.enter(depth); err != nil {
				return err
			}
			rv.Set(reflect.ValueOf(&Value{root: x, size: d.size}))
			return nil
		}
		if rv.IsNil() {
			rv.Set(reflect.New(t.Elem()))
		}
		return d.into(rv.Elem(), x, depth)
	}
	if err := d.enter(depth); err != nil {
		return err
	}
	if t.PkgPath() != "" && t != bigIntType && reflect.PointerTo(t).Implements(textUnmarshalerType) && rv.CanAddr() {
		if s, ok := strOf(x); ok {
			if err := rv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				return &TypeError{Python: "str", Go: t.String(), Detail: err.Error()}
			}
			return nil
		}
	}
	switch t.Kind() {
	case reflect.String:
		switch v := x.(type) {
		case string:
			rv.SetString(v)
		case ogorek.ByteString:
			rv.SetString(string(v))
		default:
			b, ok := bytesOf(x)
			if !ok {
				return mismatch(x, rv, "")
			}
			rv.SetString(string(b))
		}
		return nil
	case reflect.Bool:
		b, ok := x.(bool)
		if !ok {
			return mismatch(x, rv, "")
		}
		rv.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok, err := intOf(x)
		if !ok {
			return mismatch(x, rv, "")
		}
		if err != nil || rv.OverflowInt(i) {
			return mismatch(x, rv, fmt.Sprintf("%v overflows %s", x, t))
		}
		rv.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u, ok, err := uintOf(x)
		if !ok {
			return mismatch(x, rv, "")
		}
		if err != nil || rv.OverflowUint(u) {
			return mismatch(x, rv, fmt.Sprintf("%v overflows %s", x, t))
		}
		rv.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		f, ok := floatOf(x)
		if !ok {
			return mismatch(x, rv, "")
		}
		if !math.IsInf(f, 0) && rv.OverflowFloat(f) {
			return mismatch(x, rv, fmt.Sprintf("%v overflows %s", f, t))
		}
		rv.SetFloat(f)
		return nil
	case reflect.Struct:
		if t == bigIntType {
			switch v := x.(type) {
			case *big.Int:
				rv.Set(reflect.ValueOf(*new(big.Int).Set(v)))
			case int64:
				rv.Set(reflect.ValueOf(*big.NewInt(v)))
			case int:
				rv.Set(reflect.ValueOf(*big.NewInt(int64(v))))
			default:
				return mismatch(x, rv, "")
			}
			return nil
		}
		return d.intoStruct(rv, x, depth)
	case reflect.Map:
		return d.intoMap(rv, x, depth)
	case reflect.Slice:
		if isNone(x) {
			rv.SetZero()
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			if b, ok := bytesOf(x); ok {
				c, err := d.copyBytes(b)
				if err != nil {
					return err
				}
				rv.SetBytes(c)
				return nil
			}
			if s, ok := strOf(x); ok {
				c, err := d.copyString(s)
				if err != nil {
					return err
				}
				rv.SetBytes(c)
				return nil
			}
		}
		items, ok := listItems(x)
		if !ok {
			return mismatch(x, rv, "")
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		for i, it := range items {
			if err := d.into(s.Index(i), it, depth+1); err != nil {
				return atIndex(err, i)
			}
		}
		rv.Set(s)
		return nil
	case reflect.Array:
		items, ok := listItems(x)
		if !ok {
			return mismatch(x, rv, "")
		}
		if len(items) > rv.Len() {
			return mismatch(x, rv, fmt.Sprintf("%d items do not fit", len(items)))
		}
		rv.SetZero()
		for i, it := range items {
			if err := d.into(rv.Index(i), it, depth+1); err != nil {
				return atIndex(err, i)
			}
		}
		return nil
	}
	return &UnsupportedError{Type: t.String(), GoType: true, Reason: "not a type Python values decode into"}
}

func (d *converter) intoMap(rv reflect.Value, x any, depth int) error {
	if isNone(x) {
		rv.SetZero()
		return nil
	}
	n, ok := dictLen(x)
	if !ok {
		return mismatch(x, rv, "")
	}
	t := rv.Type()
	if rv.IsNil() {
		rv.Set(reflect.MakeMapWithSize(t, n))
	}
	key := reflect.New(t.Key()).Elem()
	elem := reflect.New(t.Elem()).Elem()
	return dictRange(x, func(k, v any) error {
		key.SetZero()
		if err := d.into(key, k, depth+1); err != nil {
			return atPath(err, "(key)")
		}
		if !key.Comparable() {
			// An interface key holding a tuple's []any.
			return &UnsupportedError{Type: "dict with " + pyTypeName(k) + " keys", Reason: "Go map keys must be comparable"}
		}
		elem.SetZero()
		if err := d.into(elem, v, depth+1); err != nil {
			return atKey(err, fmt.Sprint(key.Interface()))
		}
		rv.SetMapIndex(key, elem)
		return nil
	})
}

func (d *converter) intoStruct(rv reflect.Value, x any, depth int) error {
	if _, ok := dictLen(x); !ok {
		return mismatch(x, rv, "")
	}
	fields := structFields(rv.Type())
	return dictRange(x, func(k, v any) error {
		name, ok := strOf(k)
		if !ok {
			return &TypeError{Python: "dict with " + pyTypeName(k) + " keys", Go: rv.Type().String(), Detail: "struct fields need str keys"}
		}
		f := fields.lookup(name)
		if f == nil {
			return nil // like encoding/json: keys without a field are ignored
		}
		fv, err := fieldByIndex(rv, f.index)
		if err != nil {
			return err
		}
		if err := d.into(fv, v, depth+1); err != nil {
			return atKey(err, name)
		}
		return nil
	})
}

// fieldByIndex is reflect.Value.FieldByIndex, allocating nil embedded
// struct pointers on the way.
func fieldByIndex(rv reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				if !rv.CanSet() {
					return reflect.Value{}, fmt.Errorf("pickle: cannot set embedded pointer to unexported struct %s", rv.Type().Elem())
				}
				rv.Set(reflect.New(rv.Type().Elem()))
			}
			rv = rv.Elem()
		}
		rv = rv.Field(x)
	}
	return rv, nil
}

func isNone(x any) bool {
	switch x.(type) {
	case nil, ogorek.None:
		return true
	}
	return false
}

// intOf returns a Python int as int64; ok is false for other types, err
// set when it does not fit.
func intOf(x any) (int64, bool, error) {
	switch v := x.(type) {
	case int64:
		return v, true, nil
	case int:
		return int64(v), true, nil
	case *big.Int:
		if !v.IsInt64() {
			return 0, true, errOverflow
		}
		return v.Int64(), true, nil
	}
	return 0, false, nil
}

var errOverflow = errors.New("overflow")

func uintOf(x any) (uint64, bool, error) {
	switch v := x.(type) {
	case int64:
		if v < 0 {
			return 0, true, errOverflow
		}
		return uint64(v), true, nil
	case int:
		if v < 0 {
			return 0, true, errOverflow
		}
		return uint64(v), true, nil
	case *big.Int:
		if !v.IsUint64() {
			return 0, true, errOverflow
		}
		return v.Uint64(), true, nil
	}
	return 0, false, nil
}

// floatOf returns a Python float, or an int as the nearest float.
func floatOf(x any) (float64, bool) {
	switch v := x.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case int:
		return float64(v), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(v).Float64()
		return f, true
	}
	return 0, false
}
