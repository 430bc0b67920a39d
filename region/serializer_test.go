package region_test

import (
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/dogpile-go/dogpile/region"
)

// strictValue sets an option on the decoder that reads it, as a type's own
// DecodeMsgpack may.
type strictValue struct{ N int }

func (v *strictValue) DecodeMsgpack(d *msgpack.Decoder) error {
	d.DisallowUnknownFields(true)
	n, err := d.DecodeInt()
	v.N = n
	return err
}

// The serializer's decoders are reused: an option one value set must not
// reach the next value read.
func TestMsgpackDecoderOptionsDoNotCarryOver(t *testing.T) {
	s := region.MsgpackSerializer{}
	strict, err := s.Marshal(7)
	if err != nil {
		t.Fatal(err)
	}
	loose, err := s.Marshal(map[string]int{"A": 1, "B": 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		var sv strictValue
		if err := s.Unmarshal(strict, &sv); err != nil || sv.N != 7 {
			t.Fatalf("strict value: %v, %v", sv, err)
		}
		var plain struct{ A int }
		if err := s.Unmarshal(loose, &plain); err != nil || plain.A != 1 {
			t.Fatalf("round %d: a struct without field B read %v, %v; an earlier value's decoder option leaked", i, plain, err)
		}
	}
}
