package pickle

import "fmt"

// Serializer is a region serializer (region.Serializer and
// region.HintingValidator) writing Python pickles: the payload format of
// dogpile.cache's Redis backend and of any region configured with
// serializer=pickle.dumps, so that Go and Python regions share values.
//
// Unmarshal into *any gives generic values (see Value); into any other
// type converts as (*Value).Decode does.
type Serializer struct {
	// Protocol is the pickle protocol Marshal writes: 1 to 5, or
	// ProtocolZero for protocol 0. The zero value means DefaultProtocol
	// (4), which is what Python 3.11's pickle.dumps writes. Every protocol
	// is read whatever this says.
	Protocol int
}

// Name returns "pickle".
func (Serializer) Name() string { return "pickle" }

// protocol returns the protocol Marshal writes.
func (s Serializer) protocol() (int, error) {
	switch {
	case s.Protocol == 0:
		return DefaultProtocol, nil
	case s.Protocol == ProtocolZero:
		return 0, nil
	case s.Protocol > 0 && s.Protocol <= HighestProtocol:
		return s.Protocol, nil
	}
	return 0, fmt.Errorf("pickle: Serializer.Protocol %d, want 1 to %d, 0 for the default or ProtocolZero", s.Protocol, HighestProtocol)
}

// Marshal encodes v as a pickle (see the package documentation for the
// type mapping).
func (s Serializer) Marshal(v any) ([]byte, error) {
	p, err := s.protocol()
	if err != nil {
		return nil, err
	}
	return Marshal(v, p)
}

// Unmarshal decodes a pickle of any protocol into the value pointed to by
// into.
func (Serializer) Unmarshal(data []byte, into any) error { return Unmarshal(data, into) }

// Validate checks data without building values: a well-formed pickle
// naming only allowed classes, within the limits. It is cheap (one pass
// over the opcodes, no allocation per value), so a corrupt or foreign value
// reads as absent instead of failing when decoded.
func (Serializer) Validate(data []byte) error {
	_, err := scan(data)
	return err
}

// ValidateHint is Validate, also returning a hint for UnmarshalHint
// (region.HintingValidator): non-zero when og-rek reads data as it is
// (no memo, no NEWOBJ, no FRAME, no BINUNICODE, nothing only gopickle
// reads), as for the pickles Marshal writes of protocol 4 and 5 with no
// str of 256 bytes or more, so that decoding it needs no second look at
// its opcodes.
func (Serializer) ValidateHint(data []byte) (uint64, error) {
	res, err := scan(data)
	if err != nil {
		return 0, err
	}
	return res.hint(), nil
}

// UnmarshalHint is Unmarshal of data that ValidateHint accepted and
// returned hint for; with hint 0 it is Unmarshal.
func (Serializer) UnmarshalHint(data []byte, hint uint64, into any) error {
	res, ok := hintResult(hint)
	if !ok {
		return Unmarshal(data, into)
	}
	s := scanner{res: res}
	root, err := loadScanned(data, &s)
	if err != nil {
		return err
	}
	v := Value{root: root, size: len(data)}
	return v.Decode(into)
}

// A hint packs the scanResult of a pickle og-rek reads with no edits, or
// is 0.
const (
	hintPlain           = 1 << 0
	hintStartsWithProto = 1 << 1
	hintNeedOgrek       = 1 << 2
	hintProtoShift      = 8 // the last PROTO's argument plus one (0: none)
)

func (r *scanResult) hint() uint64 {
	if r.needGopickle != "" || r.edited {
		return 0
	}
	h := uint64(hintPlain) | uint64(r.lastProto+1)<<hintProtoShift
	if r.startsWithProto {
		h |= hintStartsWithProto
	}
	if r.needOgrek != "" {
		h |= hintNeedOgrek
	}
	return h
}

func hintResult(h uint64) (scanResult, bool) {
	proto := int(h>>hintProtoShift) - 1
	if h&hintPlain == 0 || proto > HighestProtocol || h>>hintProtoShift > 0xff {
		return scanResult{}, false
	}
	r := scanResult{startsWithProto: h&hintStartsWithProto != 0, lastProto: proto}
	if h&hintNeedOgrek != 0 {
		r.needOgrek = "protocol 0 text or copy_reg._reconstructor"
	}
	return r, true
}
