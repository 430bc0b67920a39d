package pickle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	ogorek "github.com/kisielk/og-rek"
)

// The pooled og-rek decoders (pooledOgrek) read one pickle after another;
// these tests check that what a decoder read before never shows in what it
// reads next, against og-rek reading the pickle on a decoder of its own.

func internalSeeds(t testing.TB) (names []string, seeds map[string][]byte) {
	t.Helper()
	raw, err := os.ReadFile("testdata/seeds.json")
	if err != nil {
		t.Fatal(err)
	}
	var hexes map[string]string
	if err := json.Unmarshal(raw, &hexes); err != nil {
		t.Fatal(err)
	}
	seeds = make(map[string][]byte, len(hexes))
	for k, h := range hexes {
		if seeds[k], err = hex.DecodeString(h); err != nil {
			t.Fatal(err)
		}
		names = append(names, k)
	}
	slices.Sort(names)
	return names, seeds
}

// freshOgrek is how og-rek reads data on a new decoder of its own, the
// bytes as they are but for the NEWOBJ opcodes rewritten to REDUCE; ok is
// false when the scan refuses data or sends it to gopickle.
func freshOgrek(data []byte) (tree string, err error, ok bool) {
	s, serr := startScan(data)
	defer s.release()
	if serr != nil || s.res.needGopickle != "" {
		return "", nil, false
	}
	patched := bytes.Clone(data)
	for _, e := range s.edits {
		if e.kind == editReduce {
			patched[e.pos] = opReduce
		}
	}
	v, err := ogorek.NewDecoderWithConfig(bytes.NewReader(patched), ogrekConfig).Decode()
	if err != nil {
		return "", libError(err), true
	}
	return treeString(v), nil, true
}

// pooledRead reads data on d, which has read other pickles before.
func pooledRead(d *pooledOgrek, data []byte) (tree string, v any, err error, ok bool) {
	s, serr := startScan(data)
	defer s.release()
	if serr != nil || s.res.needGopickle != "" {
		return "", nil, nil, false
	}
	v, err = d.decode(data, s, ogrekConfig)
	if err != nil {
		return "", nil, err, true
	}
	return treeString(v), v, nil, true
}

// treeString prints a decoded tree, which may contain itself (a dict
// holding itself through the memo) or repeat a part many times, within a
// budget of nodes.
func treeString(v any) string {
	var b strings.Builder
	budget := 20000
	var walk func(b *strings.Builder, x any, path []uintptr)
	walk = func(b *strings.Builder, x any, path []uintptr) {
		if budget--; budget < 0 {
			b.WriteString("…")
			return
		}
		rv := reflect.ValueOf(x)
		switch rv.Kind() {
		case reflect.Map, reflect.Slice:
			if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
				fmt.Fprintf(b, "%T(%q)", x, rv.Bytes())
				return
			}
			p := uintptr(rv.UnsafePointer())
			if p != 0 && slices.Contains(path, p) {
				b.WriteString("<cycle>")
				return
			}
			path = append(path, p)
			fmt.Fprintf(b, "%T{", x)
			if rv.Kind() == reflect.Slice {
				for i := range rv.Len() {
					walk(b, rv.Index(i).Interface(), path)
					b.WriteString(", ")
				}
			} else {
				var items []string
				for it := rv.MapRange(); it.Next(); {
					var item strings.Builder
					walk(&item, it.Key().Interface(), path)
					item.WriteString(": ")
					walk(&item, it.Value().Interface(), path)
					items = append(items, item.String())
				}
				slices.Sort(items)
				b.WriteString(strings.Join(items, ", "))
			}
			b.WriteString("}")
		case reflect.Struct:
			if c, ok := x.(ogorek.Call); ok {
				fmt.Fprintf(b, "%#v(", c.Callable)
				walk(b, c.Args, path)
				b.WriteString(")")
				return
			}
			fmt.Fprintf(b, "%#v", x)
		default:
			fmt.Fprintf(b, "%#v", x)
		}
	}
	walk(&b, v, nil)
	return b.String()
}

// checkAfter reads prev then data on one decoder and compares what it
// reads of data with a fresh decoder's reading, and prev's value before
// and after.
func checkAfter(t *testing.T, d *pooledOgrek, prevName string, prev []byte, name string, data []byte, want string, wantErr error) {
	t.Helper()
	prevTree, prevV, _, _ := pooledRead(d, prev)
	got, _, err, ok := pooledRead(d, data)
	if !ok {
		t.Fatalf("%s: the scan routed it differently", name)
	}
	if fmt.Sprint(err) != fmt.Sprint(wantErr) || got != want {
		t.Fatalf("%s read after %s:\n got %s (error %v)\nwant %s (error %v)", name, prevName, got, err, want, wantErr)
	}
	if prevV != nil {
		if again := treeString(prevV); again != prevTree {
			t.Fatalf("%s changed when %s was read after it:\n now %s\nwas %s", prevName, name, again, prevTree)
		}
	}
}

