package pickle_test

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/dogpile-go/dogpile/backends/memory" // memory_serialized
	"github.com/dogpile-go/dogpile/pickle"
	"github.com/dogpile-go/dogpile/region"
)

var (
	_ region.Serializer       = pickle.Serializer{}
	_ region.Validator        = pickle.Serializer{}
	_ region.HintingValidator = pickle.Serializer{}
)

func mustMarshal(t testing.TB, v any, protocol int) []byte {
	t.Helper()
	data, err := pickle.Marshal(v, protocol)
	if err != nil {
		t.Fatalf("Marshal(%#v, %d): %v", v, protocol, err)
	}
	return data
}

type Base struct {
	ID   int64  `json:"id"`
	Note string // no tag
}

type User struct {
	Base
	Name     string         `pickle:"name"`
	Email    string         `json:"email,omitempty"`
	Roles    []string       `json:"roles"`
	Age      uint8          `pickle:"age"`
	Score    float32        `pickle:"score"`
	Big      *big.Int       `pickle:"big"`
	Avatar   []byte         `pickle:"avatar"`
	Manager  *User          `pickle:"manager"`
	Extra    map[string]int `pickle:"extra"`
	Anything any            `pickle:"anything"`
	Raw      *pickle.Value  `pickle:"raw"`
	Addr     netip.Addr     `pickle:"addr"`
	Secret   string         `pickle:"-"`
	hidden   int
}

func TestDecodeIntoStruct(t *testing.T) {
	src := map[string]any{
		"id":       int64(7),
		"NOTE":     "case-insensitive",
		"name":     "ada",
		"email":    "ada@example.org",
		"roles":    []any{"admin", "dev"},
		"age":      int64(36),
		"score":    1.5,
		"big":      bigInt("1180591620717411303424"),
		"avatar":   []byte{0, 0xff},
		"manager":  map[string]any{"name": "grace", "manager": nil},
		"extra":    map[string]any{"x": int64(1)},
		"anything": []any{int64(1), "two"},
		"raw":      map[string]any{"kept": true},
		"addr":     "192.0.2.1",
		"Secret":   "not decoded",
		"hidden":   int64(3),
		"unknown":  "ignored",
	}
	for p := range 6 {
		var u User
		if err := pickle.Unmarshal(mustMarshal(t, src, p), &u); err != nil {
			t.Fatalf("protocol %d: %v", p, err)
		}
		raw := u.Raw
		u.Raw = nil
		want := User{
			Base: Base{ID: 7, Note: "case-insensitive"}, Name: "ada", Email: "ada@example.org",
			Roles: []string{"admin", "dev"}, Age: 36, Score: 1.5, Big: bigInt("1180591620717411303424"),
			Avatar: []byte{0, 0xff}, Manager: &User{Name: "grace"}, Extra: map[string]int{"x": 1},
			Anything: []any{int64(1), "two"}, Addr: netip.MustParseAddr("192.0.2.1"),
		}
		if !reflect.DeepEqual(u, want) {
			t.Errorf("protocol %d:\n got %+v\nwant %+v", p, u, want)
		}
		var kept map[string]bool
		if raw == nil || raw.Decode(&kept) != nil || !kept["kept"] {
			t.Errorf("protocol %d: *Value field %v decodes to %v", p, raw, kept)
		}
	}
}

