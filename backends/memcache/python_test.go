package memcache_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/pyrun"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/pickle"
	"github.com/dogpile-go/dogpile/region"
)

// The tests in this file check the dogpile.cache names against the real
// Python clients (Debian's python3-dogpile.cache, python3-memcache,
// python3-pymemcache, python3-oslo.cache), driven through
// testdata/pyfleet.py, on the test memcached servers.

var pyModules = []string{"dogpile.cache", "memcache", "pymemcache", "oslo_cache"}

// fleetNames are the dogpile.cache names whose wire Go matches.
var fleetNames = []string{memcache.NameDogpileMemcached, memcache.NameDogpilePymemcache, memcache.NameOsloMemcachePool}

// pyCall runs one request of testdata/pyfleet.py and decodes its answer
// into out.
func pyCall(t testing.TB, py *pyrun.Python, req map[string]any, out any) {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	raw := py.Run(t, pyrun.Script{File: "testdata/pyfleet.py", Stdin: in})
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("python answer %q: %v", raw, err)
	}
}

// pythonReadsAll asks Python to read items (key: the Python literal of
// the value Go wrote there) with req's backend and arguments, and reports
// each item Python did not read as an equal value of the same type.
func pythonReadsAll(t testing.TB, py *pyrun.Python, req map[string]any, items map[string]string) {
	t.Helper()
	var got map[string]struct {
		OK   bool   `json:"ok"`
		Repr string `json:"repr"`
	}
	req["op"], req["items"] = "get", items
	pyCall(t, py, req, &got)
	for k, lit := range items {
		if !got[k].OK {
			t.Errorf("Go wrote %.60s, Python read %.60s", lit, got[k].Repr)
		}
	}
}

// pyOutput is pyCall from a goroutine: it returns the error.
func pyOutput(ctx context.Context, py *pyrun.Python, req map[string]any, out any) error {
	in, err := json.Marshal(req)
	if err != nil {
		return err
	}
	raw, err := py.Output(ctx, pyrun.Script{File: "testdata/pyfleet.py", Stdin: in})
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

func TestPlacementMatchesPythonClients(t *testing.T) {
	py := pyrun.Require(t, pyModules...)
	servers := testservers.MemcachedN(t, 3)
	prefix := testservers.UniqueKey(t, "")
	keys := make([]string, 300)
	for i := range keys {
		switch i % 3 {
		case 0:
			keys[i] = fmt.Sprintf("%skey-%d", prefix, i)
		case 1:
			keys[i] = fmt.Sprintf("_lock%sk%d", prefix, i*7919)
		default:
			keys[i] = fmt.Sprintf("%sclé-%d-日本", prefix, i) // python-memcached hashes the UTF-8 bytes
		}
	}
	var got struct {
		PythonMemcached []int `json:"python-memcached"`
		Pymemcache      []int `json:"pymemcache"`
	}
	pyCall(t, py, map[string]any{"op": "placement", "servers": servers, "keys": keys, "store": keys}, &got)

	pm, err := memcache.NewPythonMemcacheSelector(servers...)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := memcache.NewRendezvousSelector(servers...)
	if err != nil {
		t.Fatal(err)
	}
	same, sameHC, ascii := 0, 0, 0
	for i, k := range keys {
		if g := pm.ServerIndex(k); g != got.PythonMemcached[i] {
			t.Errorf("key %q: Go picks server %d, python-memcached %d", k, g, got.PythonMemcached[i])
		} else {
			same++
		}
		if got.Pymemcache[i] < 0 {
			continue // pymemcache refuses non-ASCII keys
		}
		ascii++
		if g := hc.ServerIndex(k); g != got.Pymemcache[i] {
			t.Errorf("key %q: Go picks server %d, pymemcache HashClient %d", k, g, got.Pymemcache[i])
		} else {
			sameHC++
		}
	}
	t.Logf("python-memcached: %d/%d keys on the same server; pymemcache: %d/%d", same, len(keys), sameHC, ascii)

	// What python-memcached stored is on the server Go computes.
	for i, k := range keys {
		c := gomemcache.New(servers[pm.ServerIndex(k)])
		it, err := c.Get(k)
		if err != nil {
			t.Fatalf("key %q stored by python-memcached: get on server %d (%s): %v", k, pm.ServerIndex(k), servers[pm.ServerIndex(k)], err)
		}
		if string(it.Value) != "stored-by-python" || it.Flags != memcache.FlagText {
			t.Fatalf("key %q: got %q flags %d", k, it.Value, it.Flags)
		}
		if i == 0 {
			_ = c.Close()
		}
	}
}

func TestWeightedPlacementMatchesPythonMemcached(t *testing.T) {
	py := pyrun.Require(t, pyModules...)
	servers := testservers.MemcachedN(t, 3)
	weights := []int{2, 1, 3}
	keys := make([]string, 200)
	for i := range keys {
		keys[i] = fmt.Sprintf("weighted-%d", i)
	}
	var got struct {
		PythonMemcached []int `json:"python-memcached"`
	}
	pyCall(t, py, map[string]any{"op": "placement", "servers": servers, "weights": weights, "keys": keys}, &got)
	ws := make([]memcache.WeightedServer, len(servers))
	for i, s := range servers {
		ws[i] = memcache.WeightedServer{Addr: s, Weight: weights[i]}
	}
	sel, err := memcache.NewWeightedPythonMemcacheSelector(ws...)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if g := sel.ServerIndex(k); g != got.PythonMemcached[i] {
			t.Errorf("key %q: Go picks server %d, python-memcached %d", k, g, got.PythonMemcached[i])
		}
	}
}

