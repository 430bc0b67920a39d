package region_test

import (
	"context"
	"math"
	"math/big"
	"testing"

	"github.com/dogpile-go/dogpile/region"
)

// TestFunctionKeysAsDogpile: the keys are those dogpile's
// function_key_generator makes for a Python function fn of module svc.mod
// called with the Python values the Go arguments stand for (the expected
// strings are what dogpile 1.1.8 returns; the test in package
// backends/memcache checks them against Python itself).
func TestFunctionKeysAsDogpile(t *testing.T) {
	type args struct {
		ID     int
		Name   string
		Admin  bool
		hidden int
	}
	type point struct{ X, Y float64 }
	var nilPtr *int
	str, num := "abc", 5
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	for _, tc := range []struct {
		arg  any
		want string
	}{
		{42, "svc.mod:fn|42"},
		{-7, "svc.mod:fn|-7"},
		{"ada", "svc.mod:fn|ada"},
		{"", "svc.mod:fn|"},
		{"héllo wörld", "svc.mod:fn|héllo wörld"},
		{true, "svc.mod:fn|True"},
		{false, "svc.mod:fn|False"},
		{nil, "svc.mod:fn|None"},
		{nilPtr, "svc.mod:fn|None"},
		{&str, "svc.mod:fn|abc"}, // fn("abc")
		{&num, "svc.mod:fn|5"},
		{[]*string{&str, nil}, "svc.mod:fn|abc None"},
		{1.0, "svc.mod:fn|1.0"},
		{1.5, "svc.mod:fn|1.5"},
		{0.1, "svc.mod:fn|0.1"},
		{1e16, "svc.mod:fn|1e+16"},
		{1.5e-5, "svc.mod:fn|1.5e-05"},
		{math.Inf(1), "svc.mod:fn|inf"},
		{float32(0.5), "svc.mod:fn|0.5"},
		{big70, "svc.mod:fn|1180591620717411303424"},
		{[]byte("ab'c"), `svc.mod:fn|b"ab'c"`},
		{[]int{3, 4}, "svc.mod:fn|3 4"},                        // fn(3, 4)
		{[]any{1, "x", nil, true}, "svc.mod:fn|1 x None True"}, // fn(1, "x", None, True)
		{args{7, "ada", true, 9}, "svc.mod:fn|7 ada True"},     // fn(7, "ada", True)
		{point{1, 2.5}, "svc.mod:fn|1.0 2.5"},
		{[]any{[]int{1, 2}, map[string]any{"b": 1, "a": "x'y"}}, `svc.mod:fn|[1, 2] {'a': "x'y", 'b': 1}`},
		{[]any{[]string{"a", "b\n"}}, `svc.mod:fn|['a', 'b\n']`},
		{[]any{[]string{"\ufffd", "\u00a0"}}, "svc.mod:fn|['\ufffd', '\\xa0']"}, // U+FFFD is printable
		{map[int]int{10: 1, 2: 1}, "svc.mod:fn|{2: 1, 10: 1}"},
		{[]any{[]any{point{1, 2}}}, "svc.mod:fn|[(1.0, 2.0)]"},
	} {
		f := region.CacheOnArguments(configuredMemory(t), "svc.mod:fn", func(context.Context, any) (int, error) { return 0, nil })
		if got := f.Key(tc.arg); got != tc.want {
			t.Errorf("Key(%#v) = %q, want %q", tc.arg, got, tc.want)
		}
	}
}

func configuredMemory(t *testing.T) *region.Region {
	t.Helper()
	r := region.New("keys")
	if err := r.Configure("memory"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}
