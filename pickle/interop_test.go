package pickle_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/pyrun"
	"github.com/dogpile-go/dogpile/pickle"
	"github.com/dogpile-go/dogpile/region"
)

// pythonModules are what testdata/interop.py imports.
var pythonModules = []string{"dogpile.cache", "pymemcache", "memcache"}

// ct is testdata/interop.py's CT, the creation time in its CachedValues.
const ct = 1732680000.123456

func bigInt(s string) *big.Int {
	b, ok := new(big.Int).SetString(s, 0)
	if !ok {
		panic(s)
	}
	return b
}

func bytesRange(n int) []byte {
	b := make([]byte, 0, n)
	for i := range n {
		b = append(b, byte(i))
	}
	return b
}

func intList(n int) []any {
	l := make([]any, n)
	for i := range l {
		l[i] = int64(i)
	}
	return l
}

func strIntDict(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m[fmt.Sprint(i)] = int64(i)
	}
	return m
}

// goValues are testdata/interop.py's VALUES as (*pickle.Value).Value gives
// them: what Go reads from Python, and what Go writes for Python to compare.
var goValues = map[string]any{
	"str_ascii":       "hello",
	"str_nonascii":    "h\u00e9llo w\u00f6rld \u20ac \U0001f600 back\\slash new\nline cr\r nul\x00 sub\x1a",
	"str_latin1":      "\u00ff\u00e9\u00e0",
	"str_empty":       "",
	"str_long":        strings.Repeat("x", 300),
	"int_zero":        int64(0),
	"int_small":       int64(42),
	"int_neg":         int64(-7),
	"int_255":         int64(255),
	"int_256":         int64(256),
	"int_65536":       int64(65536),
	"int_i32max":      int64(math.MaxInt32),
	"int_i32min":      int64(math.MinInt32),
	"int_i64max":      int64(math.MaxInt64),
	"int_i64min":      int64(math.MinInt64),
	"int_2_63":        bigInt("9223372036854775808"),
	"int_2_70":        bigInt("1180591620717411303424"),
	"int_neg_2_70":    bigInt("-1180591620717411303424"),
	"int_huge":        new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 2100), big.NewInt(1)),
	"float_1":         1.0,
	"float_1_5":       1.5,
	"float_neg_zero":  math.Copysign(0, -1),
	"float_1e300":     1e300,
	"float_tiny":      5e-324,
	"float_inf":       math.Inf(1),
	"float_nan":       math.NaN(),
	"float_third":     1.0 / 3,
	"true":            true,
	"false":           false,
	"none":            nil,
	"list":            []any{int64(1), "a", nil, 2.5, true},
	"list_empty":      []any{},
	"list_big":        intList(2500),
	"tuple":           []any{int64(1), "a"},
	"tuple_empty":     []any{},
	"tuple1":          []any{int64(1)},
	"tuple3":          []any{int64(1), int64(2), int64(3)},
	"tuple4":          []any{int64(1), int64(2), int64(3), int64(4)},
	"dict_empty":      map[string]any{},
	"dict_int_keys":   map[any]any{int64(1): "a", int64(2): "b"},
	"dict_big":        strIntDict(1500),
	"nested":          map[string]any{"a": map[string]any{"b": []any{int64(1), map[string]any{"c": []any{int64(2), int64(3)}}}}, "d": []any{}, "e": map[string]any{"f": nil}},
	"bytes":           []byte("\x00\xff\x80abc\\\n"),
	"bytes_empty":     []byte{},
	"bytes_utf8":      []byte("\u00e9"),
	"bytes_long":      append(bytesRange(256), bytesRange(256)...),
	"bytearray":       []byte{1, 2, 0xff},
	"bytearray_empty": []byte{},
	"set":             []any{int64(1), int64(2), int64(3)},
	"set_empty":       []any{},
	"frozenset":       []any{"a", "b"},
	"shared_list":     map[string]any{"a": []any{int64(1), int64(2)}, "b": []any{int64(1), int64(2)}},
	"user":            map[string]any{"name": "ada", "id": int64(42), "roles": []any{"a", "b"}},
}

// unordered names the values that are Python sets (compared as multisets).
var unordered = map[string]bool{"set": true, "set_empty": true, "frozenset": true}

// equal compares decoded values strictly: same Go types, floats bit for bit
// (NaN equals NaN, -0 is not 0), big ints by value.
func equal(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (math.Float64bits(x) == math.Float64bits(y) || math.IsNaN(x) && math.IsNaN(y))
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, equal)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !equal(v, w) {
				return false
			}
		}
		return true
	case map[any]any:
		y, ok := b.(map[any]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !equal(v, w) {
				return false
			}
		}
		return true
	}
	return a == b
}

func sortedCopy(v any) any {
	l, ok := v.([]any)
	if !ok {
		return v
	}
	l = slices.Clone(l)
	sort.Slice(l, func(i, j int) bool { return fmt.Sprint(l[i]) < fmt.Sprint(l[j]) })
	return l
}

func checkValue(t *testing.T, name string, got any) {
	t.Helper()
	want, ok := goValues[name]
	if !ok {
		t.Fatalf("no Go value for %q", name)
	}
	if unordered[name] {
		got, want = sortedCopy(got), sortedCopy(want)
	}
	if !equal(got, want) {
		t.Errorf("%s: got %#v, want %#v", name, got, want)
	}
}

// pythonDump runs interop.py dump: Python's pickles, keyed "<protocol>/<name>".
func pythonDump(t *testing.T) map[string][]byte {
	t.Helper()
	py := pyrun.Require(t, pythonModules...)
	out := py.Run(t, pyrun.Script{File: "testdata/interop.py", Args: []string{"dump"}})
	var hexes map[string]string
	if err := json.Unmarshal(out, &hexes); err != nil {
		t.Fatalf("interop.py dump: %v", err)
	}
	dump := make(map[string][]byte, len(hexes))
	for k, h := range hexes {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("interop.py dump %s: %v", k, err)
		}
		dump[k] = b
	}
	return dump
}

