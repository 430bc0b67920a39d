package pickle_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/internal/pyrun"
	"github.com/dogpile-go/dogpile/pickle"
)

// TestForeignTypesAreRefused: Python values of classes outside the
// allow-list fail with an *UnsupportedError naming the class, in every
// protocol, bare and inside a CachedValue.
func TestForeignTypesAreRefused(t *testing.T) {
	py := pyrun.Require(t, pythonModules...)
	out := py.Run(t, pyrun.Script{File: "testdata/interop.py", Args: []string{"foreign"}})
	var hexes map[string]string
	if err := json.Unmarshal(out, &hexes); err != nil {
		t.Fatal(err)
	}
	for key, h := range hexes {
		data, _ := hex.DecodeString(h)
		proto, name, _ := strings.Cut(key, "/")
		cv := strings.HasPrefix(name, "cv:")
		name = strings.TrimPrefix(name, "cv:")
		var err error
		if cv {
			var v *pickle.Value
			v, _, _, err = pickle.DecodeCachedValue(data)
			if err == nil {
				_, err = v.Value()
			}
		} else {
			var got any
			err = pickle.Unmarshal(data, &got)
		}
		if name == "set of bytes" && proto < "4" {
			// Protocols 0 to 3 write set([b"a", b"b"]): read as a list.
			if err != nil {
				t.Errorf("%s: %v", key, err)
			}
			continue
		}
		want := strings.TrimPrefix(name, "nested ")
		var ue *pickle.UnsupportedError
		if !errors.As(err, &ue) || !errors.Is(err, pickle.ErrUnsupported) || ue.GoType {
			t.Errorf("%s: error %v, want a Python-type *UnsupportedError", key, err)
			continue
		}
		if !strings.Contains(ue.Type, want) {
			t.Errorf("%s: UnsupportedError names %q, want %q", key, ue.Type, want)
		}
		// Validate checks the classes a pickle names, not the shape of
		// its values.
		shape := name == "set of bytes" || name == "dict with tuple keys"
		if vErr := (pickle.Serializer{}).Validate(data); vErr == nil && !shape {
			t.Errorf("%s: Validate accepted a pickle naming %s", key, name)
		}
	}
}

func u32(n uint32) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], n)
	return string(b[:])
}

func u64(n uint64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], n)
	return string(b[:])
}

// hugeLengths are short pickles whose length prefixes claim far more
// than the input holds.
var hugeLengths = map[string]string{
	"BINUNICODE 4 GiB":       "\x80\x04X" + u32(0xffffffff) + "abc.",
	"BINBYTES 4 GiB":         "\x80\x04B" + u32(0xffffffff) + "abc.",
	"BINSTRING 2 GiB":        "\x80\x02T" + u32(0x7fffffff) + "abc.",
	"BINSTRING negative":     "\x80\x02T" + u32(0xffffffff) + "abc.",
	"BINUNICODE8 2^62":       "\x80\x04\x8d" + u64(1<<62) + "abc.",
	"BINBYTES8 2^63":         "\x80\x04\x8e" + u64(1<<63) + "abc.",
	"BINBYTES8 2^64-1":       "\x80\x04\x8e" + u64(1<<64-1) + "abc.",
	"BYTEARRAY8 2^40":        "\x80\x05\x96" + u64(1<<40) + "abc.",
	"LONG4 2 GiB":            "\x80\x02\x8b" + u32(0x7fffffff) + "abc.",
	"LONG4 negative":         "\x80\x02\x8b" + u32(0x80000000) + "abc.",
	"FRAME 2^60":             "\x80\x04\x95" + u64(1<<60) + "N.",
	"FRAME 4 GiB":            "\x80\x04\x95" + u64(1<<32) + "N.",
	"SHORT_BINUNICODE 255":   "\x80\x04\x8c\xffab.",
	"LONG_BINPUT 4 GiB slot": "\x80\x02Nr" + u32(0xffffffff) + ".",
	"LONG_BINGET 4 GiB slot": "\x80\x02j" + u32(0xffffffff) + ".",
	"PUT huge slot":          "Np99999999999\n.",
}

