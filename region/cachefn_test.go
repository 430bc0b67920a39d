package region_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

type pair struct{ X, Y int }

func (p pair) String() string { return fmt.Sprintf("%d %d", p.X, p.Y) }

// Ported from dogpile's test_decorated_fn_functionality.
func TestCacheOnArguments(t *testing.T) {
	r := configured(t, "decorated", nil)
	ctx := context.Background()
	var counter atomic.Int32
	f := region.CacheOnArguments(r, "", func(_ context.Context, p pair) (int, error) {
		return int(counter.Add(1)) + p.X + p.Y, nil
	})
	for _, p := range []pair{{3, 4}, {5, 6}, {4, 3}} {
		if err := f.Invalidate(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	check := func(p pair, want int) {
		t.Helper()
		if got, err := f.Call(ctx, p); err != nil || got != want {
			t.Fatalf("f(%v) = %d, %v; want %d", p, got, err, want)
		}
	}
	check(pair{3, 4}, 8)
	check(pair{5, 6}, 13)
	check(pair{3, 4}, 8)
	check(pair{4, 3}, 10)
	if err := f.Invalidate(ctx, pair{4, 3}); err != nil {
		t.Fatal(err)
	}
	check(pair{4, 3}, 11)

	if err := f.Set(ctx, pair{1, 1}, 100); err != nil {
		t.Fatal(err)
	}
	check(pair{1, 1}, 100)
	if v, ok, err := f.Get(ctx, pair{1, 1}); err != nil || !ok || v != 100 {
		t.Fatalf("Get = %v, %v, %v", v, ok, err)
	}
	if _, ok, _ := f.Get(ctx, pair{9, 9}); ok {
		t.Fatal("Get of an uncached argument found a value")
	}
	got, err := f.Refresh(ctx, pair{1, 1})
	if err != nil || got != 7 {
		t.Fatalf("Refresh = %v, %v; want a fresh call (7)", got, err)
	}
	check(pair{1, 1}, 7)
	// No name: the Go function's package path and name, as dogpile's
	// "<module>:<function>".
	if k := f.Key(pair{3, 4}); !strings.HasPrefix(k, "github.com/dogpile-go/dogpile/region_test:TestCacheOnArguments") || !strings.HasSuffix(k, "|3 4") {
		t.Fatalf("Key = %q; want <package>:<function name>|3 4", k)
	}
	ns := region.CacheOnArguments(r, "tests.cache:one", f.Func(), region.WithFuncNamespace("mynamespace"))
	if k := ns.Key(pair{1, 2}); k != "tests.cache:one|mynamespace|1 2" {
		t.Fatalf("namespaced key = %q", k)
	}
}

func TestCacheOnArgumentsOptions(t *testing.T) {
	r := configured(t, "decorated-options", nil, region.WithExpirationTime(time.Hour))
	ctx := context.Background()
	calls := 0
	f := region.CacheOnArguments(r, "ns", func(_ context.Context, s string) (string, error) {
		calls++
		return strings.ToUpper(s), nil
	},
		region.WithFuncShouldCache(func(v any) bool { return v != "SKIP" }),
		region.WithFuncKeyGenerator(func(name string, arg any) string { return "custom:" + region.ArgumentString(arg) }),
		region.WithFuncExpiration(region.NoExpiration))
	if k := f.Key("a"); k != "custom:a" {
		t.Fatalf("key = %q", k)
	}
	for i := 0; i < 2; i++ {
		_, _ = f.Call(ctx, "a")
		_, _ = f.Call(ctx, "skip")
	}
	if calls != 3 {
		t.Fatalf("function called %d times; want 3 (skip is never cached)", calls)
	}
	if v, ok, _ := r.Get(ctx, "custom:a"); !ok || v != "A" {
		t.Fatalf("region has %v, %v under the custom key", v, ok)
	}
}

func TestCacheMultiOnArguments(t *testing.T) {
	r := configured(t, "decorated-multi", nil)
	ctx := context.Background()
	var asked [][]int
	f := region.CacheMultiOnArguments(r, "", func(_ context.Context, xs []int) ([]string, error) {
		asked = append(asked, slices.Clone(xs))
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = fmt.Sprint("v", x)
		}
		return out, nil
	})
	got, err := f.Call(ctx, []int{3, 1, 2})
	if err != nil || !slices.Equal(got, []string{"v3", "v1", "v2"}) {
		t.Fatalf("Call = %v, %v", got, err)
	}
	got, err = f.Call(ctx, []int{2, 4})
	if err != nil || !slices.Equal(got, []string{"v2", "v4"}) {
		t.Fatalf("second Call = %v, %v", got, err)
	}
	if len(asked) != 2 || !slices.Equal(asked[1], []int{4}) {
		t.Fatalf("function asked %v; want only the missing argument the second time", asked)
	}
	if err := f.Set(ctx, []int{5}, []string{"five"}); err != nil {
		t.Fatal(err)
	}
	vals, found, err := f.Get(ctx, []int{5, 6})
	if err != nil || vals[0] != "five" || !found[0] || found[1] {
		t.Fatalf("Get = %v %v %v", vals, found, err)
	}
	if err := f.Invalidate(ctx, 5, 1); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := f.Get(ctx, []int{5, 1, 2}); found[0] || found[1] || !found[2] {
		t.Fatalf("after Invalidate found = %v", found)
	}
	if got, err := f.Refresh(ctx, []int{2}); err != nil || got[0] != "v2" || len(asked) != 3 {
		t.Fatalf("Refresh = %v, %v (asked %v)", got, err, asked)
	}
	if err := f.Set(ctx, []int{1, 2}, []string{"x"}); err == nil {
		t.Fatal("Set with mismatched lengths: no error")
	}
	if ks := f.Keys([]int{1}); len(ks) != 1 || ks[0] != f.Key(1) {
		t.Fatalf("Keys = %v", ks)
	}
}

func TestTypedErrors(t *testing.T) {
	r := configured(t, "typed", nil)
	ctx := context.Background()
	if err := r.Set(ctx, "k", "text"); err != nil {
		t.Fatal(err)
	}
	_, _, err := region.GetAs[int](ctx, r, "k")
	var te *region.TypeError
	if !asTypeError(err, &te) || te.Key != "k" || te.Want != "int" || te.Got != "string" {
		t.Fatalf("err = %v; want a TypeError naming key and types", err)
	}
	if err := r.Set(ctx, "nil", nil); err != nil {
		t.Fatal(err)
	}
	if p, ok, err := region.GetAs[*pair](ctx, r, "nil"); err != nil || !ok || p != nil {
		t.Fatalf("GetAs[*pair] of nil = %v, %v, %v", p, ok, err)
	}
	got, err := region.GetOrCreateMultiAs(ctx, r, []string{"a", "b"}, func(_ context.Context, ks []string) ([]int, error) {
		return []int{len(ks), len(ks)}, nil
	})
	if err != nil || !slices.Equal(got, []int{2, 2}) {
		t.Fatalf("GetOrCreateMultiAs = %v, %v", got, err)
	}
	if _, err := r.GetOrCreateMulti(ctx, []string{"c", "d"}, func(context.Context, []string) ([]any, error) {
		return []any{1}, nil
	}); err == nil || !strings.Contains(err.Error(), "1 values for 2 keys") {
		t.Fatalf("short creator result: err = %v", err)
	}
	if _, err := r.GetOrCreate(ctx, "x", nil); err == nil {
		t.Fatal("nil creator: no error")
	}
}

func asTypeError(err error, te **region.TypeError) bool {
	for err != nil {
		if e, ok := err.(*region.TypeError); ok {
			*te = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestRegionFunctionKeyGenerator(t *testing.T) {
	r := region.New("keygen", region.WithFunctionKeyGenerator(func(fnName string, arg any) string {
		return "fixed:" + region.ArgumentString(arg)
	}))
	if err := r.Configure("memory"); err != nil {
		t.Fatal(err)
	}
	f := region.CacheOnArguments(r, "ns", func(_ context.Context, n int) (int, error) { return n * 2, nil })
	if k := f.Key(21); k != "fixed:21" {
		t.Fatalf("Key = %q; the region's generator should make it", k)
	}
	m := region.CacheMultiOnArguments(r, "", func(_ context.Context, xs []int) ([]int, error) { return xs, nil })
	if got, _ := m.Func()(context.Background(), []int{1, 2}); len(got) != 2 || m.Key(3) != "fixed:3" {
		t.Fatalf("Func() = %v, Key = %q", got, m.Key(3))
	}
	if s, err := region.SerializerByName("json"); err != nil || s.Name() != "json" {
		t.Fatalf("SerializerByName(json) = %v, %v", s, err)
	}
	if _, err := region.SerializerByName("pickle"); err == nil {
		t.Fatal("SerializerByName(pickle): no error")
	}
}

// WithFuncEnabled: while caching is off the function is called every time
// and nothing is read or stored; switched on again, caching resumes.
func TestCacheOnArgumentsEnabledSwitch(t *testing.T) {
	r := configured(t, "switch", nil)
	ctx := context.Background()
	var on atomic.Bool
	var calls atomic.Int32
	f := region.CacheOnArguments(r, "switch", func(_ context.Context, n int) (int, error) {
		return int(calls.Add(1))*100 + n, nil
	}, region.WithFuncEnabled(on.Load))
	mf := region.CacheMultiOnArguments(r, "switch-multi", func(_ context.Context, ns []int) ([]int, error) {
		out := make([]int, len(ns))
		for i, n := range ns {
			out[i] = int(calls.Add(1))*100 + n
		}
		return out, nil
	}, region.WithFuncEnabled(on.Load))

	// Off: straight to the function, nothing stored.
	for want := 101; want <= 201; want += 100 {
		if got, err := f.Call(ctx, 1); err != nil || got != want {
			t.Fatalf("off: Call = %d, %v; want %d", got, err, want)
		}
	}
	if err := f.Set(ctx, 2, 7); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := f.Get(ctx, 2); ok || err != nil || v != 0 {
		t.Fatalf("off: Get = %v, %v, %v; want nothing", v, ok, err)
	}
	if got, err := mf.Call(ctx, []int{1, 2}); err != nil || !slices.Equal(got, []int{301, 402}) {
		t.Fatalf("off: multi Call = %v, %v", got, err)
	}
	if _, found, err := mf.Get(ctx, []int{1, 2}); err != nil || slices.Contains(found, true) {
		t.Fatalf("off: multi Get found %v, %v", found, err)
	}
	if v, ok, err := region.GetAs[int](ctx, r, f.Key(1)); ok || err != nil {
		t.Fatalf("off: the region holds %v for the key (%v)", v, err)
	}

	// On: cached as usual.
	on.Store(true)
	first, err := f.Call(ctx, 1)
	if err != nil || first != 501 {
		t.Fatalf("on: Call = %d, %v; want 501", first, err)
	}
	if again, _ := f.Call(ctx, 1); again != first {
		t.Fatalf("on: second Call = %d, want the cached %d", again, first)
	}
	if got, err := mf.Call(ctx, []int{1}); err != nil || !slices.Equal(got, []int{601}) {
		t.Fatalf("on: multi Call = %v, %v", got, err)
	}
	if got, _ := mf.Call(ctx, []int{1}); !slices.Equal(got, []int{601}) {
		t.Fatalf("on: second multi Call = %v, want the cached [601]", got)
	}

	// Off again: Invalidate still deletes, so turning caching back on
	// finds no stale value.
	on.Store(false)
	if err := f.Invalidate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	on.Store(true)
	if got, _ := f.Call(ctx, 1); got == first {
		t.Fatalf("Invalidate while off left the old value %d", got)
	}
}
