package pickle

import "fmt"

// Serializer is a region serializer (region.Serializer and
// region.Validator) writing Python pickles: the payload format of
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