func TestHugeLengthsFailFast(t *testing.T) {
	for name, data := range hugeLengths {
		_, err := pickle.Parse([]byte(data))
		if !errors.Is(err, pickle.ErrCorrupt) {
			t.Errorf("%s: error %v, want ErrCorrupt", name, err)
		}
		if err := (pickle.Serializer{}).Validate([]byte(data)); !errors.Is(err, pickle.ErrCorrupt) {
			t.Errorf("%s: Validate: %v, want ErrCorrupt", name, err)
		}
		if _, _, _, err := pickle.DecodeCachedValue([]byte(data)); !errors.Is(err, pickle.ErrCorrupt) {
			t.Errorf("%s: DecodeCachedValue: %v, want ErrCorrupt", name, err)
		}
	}
}

// TestHugeLengthsAllocateLittle measures the bytes allocated while
// decoding the pickles above: a length prefix never turns into an
// allocation of that size.
func TestHugeLengthsAllocateLittle(t *testing.T) {
	inputs := make([][]byte, 0, len(hugeLengths))
	for _, data := range hugeLengths {
		inputs = append(inputs, []byte(data))
	}
	const runs = 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		for _, data := range inputs {
			_, _ = pickle.Parse(data)
			_, _, _, _ = pickle.DecodeCachedValue(data)
		}
	}
	runtime.ReadMemStats(&after)
	perDecode := (after.TotalAlloc - before.TotalAlloc) / uint64(runs*2*len(inputs))
	if perDecode > 4<<10 {
		t.Errorf("decoding a short pickle with a huge length prefix allocates %d bytes on average, want under 4 KiB", perDecode)
	}
	allocs := testing.AllocsPerRun(runs, func() {
		for _, data := range inputs {
			_, _ = pickle.Parse(data)
		}
	})
	if perParse := allocs / float64(len(inputs)); perParse > 16 {
		t.Errorf("Parse of a corrupt pickle makes %.1f allocations, want at most 16", perParse)
	}
}

// TestExpansionIsBounded: a pickle that references one list many times
// (a few hundred bytes standing for 2^60 values) fails with ErrLimit
// instead of expanding.
func TestExpansionIsBounded(t *testing.T) {
	// x = [0]; then 60 times x = [x, x]; protocol 2.
	var b strings.Builder
	b.WriteString("\x80\x02]q\x00K\x00a")
	for i := 1; i <= 60; i++ {
		b.WriteString("]q" + string(rune(i)) + "(h" + string(rune(i-1)) + "h" + string(rune(i-1)) + "e")
	}
	b.WriteString(".")
	data := []byte(b.String())
	// Each step leaves the previous list on the stack; keep only the last.
	data = bytes.ReplaceAll(data, []byte("a]"), []byte("a0]"))
	data = bytes.ReplaceAll(data, []byte("e]"), []byte("e0]"))
	v, err := pickle.Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if _, err := v.Value(); !errors.Is(err, pickle.ErrLimit) {
		t.Errorf("Value: error %v, want ErrLimit", err)
	}
	var into [][]any
	if err := v.Decode(&into); !errors.Is(err, pickle.ErrLimit) {
		t.Errorf("Decode: error %v, want ErrLimit", err)
	}
}

func TestDepthIsBounded(t *testing.T) {
	// A list that contains itself: x = []; x.append(x).
	self := []byte("\x80\x02]q\x00h\x00a.")
	if _, err := unmarshalAny(self); !errors.Is(err, pickle.ErrLimit) {
		t.Errorf("self-containing list: error %v, want ErrLimit", err)
	}
	// 5000 nested lists.
	deep := []byte("\x80\x02" + strings.Repeat("]", 5000) + strings.Repeat("a", 4999) + ".")
	if _, err := unmarshalAny(deep); !errors.Is(err, pickle.ErrLimit) {
		t.Errorf("5000 nested lists: error %v, want ErrLimit", err)
	}
	// Nesting as deep as Python writes (below its recursion limit) reads.
	ok := []byte("\x80\x02" + strings.Repeat("]", 900) + strings.Repeat("a", 899) + ".")
	if _, err := unmarshalAny(ok); err != nil {
		t.Errorf("900 nested lists: %v", err)
	}
}

