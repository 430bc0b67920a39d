package pickle_test

import (
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/dogpile-go/dogpile/internal/benchratio"
	"github.com/dogpile-go/dogpile/pickle"
	"github.com/dogpile-go/dogpile/region"
)

// TestDecodeRatios compares decoding the small dict of BenchmarkDecode as
// Python's clients store it with decoding it as MessagePack, and a region
// hit with each serializer on memory_serialized, sampled in turn in the
// same run (see internal/benchratio):
//
//	DOGPILE_PERF=1 go test -count=1 -run TestDecodeRatios -v ./pickle/
func TestDecodeRatios(t *testing.T) {
	benchratio.Require(t, "pickle decoding against msgpack")
	seeds := loadSeeds(t)
	mp, err := msgpack.Marshal(benchDict)
	if err != nil {
		t.Fatal(err)
	}
	payload := seeds["lib/dogpile-serializer:user"]
	cv0, cv5 := seeds["lib/python-memcached:user"], seeds["lib/pymemcache:user"]
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	cv := func(data []byte, into any) {
		v, _, _, err := pickle.DecodeCachedValue(data)
		must(err)
		must(v.Decode(into))
	}
	type named struct {
		name string
		fn   func()
	}
	cases := []named{
		{"msgpack map", func() { var m map[string]any; must(region.MsgpackSerializer{}.Unmarshal(mp, &m)) }},
		{"msgpack struct", func() { var u benchUser; must(region.MsgpackSerializer{}.Unmarshal(mp, &u)) }},
		{"pickle p4 payload map", func() { var m map[string]any; must(pickle.Serializer{}.Unmarshal(payload, &m)) }},
		{"pickle p4 payload struct", func() { var u benchUser; must(pickle.Serializer{}.Unmarshal(payload, &u)) }},
		{"pickle p0 CachedValue map", func() { var m map[string]any; cv(cv0, &m) }},
		{"pickle p0 CachedValue struct", func() { var u benchUser; cv(cv0, &u) }},
		{"pickle p5 CachedValue map", func() { var m map[string]any; cv(cv5, &m) }},
		{"pickle p5 CachedValue struct", func() { var u benchUser; cv(cv5, &u) }},
	}
	ctx := t.Context()
	for _, s := range []region.Serializer{region.MsgpackSerializer{}, pickle.Serializer{}} {
		r := region.New("ratio", region.WithSerializer(s))
		must(r.Configure("memory_serialized"))
		must(r.Set(ctx, "u", benchUser{Name: "ada", ID: 42, Roles: []string{"a", "b"}}))
		cases = append(cases, named{"region hit " + s.Name() + " struct", func() {
			_, ok, err := region.GetAs[benchUser](ctx, r, "u")
			must(err)
			if !ok {
				t.Fatal("miss")
			}
		}})
	}
	fns := make([]func(), len(cases))
	for i, c := range cases {
		fns[i] = c.fn
	}
	p10, med := benchratio.SampleCosts(fns, 200, 2*time.Millisecond)
	base := map[bool]int{true: 0, false: 1} // map → msgpack map, struct → msgpack struct
	for i, c := range cases {
		b := base[len(c.name) >= 3 && c.name[len(c.name)-3:] == "map"]
		if i >= len(cases)-2 {
			b = len(cases) - 2 // region hits against the msgpack region hit
		}
		t.Logf("%-32s p10 %6.0f ns  median %6.0f ns  = %.2fx (p10) %.2fx (median) %s", c.name, p10[i], med[i],
			p10[i]/p10[b], med[i]/med[b], cases[b].name)
	}
}
