package region_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/region"
)

func TestDogpileEnvelopeWritesPythonsForm(t *testing.T) {
	created := time.Unix(1796606678, 891234600)
	md := region.Metadata{CreatedAt: created, Version: region.ValueVersion}
	got := string(region.DogpileEnvelope.Append(nil, md, []byte(`{"name": "ada"}`)))
	// json.dumps({"ct": 1796606678.8912346, "v": 2}) + "|" + payload
	want := `{"ct": 1796606678.8912346, "v": 2}|{"name": "ada"}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	whole := string(region.DogpileEnvelope.Append(nil, region.Metadata{CreatedAt: time.Unix(1700000000, 0), Version: region.ValueVersion}, nil))
	if whole != `{"ct": 1700000000.0, "v": 2}|` {
		t.Fatalf("integral time: %s", whole)
	}
}

func TestDogpileEnvelopeReads(t *testing.T) {
	for _, tc := range []struct {
		in      string
		ct      float64
		version int
		payload string
	}{
		{`{"ct": 1796606678.89, "v": 2}|{"name": "ada"}`, 1796606678.89, region.ValueVersion, `{"name": "ada"}`},
		{`{"ct": 1796606678, "v": 2}|x|y`, 1796606678, region.ValueVersion, `x|y`},
		{`{"v":2,"ct":1.5e9}|p`, 1.5e9, region.ValueVersion, `p`},            // another JSON writer
		{`{"ct": 1.0, "v": 2, "extra": [1]}|p`, 1, region.ValueVersion, `p`}, // unknown keys are ignored
		{`{"ct": 1.0, "v": 1}|p`, 1, -1, `p`},                                // dogpile 1.0's version is not ours
		{`{"ct": 1.0, "v": 3}|p`, 1, 3, `p`},
		{`{"ct": 1.0, "v": 2}|`, 1, region.ValueVersion, ``},
	} {
		md, payload, err := region.DogpileEnvelope.Parse([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		wantTime := region.DogpileTime(tc.ct)
		if !md.CreatedAt.Equal(wantTime) || md.Version != tc.version || string(payload) != tc.payload {
			t.Errorf("%s: got %v v%d %q", tc.in, md.CreatedAt, md.Version, payload)
		}
	}
}

func TestDogpileEnvelopeRefusesOtherBytes(t *testing.T) {
	for _, in := range []string{
		"",
		"hello world",
		"1;1732680000123456789|\xa5hello", // the native envelope
		`{"ct": 1.0}|p`,                   // no version
		`{"v": 2}|p`,                      // no time
		`{"ct": "x", "v": 2}|p`,
		`{"ct": -1, "v": 2}|p`,
		`{"ct": 1e300, "v": 2}|p`,
		`{"ct": 1.0, "v": 2}`, // no separator
		`[1, 2]|p`,
	} {
		if _, _, err := region.DogpileEnvelope.Parse([]byte(in)); !errors.Is(err, region.ErrCorruptValue) {
			t.Errorf("%q: err = %v, want ErrCorruptValue", in, err)
		}
	}
	// And the native envelope refuses dogpile's.
	if _, _, err := region.NativeEnvelope.Parse([]byte(`{"ct": 1.0, "v": 2}|p`)); !errors.Is(err, region.ErrCorruptValue) {
		t.Errorf("native envelope read dogpile bytes: %v", err)
	}
}

func FuzzDogpileEnvelope(f *testing.F) {
	f.Add([]byte(`{"ct": 1796606678.89, "v": 2}|{"name": "ada"}`))
	f.Add([]byte(`{"ct": 1.0, "v": 1}|`))
	f.Add([]byte(`{"v":2,"ct":1.5e9}|p`))
	f.Add([]byte("1;0|"))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, payload, err := region.DogpileEnvelope.Parse(data)
		if err != nil {
			if !errors.Is(err, region.ErrCorruptValue) {
				t.Fatalf("error %v does not wrap ErrCorruptValue", err)
			}
			return
		}
		again := region.DogpileEnvelope.Append(nil, md, payload)
		md2, payload2, err := region.DogpileEnvelope.Parse(again)
		if err != nil || md2.Version != md.Version || string(payload2) != string(payload) {
			t.Fatalf("round trip of %q: %+v %q %v", data, md2, payload2, err)
		}
		if d := md2.CreatedAt.Sub(md.CreatedAt); d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("round trip of %q moved the time by %v", data, d)
		}
	})
}

// TestDogpileEnvelopeThroughRegion: a region with a serializer on a byte
// backend using DogpileEnvelope writes dogpile's bytes, reads bytes written
// that way by another writer, and reads bytes of the native layout as
// absent (reported, never a panic).
func TestDogpileEnvelopeThroughRegion(t *testing.T) {
	store := memory.NewBytes()
	region.RegisterBackend("test.dogpile_envelope", func(region.Arguments) (region.Backend, error) {
		return region.NewSerializedBackend(store, nil).WithEnvelope(region.DogpileEnvelope), nil
	})
	var reported []error
	r := region.New("dogpile-envelope", region.WithSerializer(region.JSONSerializer{}),
		region.WithErrorHandler(func(_ context.Context, _ string, err error) { reported = append(reported, err) }))
	if err := r.Configure("test.dogpile_envelope", region.WithExpirationTime(time.Hour)); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	if err := r.Set(ctx, "user", map[string]any{"name": "ada"}); err != nil {
		t.Fatal(err)
	}
	raw, _, _ := store.GetSerialized(ctx, "user")
	if !regexp.MustCompile(`^\{"ct": \d+\.\d+, "v": 2\}\|\{"name":"ada"\}$`).Match(raw) {
		t.Fatalf("stored %q", raw)
	}

	ct := float64(time.Now().Add(-time.Minute).UnixNano()) / 1e9
	python := fmt.Sprintf(`{"ct": %s, "v": 2}|{"name": "grace", "id": 7}`, strconv.FormatFloat(ct, 'f', -1, 64))
	_ = store.SetSerialized(ctx, "py", []byte(python))
	type user struct {
		Name string `json:"name"`
		ID   int    `json:"id"`
	}
	u, ok, err := region.GetAs[user](ctx, r, "py")
	if err != nil || !ok || u != (user{"grace", 7}) {
		t.Fatalf("GetAs of Python's bytes: %+v %v %v", u, ok, err)
	}
	md, err := r.GetValueMetadata(ctx, "py")
	if err != nil || md == nil || md.Metadata.CreatedAt.Unix() != int64(ct) {
		t.Fatalf("metadata of Python's bytes: %+v %v", md, err)
	}

	_ = store.SetSerialized(ctx, "native", region.AppendEnvelope(nil, region.Metadata{CreatedAt: time.Now(), Version: region.ValueVersion}, []byte(`"x"`)))
	if _, ok, err := r.Get(ctx, "native"); ok || err != nil {
		t.Fatalf("native bytes read as %v, %v", ok, err)
	}
	if len(reported) != 1 || !errors.Is(reported[0], region.ErrCorruptValue) {
		t.Fatalf("reported %v", reported)
	}
}

// TestSerializedPayloadCopiedAcrossSerializers: a value read through one
// serializer and stored in a backend with another is re-encoded, not
// stored as the first serializer's structure.
func TestSerializedPayloadCopiedAcrossSerializers(t *testing.T) {
	ctx := context.Background()
	msg := region.NewSerializedBackend(memory.NewBytes(), region.MsgpackSerializer{})
	js := region.NewSerializedBackend(memory.NewBytes(), region.JSONSerializer{})
	if err := msg.Set(ctx, "k", region.CachedValue{Payload: map[string]any{"a": 1}, Metadata: region.Metadata{CreatedAt: time.Now(), Version: region.ValueVersion}}); err != nil {
		t.Fatal(err)
	}
	v, ok, err := msg.Get(ctx, "k")
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := js.Set(ctx, "k", v); err != nil {
		t.Fatal(err)
	}
	raw, _, _ := js.Bytes().GetSerialized(ctx, "k")
	if _, payload, _ := region.ParseEnvelope(raw); string(payload) != `{"a":1}` {
		t.Fatalf("copied payload %q", payload)
	}
}