// valueCase is one value that must cross between Go and Python.
type valueCase struct {
	name string
	py   string // the Python literal
	want any    // what Go writes and must read
	json bool   // JSON can carry it
}

func bigInt(s string) *big.Int {
	b, _ := new(big.Int).SetString(s, 10)
	return b
}

var valueCases = []valueCase{
	{"str", `"hello"`, "hello", true},
	{"str_non_ascii", `"héllo wörld ✓ 日本語"`, "héllo wörld ✓ 日本語", true},
	{"int", `42`, int64(42), true},
	{"negative_int", `-7`, int64(-7), true},
	{"big_int", `2**70`, bigInt("1180591620717411303424"), true},
	{"negative_big_int", `-(2**64)`, bigInt("-18446744073709551616"), true},
	{"float", `1.5`, 1.5, true},
	{"float_fraction", `0.1`, 0.1, true},
	{"true", `True`, true, true},
	{"false", `False`, false, true},
	{"none", `None`, nil, true},
	{"list", `[1, "a", 2.5, None]`, []any{int64(1), "a", 2.5, nil}, true},
	{"nested_dict", `{"a": {"b": [1, 2, {"c": None}]}, "n": 1.25, "s": "ü"}`,
		map[string]any{"a": map[string]any{"b": []any{int64(1), int64(2), map[string]any{"c": nil}}}, "n": 1.25, "s": "ü"}, true},
	{"bytes", `b"\x00\xffbin"`, []byte("\x00\xffbin"), false},
	{"empty_dict", `{}`, map[string]any{}, true},
}

// pyLiteral is the Python literal ast.literal_eval reads (no 2**70).
func pyLiteral(c valueCase) string {
	switch c.name {
	case "big_int":
		return "1180591620717411303424"
	case "negative_big_int":
		return "-18446744073709551616"
	}
	return c.py
}

// fleetRegion configures a Go region with a dogpile.cache name.
func fleetRegion(t testing.TB, name string, args region.Arguments, jsonSer bool, opts ...region.ConfigOption) *region.Region {
	t.Helper()
	var ropts []region.Option
	if jsonSer {
		ropts = append(ropts, region.WithSerializer(region.JSONSerializer{}))
	}
	r := region.New("fleet", ropts...)
	opts = append([]region.ConfigOption{region.WithArguments(args)}, opts...)
	if err := r.Configure(name, opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if b, ok := r.ActualBackend().(*memcache.PythonBackend); ok {
			_ = b.Close()
		}
	})
	return r
}