func unmarshalAny(data []byte) (any, error) {
	var v any
	err := pickle.Unmarshal(data, &v)
	return v, err
}

func TestCorruptPickles(t *testing.T) {
	cases := map[string]string{
		"empty":                 "",
		"no STOP":               "\x80\x04N",
		"trailing bytes":        "N.N",
		"empty stack at STOP":   ".",
		"two values at STOP":    "NN.",
		"open MARK at STOP":     "(N.",
		"unknown opcode":        "\x80\x04\xff.",
		"protocol 6":            "\x80\x06N.",
		"APPEND underflow":      "\x80\x02Na.",
		"APPENDS without MARK":  "\x80\x02]Ke.",
		"SETITEM underflow":     "\x80\x02}N.s",
		"TUPLE2 across MARK":    "\x80\x02N(N\x86.",
		"DICT odd":              "(Nd.",
		"REDUCE underflow":      "\x80\x02NR.",
		"GET unset":             "\x80\x02h\x05.",
		"MEMOIZE empty":         "\x80\x04\x94.",
		"PUT of MARK":           "(p0\n.",
		"STACK_GLOBAL non-str":  "\x80\x04K\x01K\x02\x93.",
		"INT without newline":   "I12",
		"LONG too long":         "L" + strings.Repeat("9", 5000) + "L\n.",
		"LONG4 too long":        "\x80\x02\x8b" + u32(1<<20) + strings.Repeat("\x01", 1<<20) + ".",
		"truncated BINFLOAT":    "\x80\x02G\x00\x00.",
		"bad latin1 in _codecs": "\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00\xe2\x82\xacX\x06\x00\x00\x00latin1\x86R.",
		"POP on empty stack":    "0N.",
		"POP_MARK without MARK": "1N.",
	}
	for name, data := range cases {
		_, err := unmarshalAny([]byte(data))
		if !errors.Is(err, pickle.ErrCorrupt) && !errors.Is(err, pickle.ErrLimit) && !errors.Is(err, pickle.ErrUnsupported) {
			t.Errorf("%s: error %v, want ErrCorrupt, ErrLimit or ErrUnsupported", name, err)
		}
	}
	for name, data := range map[string]string{
		"persistent id":   "Pabc\n.",
		"BUILD":           "\x80\x02}N}b.",
		"INST":            "(ios\nsystem\n.",
		"EXT1":            "\x80\x02\x82\x01.",
		"NEXT_BUFFER":     "\x80\x05\x97.",
		"os.system":       "cos\nsystem\n(Vls\ntR.",
		"builtins.eval":   "\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R.",
		"OrderedDict":     "\x80\x02ccollections\nOrderedDict\n)R.",
		"object":          "\x80\x02c__builtin__\nobject\n)\x81.",
		"NEWOBJ of tuple": "\x80\x02c__builtin__\ntuple\n)\x81.",
	} {
		_, err := unmarshalAny([]byte(data))
		if !errors.Is(err, pickle.ErrUnsupported) {
			t.Errorf("%s: error %v, want ErrUnsupported", name, err)
		}
	}
}

// TestTruncatedPicklesFail cuts a real pickle at every length: each prefix
// fails, none panics.
func TestTruncatedPicklesFail(t *testing.T) {
	for _, p := range []int{0, 2, 5} {
		for _, fn := range []func() ([]byte, error){
			func() ([]byte, error) { return pickle.Marshal(goValues["nested"], p) },
			func() ([]byte, error) { return pickle.Marshal(goValues["str_nonascii"], p) },
			func() ([]byte, error) { return pickle.Marshal(goValues["bytes"], p) },
		} {
			data, err := fn()
			if err != nil {
				t.Fatal(err)
			}
			for n := range len(data) {
				if _, err := unmarshalAny(data[:n]); !errors.Is(err, pickle.ErrCorrupt) {
					t.Errorf("protocol %d, %d of %d bytes: error %v, want ErrCorrupt", p, n, len(data), err)
				}
			}
		}
	}
}
