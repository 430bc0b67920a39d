package pickle_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dogpile-go/dogpile/pickle"
	"github.com/dogpile-go/dogpile/region"
)

// A region whose byte backend stores pickles, as dogpile.cache's Redis
// backend does: Python regions on the same Redis read what it writes.
func ExampleSerializer() {
	r := region.New("users", region.WithSerializer(pickle.Serializer{}))
	if err := r.Configure("memory_serialized"); err != nil {
		fmt.Println(err)
		return
	}
	type User struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	ctx := context.Background()
	_ = r.Set(ctx, "user:42", User{Name: "ada", Roles: []string{"admin"}})

	u, _, _ := region.GetAs[User](ctx, r, "user:42")
	fmt.Printf("%+v\n", u)
	generic, _, _ := r.Get(ctx, "user:42") // no type: what Python's pickle.loads would give, in Go
	fmt.Println(generic)
	// Output:
	// {Name:ada Roles:[admin]}
	// map[name:ada roles:[admin]]
}

// Reading what python-memcached stores for dogpile.cache.memcached: a
// protocol 0 pickle of CachedValue({"name": "ada", "id": 42}, {"ct": ...,
// "v": 2}).
func ExampleDecodeCachedValue() {
	stored := []byte("ccopy_reg\n_reconstructor\np0\n(cdogpile.cache.api\nCachedValue\np1\n" +
		"c__builtin__\ntuple\np2\n((dp3\nVname\np4\nVada\np5\nsVid\np6\nI42\ns" +
		"(dp7\nVct\np8\nF1732680000.5\nsVv\np9\nI2\nstp10\ntp11\nRp12\n.")
	payload, created, version, err := pickle.DecodeCachedValue(stored)
	if err != nil {
		fmt.Println(err)
		return
	}
	var user struct {
		Name string
		ID   int
	}
	if err := payload.Decode(&user); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v created %s, format v%d\n", user, created.UTC().Format(time.RFC3339Nano), version)
	// Output: {Name:ada ID:42} created 2024-11-27T04:00:00.5Z, format v2
}

// Writing a CachedValue for pymemcache (protocol 5) or python-memcached
// (protocol 0); Python's pickle.loads reads it back.
func ExampleEncodeCachedValue() {
	created := time.Unix(1732680000, 0)
	data, err := pickle.EncodeCachedValue(map[string]any{"name": "ada"}, created, 2, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	payload, ct, _, _ := pickle.DecodeCachedValue(data)
	v, _ := payload.Value()
	fmt.Println(v, ct.Unix())
	// Output: map[name:ada] 1732680000
}

// Classes outside the allow-list are refused, never instantiated.
func ExampleUnsupportedError() {
	// pickle.dumps(decimal.Decimal("1.5"), 0)
	data := []byte("cdecimal\nDecimal\np0\n(V1.5\np1\ntp2\nRp3\n.")
	var v any
	err := pickle.Unmarshal(data, &v)
	var ue *pickle.UnsupportedError
	fmt.Println(errors.Is(err, pickle.ErrUnsupported), errors.As(err, &ue) && ue.Type == "decimal.Decimal")
	fmt.Println(err)
	// Output:
	// true true
	// pickle: Python type decimal.Decimal cannot be read into Go
}

func ExampleValue_Decode() {
	data, _ := pickle.Marshal(map[string]any{"id": 1 << 40, "tags": []string{"a", "b"}}, pickle.DefaultProtocol)
	v, err := pickle.Parse(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	var typed struct {
		ID   int64 `pickle:"id"`
		Tags []string
	}
	if err := v.Decode(&typed); err != nil {
		fmt.Println(err)
		return
	}
	var small struct{ ID int32 }
	err = v.Decode(&small)
	fmt.Printf("%+v\n%v\n", typed, err)
	// Output:
	// {ID:1099511627776 Tags:[a b]}
	// pickle: cannot decode Python int into Go int32 at ["id"]: 1099511627776 overflows int32
}