// pythonCheck runs interop.py check on Go's pickles and fails the test for
// each that Python does not read back as expected.
func pythonCheck(t *testing.T, pickles map[string][]byte) {
	t.Helper()
	py := pyrun.Require(t, pythonModules...)
	hexes := make(map[string]string, len(pickles))
	for k, b := range pickles {
		hexes[k] = hex.EncodeToString(b)
	}
	in, err := json.Marshal(hexes)
	if err != nil {
		t.Fatal(err)
	}
	out := py.Run(t, pyrun.Script{File: "testdata/interop.py", Args: []string{"check"}, Stdin: in})
	var results map[string]string
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("interop.py check: %v: %s", err, out)
	}
	if len(results) != len(pickles) {
		t.Errorf("Python checked %d pickles, Go wrote %d", len(results), len(pickles))
	}
	keys := make([]string, 0, len(results))
	for k := range results {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if results[k] != "ok" {
			t.Errorf("Python read Go's %s wrong: %s", k, results[k])
		}
	}
}

// refusedSharedList: python-memcached's CachedValue (copy_reg._reconstructor,
// protocols 0 and 1) holding a list referenced twice is refused, never
// read wrong (see decode.go).
func refusedSharedList(key string) bool {
	return key == "0/cv:shared_list" || key == "1/cv:shared_list"
}

func TestPythonToGo(t *testing.T) {
	dump := pythonDump(t)
	protocols := map[string]int{}
	for key, data := range dump {
		proto, name, _ := strings.Cut(key, "/")
		protocols[proto]++
		switch {
		case proto == "lib":
			lib, name, _ := strings.Cut(name, ":")
			if lib == "dogpile-serializer" {
				var got any
				if err := (pickle.Serializer{}).Unmarshal(data, &got); err != nil {
					t.Errorf("%s: %v", key, err)
					continue
				}
				checkValue(t, name, got)
				continue
			}
			checkCachedValue(t, key, name, data)
		case strings.HasPrefix(name, "cv:"):
			if refusedSharedList(key) {
				_, _, _, err := pickle.DecodeCachedValue(data)
				if !errors.Is(err, pickle.ErrUnsupported) {
					t.Errorf("%s: error %v, want ErrUnsupported", key, err)
				}
				continue
			}
			checkCachedValue(t, key, name[3:], data)
		default:
			if err := (pickle.Serializer{}).Validate(data); err != nil {
				t.Errorf("%s: Validate: %v", key, err)
			}
			v, err := pickle.Parse(data)
			if err != nil {
				t.Errorf("%s: %v", key, err)
				continue
			}
			got, err := v.Value()
			if err != nil {
				t.Errorf("%s: Value: %v", key, err)
				continue
			}
			checkValue(t, name, got)
		}
	}
	for p := range 6 {
		if n := protocols[fmt.Sprint(p)]; n != 2*len(goValues) {
			t.Errorf("protocol %d: Python wrote %d pickles, want %d", p, n, 2*len(goValues))
		}
	}
	if protocols["lib"] == 0 {
		t.Error("no pickles from the Python clients")
	}
}

func checkCachedValue(t *testing.T, key, name string, data []byte) {
	t.Helper()
	payload, created, version, err := pickle.DecodeCachedValue(data)
	if err != nil {
		t.Errorf("%s: %v", key, err)
		return
	}
	if version != 2 {
		t.Errorf("%s: version %d, want 2", key, version)
	}
	if d := created.Sub(region.DogpileTime(ct)); d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("%s: created %v, want %v (off by %v)", key, created, ct, d)
	}
	got, err := payload.Value()
	if err != nil {
		t.Errorf("%s: payload: %v", key, err)
		return
	}
	checkValue(t, name, got)
}

func TestGoToPython(t *testing.T) {
	pyrun.Require(t, pythonModules...)
	pickles := map[string][]byte{}
	created := region.DogpileTime(ct)
	for name, v := range goValues {
		if unordered[name] {
			continue // Go has no set type to write
		}
		for p := range 6 {
			data, err := pickle.Marshal(v, p)
			if err != nil {
				t.Errorf("Marshal %s protocol %d: %v", name, p, err)
				continue
			}
			pickles[fmt.Sprintf("%d/%s", p, name)] = data
			data, err = pickle.EncodeCachedValue(v, created, 2, p)
			if err != nil {
				t.Errorf("EncodeCachedValue %s protocol %d: %v", name, p, err)
				continue
			}
			pickles[fmt.Sprintf("%d/cv:%s", p, name)] = data
		}
	}
	pythonCheck(t, pickles)
}

// TestRoundTrip reads back what Go writes, in every protocol.
func TestRoundTrip(t *testing.T) {
	created := region.DogpileTime(ct)
	for name, v := range goValues {
		if unordered[name] {
			continue
		}
		for p := range 6 {
			data, err := pickle.Marshal(v, p)
			if err != nil {
				t.Fatalf("Marshal %s protocol %d: %v", name, p, err)
			}
			var got any
			if err := pickle.Unmarshal(data, &got); err != nil {
				t.Errorf("%s protocol %d: %v", name, p, err)
				continue
			}
			checkValue(t, name, got)

			data, err = pickle.EncodeCachedValue(v, created, 2, p)
			if err != nil {
				t.Fatalf("EncodeCachedValue %s protocol %d: %v", name, p, err)
			}
			checkCachedValue(t, fmt.Sprintf("%d/cv:%s", p, name), name, data)
		}
	}
}
