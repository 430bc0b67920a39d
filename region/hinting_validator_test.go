package region_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/region"
)

// hintingJSON is JSON with a HintingValidator that counts its calls; its
// hint is the payload's length plus 1000, so a test sees which hint
// reached UnmarshalHint.
type hintingJSON struct {
	region.JSONSerializer
	mu                            sync.Mutex
	validates, hinted, unmarshals int
	hints                         []uint64
}

func (h *hintingJSON) Validate(data []byte) error {
	h.mu.Lock()
	h.validates++
	h.mu.Unlock()
	return h.JSONSerializer.Validate(data)
}

func (h *hintingJSON) ValidateHint(data []byte) (uint64, error) {
	h.mu.Lock()
	h.hinted++
	h.mu.Unlock()
	if err := h.JSONSerializer.Validate(data); err != nil {
		return 0, err
	}
	return uint64(len(data)) + 1000, nil
}

func (h *hintingJSON) UnmarshalHint(data []byte, hint uint64, into any) error {
	h.mu.Lock()
	h.hints = append(h.hints, hint)
	h.mu.Unlock()
	return h.JSONSerializer.Unmarshal(data, into)
}

func (h *hintingJSON) Unmarshal(data []byte, into any) error {
	h.mu.Lock()
	h.unmarshals++
	h.mu.Unlock()
	return h.JSONSerializer.Unmarshal(data, into)
}

// TestHintingValidator: a value read through SerializedBackend is checked
// once, with ValidateHint, and decoded with UnmarshalHint and the hint
// for its bytes, by Get, GetAs and GetMulti; a corrupt value reads as
// absent and is reported; a Serialized built by hand (not validated) is
// decoded with Unmarshal.
func TestHintingValidator(t *testing.T) {
	ctx := context.Background()
	s := &hintingJSON{}
	b := region.NewSerializedBackend(memory.NewBytes(), s)
	var reported []string
	region.RegisterBackend("test.hinting", func(region.Arguments) (region.Backend, error) { return b, nil })
	r := region.New("hinting", region.WithErrorHandler(func(_ context.Context, key string, err error) {
		if !errors.Is(err, region.ErrCorruptValue) {
			t.Errorf("corruption of %q reported as %v", key, err)
		}
		reported = append(reported, key)
	}))
	if err := r.Configure("test.hinting"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetMulti(ctx, map[string]any{"a": "x", "b": map[string]any{"k": 1.0}}); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := r.Get(ctx, "a"); err != nil || !ok || v != "x" {
		t.Fatalf("Get = %v, %v, %v", v, ok, err)
	}
	if v, ok, err := region.GetAs[map[string]float64](ctx, r, "b"); err != nil || !ok || v["k"] != 1 {
		t.Fatalf("GetAs = %v, %v, %v", v, ok, err)
	}
	vals, err := r.GetMulti(ctx, []string{"a", "b"})
	if err != nil || vals[0] != "x" {
		t.Fatalf("GetMulti = %v, %v", vals, err)
	}
	s.mu.Lock()
	if s.validates != 0 || s.unmarshals != 0 || s.hinted != 4 || len(s.hints) != 4 {
		t.Errorf("Validate %d, ValidateHint %d, Unmarshal %d, UnmarshalHint %d times; want 0, 4, 0, 4",
			s.validates, s.hinted, s.unmarshals, len(s.hints))
	}
	// `"x"` is 3 bytes, `{"k":1}` 7.
	if want := []uint64{1003, 1007, 1003, 1007}; !slices.Equal(s.hints, want) {
		t.Errorf("hints %v, want %v", s.hints, want)
	}
	s.mu.Unlock()

	// A payload that fails ValidateHint reads as absent.
	data, err := b.Encode("c", region.CachedValue{Payload: "y", Metadata: region.Metadata{CreatedAt: time.Now(), Version: region.ValueVersion}})
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), `"y"`, `"y`, 1)
	if err := b.Bytes().SetSerialized(ctx, "c", []byte(broken)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := r.Get(ctx, "c"); ok || err != nil {
		t.Errorf("a corrupt payload reads as %v, %v", ok, err)
	}
	if len(reported) != 1 || reported[0] != "c" {
		t.Errorf("reported %v, want [c]", reported)
	}

	// Not validated: Unmarshal.
	var v string
	if err := (&region.Serialized{Data: []byte(`"z"`), Serializer: s}).Decode(&v); err != nil || v != "z" {
		t.Fatalf("Decode = %q, %v", v, err)
	}
	if s.unmarshals != 1 {
		t.Errorf("a Serialized built by hand decoded with Unmarshal %d times, want 1", s.unmarshals)
	}
}