// readAs reads key's payload into a value of want's type (any for nil).
func readAs(t *testing.T, r *region.Region, key string, want any) (any, bool) {
	t.Helper()
	if _, ok := want.(*big.Int); ok {
		v, ok, err := region.GetAs[*big.Int](context.Background(), r, key)
		if err != nil {
			t.Fatalf("get %q: %v", key, err)
		}
		return v, ok
	}
	cv, err := r.GetValueMetadata(context.Background(), key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	if cv == nil {
		return nil, false
	}
	s, ok := cv.Payload.(region.EncodedPayload)
	if !ok {
		return cv.Payload, true
	}
	typ := reflect.TypeOf(&want).Elem()
	if want != nil {
		typ = reflect.TypeOf(want)
	}
	p := reflect.New(typ)
	if err := s.Decode(p.Interface()); err != nil {
		t.Fatalf("decode %q into %v: %v", key, typ, err)
	}
	return p.Elem().Interface(), true
}

func equalValues(got, want any, viaJSON bool) bool {
	if wb, ok := want.(*big.Int); ok {
		gb, ok := got.(*big.Int)
		return ok && gb.Cmp(wb) == 0
	}
	if viaJSON {
		// JSON numbers decode into float64 inside maps and lists.
		norm := func(v any) any {
			b, _ := json.Marshal(v)
			var out any
			_ = json.Unmarshal(b, &out)
			return out
		}
		return reflect.DeepEqual(norm(got), norm(want))
	}
	return reflect.DeepEqual(got, want)
}

func TestValuesCrossBetweenGoAndPython(t *testing.T) {
	py := pyrun.Require(t, pyModules...)
	all := testservers.MemcachedN(t, 3)
	ctx := ctxT(t)
	for _, name := range fleetNames {
		for _, nservers := range []int{1, 3} {
			for _, jsonSer := range []bool{false, true} {
				mode := "pickle"
				if jsonSer {
					mode = "json"
				}
				t.Run(fmt.Sprintf("%s/%d_servers/%s", name, nservers, mode), func(t *testing.T) {
					servers := all[:nservers]
					args := region.Arguments{"url": servers}
					r := fleetRegion(t, name, args, jsonSer)
					prefix := testservers.UniqueKey(t, "")
					goItems, pyItems := map[string]string{}, map[string]string{}
					for _, c := range valueCases {
						if jsonSer && !c.json {
							continue
						}
						gk, pk := prefix+"go:"+c.name, prefix+"py:"+c.name
						if err := r.Set(ctx, gk, c.want); err != nil {
							t.Fatalf("Go set %s: %v", c.name, err)
						}
						goItems[gk], pyItems[pk] = pyLiteral(c), pyLiteral(c)
					}
					req := map[string]any{"backend": name, "args": map[string]any{"url": servers}, "json": jsonSer}
					// Go wrote: Python reads equal values of the same types.
					pythonReadsAll(t, py, req, goItems)
					// Python wrote: Go reads equal values.
					req["op"], req["items"] = "set", pyItems
					pyCall(t, py, req, new(map[string]any))
					for _, c := range valueCases {
						if jsonSer && !c.json {
							continue
						}
						v, ok := readAs(t, r, prefix+"py:"+c.name, c.want)
						if !ok {
							t.Errorf("Python wrote %s: Go reads it as absent", c.py)
							continue
						}
						if !equalValues(v, c.want, jsonSer) {
							t.Errorf("Python wrote %s: Go read %#v, want %#v", c.py, v, c.want)
						}
					}
					// And the generic read (Get) gives the same values.
					v, ok, err := r.Get(ctx, prefix+"py:nested_dict")
					if err != nil || !ok || !equalValues(v, valueCases[12].want, jsonSer) {
						t.Errorf("Get of the nested dict = %#v, %v, %v", v, ok, err)
					}
				})
			}
		}
	}
}

// rawSet writes an item on the server sel picks for key.
func rawSet(t *testing.T, servers []string, sel interface{ ServerIndex(string) int }, it *gomemcache.Item) {
	t.Helper()
	c := gomemcache.New(servers[sel.ServerIndex(it.Key)])
	defer c.Close()
	if err := c.Set(it); err != nil {
		t.Fatal(err)
	}
}

func TestForeignItemsReadAsAbsentAndAreReported(t *testing.T) {
	servers := testservers.MemcachedN(t, 3)
	ctx := ctxT(t)
	sel, err := memcache.NewPythonMemcacheSelector(servers...)
	if err != nil {
		t.Fatal(err)
	}
	prefix := testservers.UniqueKey(t, "")
	native := region.AppendEnvelope(nil, region.Metadata{CreatedAt: time.Now(), Version: region.ValueVersion}, []byte{0xa2, 'h', 'i'})
	dogpileForm := region.DogpileEnvelope.Append(nil, region.Metadata{CreatedAt: time.Now(), Version: region.ValueVersion}, []byte(`"hi"`))
	cachedValue, err := pickle.EncodeCachedValue("hi", time.Now(), region.DogpileValueVersion, 0)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write([]byte(strings.Repeat("hello ", 50)))
	_ = zw.Close()
	items := []struct {
		name    string
		it      gomemcache.Item
		jsonSer bool
		foreign bool
		reason  string // part of the reported error
	}{
		{"native_envelope", gomemcache.Item{Value: native}, false, true, "this project's own memcached format"},
		{"python_str", gomemcache.Item{Value: []byte("hello"), Flags: memcache.FlagText}, false, true, "a Python str"},
		{"python_int", gomemcache.Item{Value: []byte("42"), Flags: memcache.FlagInteger}, false, true, "a Python int"},
		{"dogpile_form_without_serializer", gomemcache.Item{Value: dogpileForm}, false, true, "configure this region with the same serializer"},
		{"pickle_with_serializer", gomemcache.Item{Value: []byte("\x80\x05K\x01."), Flags: memcache.FlagPickle}, true, true, "a Python int"},
		{"cachedvalue_with_serializer", gomemcache.Item{Value: cachedValue, Flags: memcache.FlagPickle}, true, true, "a pickled dogpile CachedValue, written by a region without a serializer"},
		{"compressed_str_with_serializer", gomemcache.Item{Value: z.Bytes(), Flags: memcache.FlagText | memcache.FlagCompressed}, true, true, "a Python str"},
		{"corrupt_pickle", gomemcache.Item{Value: []byte("\x80\x05\x95garbage"), Flags: memcache.FlagPickle}, false, false, "a pickle this region cannot read"},
		{"corrupt_zlib", gomemcache.Item{Value: []byte("not zlib"), Flags: memcache.FlagPickle | memcache.FlagCompressed}, false, false, "not zlib"},
		{"corrupt_zlib_with_serializer", gomemcache.Item{Value: []byte("not zlib"), Flags: memcache.FlagCompressed}, true, false, "not zlib"},
		{"unknown_flags", gomemcache.Item{Value: []byte("x"), Flags: 1 << 9}, false, false, "unknown flags"},
		{"native_with_serializer", gomemcache.Item{Value: native}, true, true, "this project's own memcached format"},
	}
	for _, c := range items {
		t.Run(c.name, func(t *testing.T) {
			var reported []error
			var mu sync.Mutex
			r := region.New("foreign", func() []region.Option {
				o := []region.Option{region.WithErrorHandler(func(_ context.Context, _ string, err error) {
					mu.Lock()
					reported = append(reported, err)
					mu.Unlock()
				})}
				if c.jsonSer {
					o = append(o, region.WithSerializer(region.JSONSerializer{}))
				}
				return o
			}()...)
			if err := r.Configure(memcache.NameDogpileMemcached, region.WithArguments(region.Arguments{"url": servers})); err != nil {
				t.Fatal(err)
			}
			it := c.it
			it.Key = prefix + c.name
			rawSet(t, servers, sel, &it)
			v, ok, err := r.Get(ctx, it.Key)
			if err != nil || ok {
				t.Fatalf("Get = %v, %v, %v; want absent", v, ok, err)
			}
			vs, err := r.GetMulti(ctx, []string{it.Key})
			if err != nil || vs[0] != region.NoValue {
				t.Fatalf("GetMulti = %v, %v; want NoValue", vs, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(reported) != 2 {
				t.Fatalf("reported %d errors, want 2 (one per read): %v", len(reported), reported)
			}
			if !errors.Is(reported[0], region.ErrCorruptValue) || errors.Is(reported[0], memcache.ErrForeignValue) != c.foreign {
				t.Fatalf("reported %v; want ErrCorruptValue, ErrForeignValue %v", reported[0], c.foreign)
			}
			if !strings.Contains(reported[0].Error(), it.Key) || !strings.Contains(reported[0].Error(), c.reason) {
				t.Fatalf("reported %v; want the key named and %q", reported[0], c.reason)
			}
			t.Logf("reported: %v", reported[0])
		})
	}

	// The other way: dogpile's bytes read by the project's own memcached
	// backend are absent too (reported by its serialized backend).
	t.Run("dogpile_form_in_native_backend", func(t *testing.T) {
		var reported []error
		r := region.New("native", region.WithErrorHandler(func(_ context.Context, _ string, err error) { reported = append(reported, err) }),
			region.WithKeyMangler(func(k string) string { return k }))
		if err := r.Configure("memcached", region.WithArguments(region.Arguments{"url": servers[0]})); err != nil {
			t.Fatal(err)
		}
		key := prefix + "native-reads-dogpile"
		c := gomemcache.New(servers[0])
		defer c.Close()
		if err := c.Set(&gomemcache.Item{Key: key, Value: dogpileForm}); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := r.Get(ctx, key); err != nil || ok {
			t.Fatalf("Get = %v, %v, %v; want absent", v, ok, err)
		}
		if len(reported) != 1 || !errors.Is(reported[0], region.ErrCorruptValue) {
			t.Fatalf("reported %v, want one ErrCorruptValue", reported)
		}
	})
}

// TestFleetGetMultiOneRequestPerServer: python-memcached's and pymemcache's
// placement keep GetMulti at one request per server.
func TestFleetGetMultiOneRequestPerServer(t *testing.T) {
	servers := testservers.MemcachedN(t, 3)
	ctx := ctxT(t)
	for _, client := range []memcache.PythonClient{memcache.PythonMemcached, memcache.Pymemcache} {
		t.Run(string(client), func(t *testing.T) {
			d := newCountingDialer()
			opts := memcache.PythonOptions{Client: client, DialContext: d.DialContext}
			for _, s := range servers {
				opts.Servers = append(opts.Servers, memcache.WeightedServer{Addr: s, Weight: 1})
			}
			b, err := memcache.NewPython(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			prefix := testservers.UniqueKey(t, "")
			m := map[string]region.CachedValue{}
			keys := make([]string, 100)
			for i := range keys {
				keys[i] = fmt.Sprintf("%s%d", prefix, i)
				m[keys[i]] = region.CachedValue{Payload: i, Metadata: region.Metadata{CreatedAt: time.Now(), Version: region.ValueVersion}}
			}
			if err := b.SetMulti(ctx, m); err != nil {
				t.Fatal(err)
			}
			got, err := b.GetMulti(ctx, keys)
			if err != nil || len(got) != 100 {
				t.Fatalf("GetMulti: %d values, %v", len(got), err)
			}
			for _, s := range servers {
				if n := d.count(s, "gets") + d.count(s, "get"); n != 1 {
					t.Errorf("server %s got %d get requests for 100 keys, want 1", s, n)
				}
			}
		})
	}
}

// TestCompressedValuesCrossBetweenGoAndPython: with min_compress_len,
// python-memcached zlib-compresses what dogpile hands it (a pickled
// CachedValue, or a serializer's bytes) and sets flag 8; Go does the same
// and reads Python's compressed items, with and without a serializer.
func TestCompressedValuesCrossBetweenGoAndPython(t *testing.T) {
	py := pyrun.Require(t, pyModules...)
	servers := testservers.MemcachedN(t, 3)
	sel, err := memcache.NewPythonMemcacheSelector(servers...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	long := strings.Repeat("compressible text ", 64)
	values := map[string]any{
		"long_str":  long,
		"long_list": []any{long, long, int64(7)},
		"short_str": "short", // under min_compress_len: stored as is
	}
	literal := func(v any) string { // JSON of strings, lists and ints is Python's literal syntax
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	rawFlags := func(key string) uint32 {
		t.Helper()
		c := gomemcache.New(servers[sel.ServerIndex(key)])
		defer c.Close()
		it, err := c.Get(key)
		if err != nil {
			t.Fatalf("raw get %q: %v", key, err)
		}
		return it.Flags
	}
	for _, name := range []string{memcache.NameDogpileMemcached, memcache.NameOsloMemcachePool} {
		for _, jsonSer := range []bool{false, true} {
			mode, baseFlags := "pickle", memcache.FlagPickle
			if jsonSer {
				mode, baseFlags = "json", 0
			}
			t.Run(name+"/"+mode, func(t *testing.T) {
				args := map[string]any{"url": servers, "min_compress_len": 300} // above a short value's pickled CachedValue (150 bytes)
				r := fleetRegion(t, name, region.Arguments(args), jsonSer)
				prefix := testservers.UniqueKey(t, "")
				goItems, pyItems := map[string]string{}, map[string]string{}
				for n, v := range values {
					gk := prefix + "go:" + n
					if err := r.Set(ctx, gk, v); err != nil {
						t.Fatalf("Go set %s: %v", n, err)
					}
					goItems[gk], pyItems[prefix+"py:"+n] = literal(v), literal(v)
				}
				req := map[string]any{"backend": name, "args": args, "json": jsonSer}
				pythonReadsAll(t, py, req, goItems)
				req["op"], req["items"] = "set", pyItems
				pyCall(t, py, req, new(map[string]any))
				for n, want := range values {
					wantFlags := baseFlags
					if n != "short_str" {
						wantFlags |= memcache.FlagCompressed
					}
					for _, side := range []string{"go:", "py:"} {
						if f := rawFlags(prefix + side + n); f != wantFlags {
							t.Errorf("%s%s stored with flags %d, want %d", side, n, f, wantFlags)
						}
					}
					v, ok := readAs(t, r, prefix+"py:"+n, want)
					if !ok {
						t.Errorf("Python wrote %s: Go reads it as absent", n)
						continue
					}
					if !equalValues(v, want, jsonSer) {
						t.Errorf("Python wrote %s: Go read %#v", n, v)
					}
				}
			})
		}
	}
}