func TestEncodeStruct(t *testing.T) {
	u := User{Base: Base{ID: 7}, Name: "ada", Roles: []string{"a"}, Secret: "s", hidden: 1, Addr: netip.MustParseAddr("::1")}
	var got map[string]any
	if err := pickle.Unmarshal(mustMarshal(t, u, 4), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": int64(7), "Note": "", "name": "ada", "roles": []any{"a"}, "age": int64(0), "score": 0.0,
		"big": nil, "avatar": nil, "manager": nil, "extra": nil, "anything": nil, "raw": nil, "addr": "::1",
	}
	if !equal(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

func TestDecodeTypedValues(t *testing.T) {
	cases := []struct {
		py   any // what is pickled
		into any // pointer to decode into
		want any // what it points to afterwards
	}{
		{int64(-5), new(int8), int8(-5)},
		{int64(200), new(uint8), uint8(200)},
		{bigInt("18446744073709551615"), new(uint64), uint64(math.MaxUint64)},
		{int64(3), new(float64), 3.0},
		{math.Inf(-1), new(float32), float32(math.Inf(-1))},
		{bigInt("1180591620717411303424"), new(big.Int), *bigInt("1180591620717411303424")},
		{int64(5), new(*big.Int), big.NewInt(5)},
		{"text", new([]byte), []byte("text")},
		{[]byte("bytes"), new(string), "bytes"},
		{[]any{int64(1), int64(2)}, new([3]int), [3]int{1, 2, 0}},
		{map[string]any{"1": "a"}, new(map[string]string), map[string]string{"1": "a"}},
		{map[int64]any{1: "a", -2: "b"}, new(map[int]string), map[int]string{1: "a", -2: "b"}},
		{nil, new(*int), (*int)(nil)},
		{nil, new([]int), []int(nil)},
		{nil, new(any), nil},
		{"2024-05-01T10:00:00Z", new(time.Time), time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{int64(1), new(any), int64(1)},
		{bigInt("-1180591620717411303424"), new(any), bigInt("-1180591620717411303424")},
	}
	for _, c := range cases {
		for _, p := range []int{0, 2, 5} {
			into := reflect.New(reflect.TypeOf(c.into).Elem())
			if err := pickle.Unmarshal(mustMarshal(t, c.py, p), into.Interface()); err != nil {
				t.Errorf("%#v into %T, protocol %d: %v", c.py, c.into, p, err)
				continue
			}
			got := into.Elem().Interface()
			if gb, ok := got.(*big.Int); ok {
				if wb, _ := c.want.(*big.Int); wb == nil || gb.Cmp(wb) != 0 {
					t.Errorf("%#v into %T, protocol %d: got %v, want %v", c.py, c.into, p, got, c.want)
				}
				continue
			}
			if gb, ok := got.(big.Int); ok {
				wb := c.want.(big.Int)
				if gb.Cmp(&wb) != 0 {
					t.Errorf("%#v into %T, protocol %d: got %v, want %v", c.py, c.into, p, &gb, &wb)
				}
				continue
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%#v into %T, protocol %d: got %#v, want %#v", c.py, c.into, p, got, c.want)
			}
		}
	}
}

func TestDecodeMismatchNamesThePath(t *testing.T) {
	data := mustMarshal(t, map[string]any{"roles": []any{"a", int64(300)}}, 4)
	var into struct {
		Roles []int8 `json:"roles"`
	}
	err := pickle.Unmarshal(data, &into)
	var te *pickle.TypeError
	if !errors.As(err, &te) {
		t.Fatalf("error %v, want a *TypeError", err)
	}
	if te.Path != `["roles"][0]` || te.Python != "str" || te.Go != "int8" {
		t.Errorf("TypeError %+v, want path [\"roles\"][0], str into int8", te)
	}

	data = mustMarshal(t, []any{int64(300)}, 4)
	var small []int8
	err = pickle.Unmarshal(data, &small)
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "overflows int8") || te.Path != "[0]" {
		t.Errorf("error %v, want an overflow at [0]", err)
	}
	var neg uint
	if err := pickle.Unmarshal(mustMarshal(t, int64(-1), 2), &neg); !errors.As(err, &te) {
		t.Errorf("-1 into uint: error %v, want a *TypeError", err)
	}
	var f32 float32
	if err := pickle.Unmarshal(mustMarshal(t, 1e300, 2), &f32); !errors.As(err, &te) {
		t.Errorf("1e300 into float32: error %v, want a *TypeError", err)
	}
	if err := pickle.Unmarshal(mustMarshal(t, 1, 2), 0); err == nil {
		t.Error("Unmarshal into a non-pointer: no error")
	}
}

// TestValidateHint: what Marshal writes gets a hint (og-rek reads it as
// it is, no second scan), but for the str of protocols 1 to 3 and long
// ones, which og-rek reads faster edited; Python's pickles with a memo,
// and NEWOBJ, do not. Either way UnmarshalHint reads what Unmarshal
// reads.
func TestValidateHint(t *testing.T) {
	s := pickle.Serializer{}
	for p := range pickle.HighestProtocol + 1 {
		for _, str := range []string{"adà", strings.Repeat("x", 256)} {
			data := mustMarshal(t, map[string]any{"name": str, "roles": []any{"a", []byte("b")}, "n": int64(1) << 40}, p)
			h, err := s.ValidateHint(data)
			if want := p == 0 || p >= 4 && len(str) < 256; err != nil || (h != 0) != want {
				t.Errorf("protocol %d, Marshal, %d-byte str: hint %#x, %v; want one: %v", p, len(str), h, err, want)
			}
		}
	}
	seeds := loadSeeds(t)
	for _, name := range []string{"lib/dogpile-serializer:user", "lib/pymemcache:user"} {
		if h, err := s.ValidateHint(seeds[name]); err != nil || h != 0 {
			t.Errorf("%s: hint %#x, %v; want 0", name, h, err)
		}
	}
	if _, err := s.ValidateHint([]byte("\x80\x04K")); !errors.Is(err, pickle.ErrCorrupt) {
		t.Errorf("truncated: %v, want ErrCorrupt", err)
	}
	for name, data := range seeds {
		if strings.Contains(name, "set") {
			continue // read in no fixed order
		}
		h, err := s.ValidateHint(data)
		if err != nil {
			continue
		}
		var want, got any
		werr := s.Unmarshal(data, &want)
		gerr := s.UnmarshalHint(data, h, &got)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) || !equal(want, got) {
			t.Errorf("%s (hint %#x): UnmarshalHint %#v, %v; Unmarshal %#v, %v", name, h, got, gerr, want, werr)
		}
	}
}

// TestPopMark: POP_MARK discards the values above its MARK, as Python's
// pickle.loads does (og-rek ignores it, so gopickle reads these).
func TestPopMark(t *testing.T) {
	for data, want := range map[string]any{
		"\x80\x02](K\x01(K\x02K\x031e.": []any{int64(1)},
		"\x80\x02(K\x01K\x021K\x03.":    int64(3),
	} {
		var got any
		if err := pickle.Unmarshal([]byte(data), &got); err != nil || !equal(got, want) {
			t.Errorf("%q: %#v, %v; want %#v", data, got, err, want)
		}
	}
}

// TestDecodeTupleKeysIntoMap: a dict with tuple keys ({(1, 2): 3}, as
// Python 3.11 writes it in protocol 2) decoded into a Go map whose keys
// are interfaces fails with an *UnsupportedError rather than a panic.
func TestDecodeTupleKeysIntoMap(t *testing.T) {
	data := []byte("\x80\x02}q\x00(K\x01K\x02\x86q\x01K\x03X\x01\x00\x00\x00aq\x02}q\x03X\x01\x00\x00\x00bq\x04K\x01su.")
	var m map[any]any
	if err := pickle.Unmarshal(data, &m); !errors.Is(err, pickle.ErrUnsupported) || !strings.Contains(err.Error(), "tuple keys") {
		t.Errorf("into map[any]any: error %v, want ErrUnsupported naming tuple keys", err)
	}
	var s map[string]any
	if err := pickle.Unmarshal(data, &s); err == nil {
		t.Error("into map[string]any: no error")
	}
}

func TestMarshalRefusesWhatPythonCannotHold(t *testing.T) {
	for _, v := range []any{
		make(chan int),
		func() {},
		complex(1, 2),
		"\xff invalid UTF-8",
		map[[2]int]string{{1, 2}: "array key"},
		struct{ C chan int }{},
	} {
		_, err := pickle.Marshal(v, 4)
		var ue *pickle.UnsupportedError
		if !errors.Is(err, pickle.ErrUnsupported) || !errors.As(err, &ue) || !ue.GoType {
			t.Errorf("Marshal(%T): error %v, want a Go-type *UnsupportedError", v, err)
		}
	}
	type loop struct{ Next *loop }
	l := &loop{}
	l.Next = l
	if _, err := pickle.Marshal(l, 4); !errors.Is(err, pickle.ErrLimit) {
		t.Errorf("Marshal of a cycle: error %v, want ErrLimit", err)
	}
	if _, err := pickle.Marshal(1, 6); err == nil {
		t.Error("protocol 6: no error")
	}
}

func TestValuesShareNothing(t *testing.T) {
	v, err := pickle.Parse(mustMarshal(t, map[string]any{"b": []byte("abc")}, 4))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := v.Value()
	first.(map[string]any)["b"].([]byte)[0] = 'X'
	second, _ := v.Value()
	if got := string(second.(map[string]any)["b"].([]byte)); got != "abc" {
		t.Errorf("second decode sees the first's change: %q", got)
	}
}

func TestValueConcurrentDecode(t *testing.T) {
	data, err := pickle.EncodeCachedValue(map[string]any{"name": "ada", "roles": []any{"a"}}, time.Now(), 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	v, _, _, err := pickle.DecodeCachedValue(data)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				var u struct{ Name string }
				if err := v.Decode(&u); err != nil || u.Name != "ada" {
					t.Errorf("decode: %v %+v", err, u)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCachedValueMetadata(t *testing.T) {
	created := time.Date(2024, 11, 27, 4, 0, 0, 123456789, time.UTC)
	for p := range 6 {
		data, err := pickle.EncodeCachedValue("x", created, 2, p)
		if err != nil {
			t.Fatal(err)
		}
		_, got, version, err := pickle.DecodeCachedValue(data)
		if err != nil {
			t.Fatalf("protocol %d: %v", p, err)
		}
		if d := got.Sub(created); d < -time.Microsecond || d > time.Microsecond || version != 2 {
			t.Errorf("protocol %d: created %v (off by %v), version %d", p, got, d, version)
		}
	}
	// A pickle of something else, or with broken metadata.
	for _, v := range []any{
		map[string]any{"ct": 1.0, "v": int64(2)},
		[]any{"payload", map[string]any{"ct": 1.0, "v": int64(2)}},
	} {
		if _, _, _, err := pickle.DecodeCachedValue(mustMarshal(t, v, 4)); !errors.Is(err, pickle.ErrNotCachedValue) {
			t.Errorf("DecodeCachedValue(%#v): error %v, want ErrNotCachedValue", v, err)
		}
	}
	// Metadata whose "v" is the metadata dict itself (found by
	// FuzzDecodeCachedValue): the error names its type rather than
	// printing it forever.
	selfRef := []byte("\x8c\x11dogpile.cache.api\x8c\vCachedValue\x94\x93\x942}\x94(\x8c\x02ct\x94G00000000\x8c\x01v\x94h\x02u\x86\x94\x81\x94.")
	_, _, _, err := pickle.DecodeCachedValue(selfRef)
	if !errors.Is(err, pickle.ErrNotCachedValue) || !strings.Contains(err.Error(), `"v" is a dict`) {
		t.Errorf("metadata holding itself: error %v, want ErrNotCachedValue naming a dict", err)
	}
}

func TestSerializer(t *testing.T) {
	cases := []struct {
		s      pickle.Serializer
		prefix string
	}{
		{pickle.Serializer{}, "\x80\x04"},
		{pickle.Serializer{Protocol: 5}, "\x80\x05"},
		{pickle.Serializer{Protocol: 2}, "\x80\x02"},
		{pickle.Serializer{Protocol: 1}, "(K\x01"},
		{pickle.Serializer{Protocol: pickle.ProtocolZero}, "(I1\n"},
	}
	for _, c := range cases {
		data, err := c.s.Marshal([]any{int64(1)})
		if err != nil {
			t.Fatalf("%+v: %v", c.s, err)
		}
		if !strings.HasPrefix(string(data), c.prefix) {
			t.Errorf("%+v wrote %q, want prefix %q", c.s, data, c.prefix)
		}
		var got []int
		if err := c.s.Unmarshal(data, &got); err != nil || !reflect.DeepEqual(got, []int{1}) {
			t.Errorf("%+v: read back %v, %v", c.s, got, err)
		}
	}
	if _, err := (pickle.Serializer{Protocol: 9}).Marshal(1); err == nil {
		t.Error("Protocol 9: no error")
	}
	if n := (pickle.Serializer{}).Name(); n != "pickle" {
		t.Errorf("Name() = %q", n)
	}
}

// TestRegionWithSerializer reads and writes through a region whose byte
// backend uses the pickle serializer.
func TestRegionWithSerializer(t *testing.T) {
	r := region.New("pickle-test", region.WithSerializer(pickle.Serializer{}))
	if err := r.Configure("memory_serialized"); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	type user struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	if err := r.Set(ctx, "u", user{Name: "ada", Roles: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := region.GetAs[user](ctx, r, "u")
	if err != nil || !ok || got.Name != "ada" || len(got.Roles) != 1 {
		t.Fatalf("GetAs: %+v %v %v", got, ok, err)
	}
	generic, ok, err := r.Get(ctx, "u")
	if err != nil || !ok {
		t.Fatalf("Get: %v %v", ok, err)
	}
	if want := map[string]any{"name": "ada", "roles": []any{"a"}}; !equal(generic, want) {
		t.Errorf("Get = %#v, want %#v", generic, want)
	}
}
