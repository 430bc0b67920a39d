package region_test

import (
	"context"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/dogpile-go/dogpile/internal/pyrun"
	"github.com/dogpile-go/dogpile/region"
)

// keysScript prints, for each [kind, arguments] read from stdin, the key
// dogpile's function_key_generator ("single": arguments is a tuple of
// positional arguments) or function_multi_key_generator ("multi": arguments
// is the one argument) makes for a function fn of module svc.mod.
const keysScript = `
import json, sys
from dogpile.cache import util
def fn(*args): pass
fn.__module__ = "svc.mod"
single = util.function_key_generator(None, fn)
multi = util.function_multi_key_generator(None, fn)
out = []
for kind, expr in json.load(sys.stdin):
    v = eval(expr)
    out.append(single(*v) if kind == "single" else multi(v)[0])
json.dump(out, sys.stdout)
`

// TestFunctionKeysMatchPython checks CacheOnArguments' and
// CacheMultiOnArguments' keys against dogpile's own key generators, run by
// /usr/bin/python3 on the Python values the Go arguments stand for.
func TestFunctionKeysMatchPython(t *testing.T) {
	py := pyrun.Require(t, "dogpile.cache")
	type user struct {
		ID   int
		Name string
	}
	type one struct{ ID int }
	type args struct {
		ID     int
		Name   string
		Admin  bool
		hidden int
	}
	type point struct{ X, Y float64 }
	s, n := "abc", 5
	var nilPtr *int
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	cases := []struct {
		kind string // "single" or "multi"
		arg  any
		py   string // the Python value(s) arg stands for
	}{
		{"single", 42, "(42,)"},
		{"single", "ada", "('ada',)"},
		{"single", &s, "('abc',)"},
		{"single", &n, "(5,)"},
		{"single", nilPtr, "(None,)"},
		{"single", []any{&s, &n, nilPtr}, "('abc', 5, None)"},
		{"single", []int{3, 4}, "(3, 4)"},
		{"single", args{7, "ada", true, 9}, "(7, 'ada', True)"},
		{"single", &args{7, "ada", false, 9}, "(7, 'ada', False)"},
		{"single", point{1, 2.5}, "(1.0, 2.5)"},
		{"single", []any{1e16, 1.5e-5, 0.1, float32(0.5), big70}, "(1e16, 1.5e-5, 0.1, 0.5, 2**70)"},
		{"single", []byte("ab'c"), `(b"ab'c",)`},
		{"single", []any{[]int{1, 2}, map[string]any{"b": 1, "a": "x'y"}}, `([1, 2], {'a': "x'y", 'b': 1})`},
		{"single", map[int]int{10: 1, 2: 1, -3: 0}, "({-3: 0, 2: 1, 10: 1},)"},
		{"single", map[float64]string{1.5: "b", 1: "a", 10: "c"}, "({1.0: 'a', 1.5: 'b', 10.0: 'c'},)"},
		{"single", []any{[]string{"a", "b\n", "\ufffd", "\u00a0", "é", "\x01", "\u2028", "日本", "\U0001F600", "\u200b"}},
			`(['a', 'b\n', '\ufffd', '\xa0', 'é', '\x01', '\u2028', '日本', '\U0001F600', '\u200b'],)`},
		{"single", []any{[]any{point{1, 2}, &user{7, "x"}, one{3}, struct{}{}}}, "([(1.0, 2.0), (7, 'x'), (3,), ()],)"},
		{"single", []any{[]*string{&s, nil}}, "(['abc', None],)"},

		{"multi", user{7, "ada"}, "(7, 'ada')"},
		{"multi", &user{7, "ada"}, "(7, 'ada')"},
		{"multi", one{7}, "(7,)"},
		{"multi", struct{}{}, "()"},
		{"multi", []any{1, "x"}, "(1, 'x')"},
		{"multi", 5, "5"},
		{"multi", "ada", "'ada'"},
		{"multi", &s, "'abc'"},
		{"multi", nilPtr, "None"},
		{"multi", 2.0, "2.0"},
		{"multi", []byte("b"), "b'b'"},
		{"multi", map[string]int{"k": 1}, "{'k': 1}"},
	}
	in := make([][2]string, len(cases))
	for i, c := range cases {
		in[i] = [2]string{c.kind, c.py}
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	if err := json.Unmarshal(py.Run(t, pyrun.Script{Source: keysScript, Stdin: stdin}), &want); err != nil {
		t.Fatal(err)
	}
	r := configuredMemory(t)
	noop := func(context.Context, any) (int, error) { return 0, nil }
	single := region.CacheOnArguments(r, "svc.mod:fn", noop)
	multi := region.CacheMultiOnArguments(r, "svc.mod:fn", func(context.Context, []any) ([]int, error) { return nil, nil })
	for i, c := range cases {
		var got string
		if c.kind == "single" {
			got = single.Key(c.arg)
		} else {
			got = multi.Key(c.arg)
		}
		if got != want[i] {
			t.Errorf("%s Key(%#v) = %q; Python's key for %s is %q", c.kind, c.arg, got, c.py, want[i])
		}
	}
}
