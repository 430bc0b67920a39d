package pickle_test

import (
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/dogpile-go/dogpile/pickle"
	"github.com/dogpile-go/dogpile/region"
)

// The benchmarks decode one small dict, {"name": "ada", "id": 42, "roles":
// ["a", "b"]}, as Python's clients store it (from testdata/seeds.json) and
// as MessagePack, into map[string]any and into a struct:
//
//	go test -run '^$' -bench . -benchmem ./pickle/
type benchUser struct {
	Name  string   `json:"name" msgpack:"name"`
	ID    int      `json:"id" msgpack:"id"`
	Roles []string `json:"roles" msgpack:"roles"`
}

var benchDict = map[string]any{"name": "ada", "id": 42, "roles": []any{"a", "b"}}

func BenchmarkDecode(b *testing.B) {
	seeds := loadSeeds(b)
	mp, err := msgpack.Marshal(benchDict)
	if err != nil {
		b.Fatal(err)
	}
	cvDecode := func(data []byte) func(into any) error {
		return func(into any) error {
			v, _, _, err := pickle.DecodeCachedValue(data)
			if err != nil {
				return err
			}
			return v.Decode(into)
		}
	}
	cases := []struct {
		name   string
		decode func(into any) error
	}{
		{"msgpack", func(into any) error { return region.MsgpackSerializer{}.Unmarshal(mp, into) }},
		{"pickle-payload-p4", func(into any) error {
			return pickle.Serializer{}.Unmarshal(seeds["lib/dogpile-serializer:user"], into)
		}},
		{"pickle-cachedvalue-p0", cvDecode(seeds["lib/python-memcached:user"])},
		{"pickle-cachedvalue-p5", cvDecode(seeds["lib/pymemcache:user"])},
	}
	for _, c := range cases {
		b.Run(c.name+"/map", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var m map[string]any
				if err := c.decode(&m); err != nil || len(m) != 3 {
					b.Fatal(err, m)
				}
			}
		})
		b.Run(c.name+"/struct", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var u benchUser
				if err := c.decode(&u); err != nil || u.ID != 42 {
					b.Fatal(err, u)
				}
			}
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	seeds := loadSeeds(b)
	for _, name := range []string{"lib/dogpile-serializer:user", "lib/python-memcached:user", "lib/pymemcache:user"} {
		data := seeds[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := (pickle.Serializer{}).Validate(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	mp := region.MsgpackSerializer{}
	b.Run("msgpack", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := mp.Marshal(benchDict); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, p := range []int{0, 4, 5} {
		b.Run("pickle-p"+string(rune('0'+p)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pickle.Marshal(benchDict, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRegionHit reads a value through a region on a byte backend
// (memory_serialized) with each serializer: the cost of a hit apart from
// the network.
func BenchmarkRegionHit(b *testing.B) {
	for _, s := range []region.Serializer{region.MsgpackSerializer{}, pickle.Serializer{}} {
		r := region.New("bench", region.WithSerializer(s))
		if err := r.Configure("memory_serialized"); err != nil {
			b.Fatal(err)
		}
		ctx := b.Context()
		if err := r.Set(ctx, "u", benchUser{Name: "ada", ID: 42, Roles: []string{"a", "b"}}); err != nil {
			b.Fatal(err)
		}
		b.Run(s.Name()+"/struct", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				u, ok, err := region.GetAs[benchUser](ctx, r, "u")
				if err != nil || !ok || u.ID != 42 {
					b.Fatal(err, ok, u)
				}
			}
		})
		b.Run(s.Name()+"/any", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := r.Get(ctx, "u"); err != nil || !ok {
					b.Fatal(err, ok)
				}
			}
		})
	}
}
