package pystr

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/dogpile-go/dogpile/internal/pyrun"
)

func TestFloat(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 0.5: "0.5", 1e-5: "1e-05", 1e16: "1e+16", 123456789012345.6: "123456789012345.6",
		1e15: "1000000000000000.0", 0.0001: "0.0001", -2.5e-7: "-2.5e-07", 1.5e300: "1.5e+300", 0: "0.0",
		math.Inf(1): "inf", math.Inf(-1): "-inf", math.NaN(): "nan",
	} {
		if got := floatStr(f); got != want {
			t.Errorf("floatStr(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestStringRepr(t *testing.T) {
	for s, want := range map[string]string{
		"a": "'a'", "it's": `"it's"`, `a'b"c`: `'a\'b"c'`, "x\ny\\": `'x\ny\\'`, "\x01é\u00a0": `'\x01é\xa0'`,
		"\ufffd":   "'\ufffd'", // a real U+FFFD is printable
		"a\xffb":   `'a\xffb'`, // a byte that is not UTF-8
		"\xe2\x82": `'\xe2\x82'`,
		"\u2028":   `'\u2028'`, "\U000e0001": `'\U000e0001'`, "\x7f": `'\x7f'`, "\u0085": `'\x85'`,
	} {
		if got := stringRepr(s); got != want {
			t.Errorf("stringRepr(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestStrAndRepr(t *testing.T) {
	s, n := "abc", 5
	var nilPtr *int
	type pair struct {
		A int
		b int
		C []string
	}
	for _, c := range []struct {
		v         any
		str, repr string
	}{
		{nil, "None", "None"},
		{nilPtr, "None", "None"},
		{&s, "abc", "'abc'"},
		{&n, "5", "5"},
		{"x", "x", "'x'"},
		{true, "True", "True"},
		{uint8(255), "255", "255"},
		{new(big.Int).Lsh(big.NewInt(1), 70), "1180591620717411303424", "1180591620717411303424"},
		{[]byte{0, 'a', '\''}, `b"\x00a'"`, `b"\x00a'"`},
		{[]any{1, "a", nil, []string(nil)}, "[1, 'a', None, []]", "[1, 'a', None, []]"},
		{pair{1, 2, []string{"x"}}, "(1, ['x'])", "(1, ['x'])"},
		{map[any]int{10: 1, 2: 2, "b": 3, uint(1): 4, -1.5: 5}, "{-1.5: 5, 1: 4, 2: 2, 10: 1, 'b': 3}", "{-1.5: 5, 1: 4, 2: 2, 10: 1, 'b': 3}"},
		{strconv.NumError{}, "('', '', None)", "('', '', None)"},
	} {
		if got := Str(c.v); got != c.str {
			t.Errorf("Str(%#v) = %s, want %s", c.v, got, c.str)
		}
		if got := repr(c.v); got != c.repr {
			t.Errorf("repr(%#v) = %s, want %s", c.v, got, c.repr)
		}
	}
}

// TestPrintableMatchesPython: Printable agrees with Python's
// str.isprintable on every character the Python knows (those of its
// Unicode version); the test also checks stringRepr against Python's repr
// of every such character.
func TestPrintableMatchesPython(t *testing.T) {
	py := pyrun.Require(t)
	out := py.Run(t, pyrun.Script{Source: `
import json, sys, unicodedata
out = []
for c in range(0x110000):
    ch = chr(c)
    if unicodedata.category(ch) != "Cn":
        out.append([c, ch.isprintable(), repr(ch)])
json.dump(out, sys.stdout, ensure_ascii=False)
`})
	var chars [][3]any
	if err := json.Unmarshal(out, &chars); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, c := range chars {
		r := rune(c[0].(float64))
		printable, repr := c[1].(bool), c[2].(string)
		if !utf8.ValidRune(r) {
			continue // surrogates: a Go string cannot hold one
		}
		if Printable(r) != printable || stringRepr(string(r)) != repr {
			if bad++; bad <= 20 {
				t.Errorf("U+%04X: Printable %v, stringRepr %s; Python: isprintable %v, repr %s", r, Printable(r), stringRepr(string(r)), printable, repr)
			}
		}
	}
	if bad > 20 {
		t.Errorf("... %d characters differ", bad)
	}
	if len(chars) < 100000 {
		t.Fatalf("only %d characters from Python", len(chars))
	}
}

// TestSelfReference: a value that holds itself renders as Python renders
// a list that holds itself, instead of recursing without end.
func TestSelfReference(t *testing.T) {
	type node struct {
		V    int
		Next *node
	}
	n := &node{V: 1}
	n.Next = &node{V: 2, Next: n}
	if got, want := repr(n), "(1, (2, ...))"; got != want {
		t.Errorf("Repr of a ring of structs = %s, want %s", got, want)
	}
	l := []any{1, nil}
	l[1] = l
	if got, want := repr([]any{l, l}), "[[1, [...]], [1, [...]]]"; got != want {
		t.Errorf("Repr of lists holding themselves = %s, want %s", got, want)
	}
	m := map[string]any{"a": 1}
	m["m"] = m
	if got, want := Str(m), "{'a': 1, 'm': {...}}"; got != want {
		t.Errorf("Str of a map holding itself = %s, want %s", got, want)
	}
	type P *P
	var p P
	p = &p
	if got := Str(p); got != "..." {
		t.Errorf("Str of a pointer to itself = %s", got)
	}
	// A value met twice but not inside itself renders twice.
	shared := []int{1}
	if got, want := repr([]any{shared, shared, &n.V, &n.V}), "[[1], [1], 1, 1]"; got != want {
		t.Errorf("Repr = %s, want %s", got, want)
	}
}