func TestPooledDecoderReadsAsFresh(t *testing.T) {
	names, seeds := internalSeeds(t)
	type reading struct {
		tree string
		err  error
	}
	fresh := map[string]reading{}
	for _, n := range names {
		if tree, err, ok := freshOgrek(seeds[n]); ok {
			fresh[n] = reading{tree, err}
		}
	}
	if len(fresh) < 200 {
		t.Fatalf("only %d of %d seeds are read by og-rek", len(fresh), len(names))
	}
	step := 1
	if testing.Short() {
		step = 9
	}
	d := newPooledOgrek()
	for i := 0; i < len(names); i += step {
		prev := names[i]
		for _, n := range names {
			if f, ok := fresh[n]; ok {
				checkAfter(t, d, prev, seeds[prev], n, seeds[n], f.tree, f.err)
			}
		}
	}
}

// TestPooledDecoderMemoize: a pickle of protocol 4 whose slots an earlier
// pickle on the same decoder also stored reads its own values, also past
// slot 255 (LONG_BINPUT).
func TestPooledDecoderMemoize(t *testing.T) {
	many := make([]any, 300)
	for i := range many {
		many[i] = fmt.Sprintf("s%d", i)
	}
	first, err := Marshal(map[string]any{"a": []any{"x", "y"}, "b": many}, 4)
	if err != nil {
		t.Fatal(err)
	}
	// og-rek's encoder writes no memo; Python's pickler memoizes every
	// str, list and dict: build that by hand.
	second := memoized(t, []any{"u", "v", []any{"w"}, "u"})
	third := memoized(t, many)
	d := newPooledOgrek()
	for _, data := range [][]byte{third, first, second, third, second} {
		want, wantErr, ok := freshOgrek(data)
		if !ok {
			t.Fatal("not read by og-rek")
		}
		checkAfter(t, d, "third", third, "pickle", data, want, wantErr)
	}
	// og-rek keys protocol 0's memo by the index as written: "p00" stores
	// a slot that "g0" does not read, on a fresh decoder as on one that
	// stored "0" before.
	before, odd := []byte("Va\np0\n0Vb\np1\n."), []byte("Vx\np00\n0g0\n.")
	want, wantErr, ok := freshOgrek(odd)
	if !ok || wantErr == nil {
		t.Fatalf("og-rek reads %q as %s, %v", odd, want, wantErr)
	}
	checkAfter(t, d, "p0", before, "p00", odd, want, wantErr)
}

// memoized writes items as protocol 4 does, each str MEMOIZEd and the
// last item a BINGET of slot 1 (the first item).
func memoized(t *testing.T, items []any) []byte {
	t.Helper()
	b := []byte{opProto, 4, opEmptyList, opMemoize, opMark}
	for _, it := range items {
		switch x := it.(type) {
		case string:
			b = append(b, opShortBinunicode, byte(len(x)))
			b = append(b, x...)
			b = append(b, opMemoize)
		case []any:
			b = append(b, opEmptyList, opMemoize, opShortBinunicode, 1, 'w', opAppend)
		}
	}
	b = append(b, opBinget, 1, opAppends, opStop)
	if _, err := scan(b); err != nil {
		t.Fatalf("hand-written pickle: %v", err)
	}
	return b
}

// TestParallelDecodesShareNothing decodes every seed in several goroutines
// at once (run with -race): each reading equals the reading alone. (Sets
// are left out: they read in no fixed order.)
func TestParallelDecodesShareNothing(t *testing.T) {
	names, seeds := internalSeeds(t)
	want := map[string]string{}
	for _, n := range names {
		if strings.Contains(n, "set") {
			continue
		}
		if v, err := Parse(seeds[n]); err == nil {
			if x, err := v.Value(); err == nil {
				want[n] = fmt.Sprintf("%#v", x)
			}
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for r := range 3 {
				for i := range names {
					n := names[(i*(g+1)+r)%len(names)]
					w, ok := want[n]
					if !ok {
						continue
					}
					v, err := Parse(seeds[n])
					if err != nil {
						t.Errorf("%s: %v", n, err)
						return
					}
					x, err := v.Value()
					if got := fmt.Sprintf("%#v", x); err != nil || got != w {
						t.Errorf("%s: read %s (%v), alone %s", n, got, err, w)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// FuzzPooledDecoder reads prev then data on one pooled decoder and
// compares with og-rek reading data on a decoder of its own.
func FuzzPooledDecoder(f *testing.F) {
	names, seeds := internalSeeds(f)
	for i, n := range names {
		f.Add(seeds[names[(i*7+3)%len(names)]], seeds[n])
	}
	// Found by fuzzing: a dict holding itself, and a PUT after POP_MARK
	// (which og-rek ignores, so that it stores the MARK).
	f.Add([]byte("0"), []byte("(dp0\nV\np1\n(lp2\nsV\np2\ng0\ns."))
	f.Add([]byte("0"), []byte("ccopyreg\n_reconstructor\np0\n(V\np1\n(0p7\n(1p8\nV\np9\n(tp10\n0F0\n1p10\nt0."))
	f.Fuzz(func(t *testing.T, prev, data []byte) {
		want, wantErr, ok := freshOgrek(data)
		if !ok {
			return
		}
		checkAfter(t, newPooledOgrek(), "prev", prev, "data", data, want, wantErr)
	})
}
