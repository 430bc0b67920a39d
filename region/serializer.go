package region

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// Serializer turns payloads into bytes for byte backends and back.
type Serializer interface {
	// Name identifies the format, e.g. "msgpack".
	Name() string
	// Marshal encodes v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into the value pointed to by into.
	Unmarshal(data []byte, into any) error
}

// MsgpackSerializer encodes with MessagePack (github.com/vmihailenco/msgpack/v5).
// It is the default serializer. Structs are encoded as maps keyed by field
// name (or `msgpack` tag), so a value written by one program reads back into
// any struct with the same field names.
type MsgpackSerializer struct{}

// Name returns "msgpack".
func (MsgpackSerializer) Name() string { return "msgpack" }

// Marshal encodes v as MessagePack.
func (MsgpackSerializer) Marshal(v any) ([]byte, error) { return msgpack.Marshal(v) }

// Unmarshal decodes MessagePack data into into. Maps decoded into an
// interface value become map[string]any. The data is validated first, so a
// corrupt length prefix cannot make the decoder allocate gigabytes, and a
// panic inside the decoder on malformed input is returned as an error.
func (m MsgpackSerializer) Unmarshal(data []byte, into any) error {
	if err := m.Validate(data); err != nil {
		return err
	}
	return m.unmarshalValidated(data, into)
}

// unmarshalValidated decodes data that Validate accepted.
func (MsgpackSerializer) unmarshalValidated(data []byte, into any) error {
	return readMsgpack(data, func(d *msgpack.Decoder) (err error) {
		if p, ok := into.(*any); ok && p != nil && *p == nil {
			// What Decode does for an empty interface, without reflection.
			*p, err = d.DecodeInterface()
			return err
		}
		return d.Decode(into)
	})
}

// Validate checks that data is exactly one well-formed MessagePack value,
// without decoding it.
func (MsgpackSerializer) Validate(data []byte) error {
	return readMsgpack(data, (*msgpack.Decoder).Skip)
}

// msgpackReader is a decoder reading a byte slice, pooled so that reading
// a value allocates nothing but the value.
type msgpackReader struct {
	r   bytes.Reader
	dec *msgpack.Decoder
}

var msgpackReaders = sync.Pool{New: func() any {
	m := &msgpackReader{}
	m.dec = msgpack.NewDecoder(&m.r)
	return m
}}

// readMsgpack runs read on a pooled decoder over data, then checks that
// nothing follows the value. A panic inside the decoder on malformed input
// is returned as an error. A decoder that failed is not reused.
func readMsgpack(data []byte, read func(*msgpack.Decoder) error) (err error) {
	m := msgpackReaders.Get().(*msgpackReader)
	m.r.Reset(data)
	// A value's own DecodeMsgpack may have set options on the decoder
	// (DisallowUnknownFields, say): start from none.
	m.dec.Reset(&m.r)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("msgpack: malformed value: %v", p)
		}
		if err == nil {
			m.r.Reset(nil)
			msgpackReaders.Put(m)
		}
	}()
	if err := read(m.dec); err != nil {
		return err
	}
	if n := m.r.Len(); n != 0 {
		return fmt.Errorf("msgpack: %d bytes of trailing data", n)
	}
	return nil
}

// validatedUnmarshaler is implemented by serializers that can skip
// validation for data already validated (Serialized payloads read through
// SerializedBackend).
type validatedUnmarshaler interface {
	unmarshalValidated(data []byte, into any) error
}

// JSONSerializer encodes with encoding/json.
type JSONSerializer struct{}

// Name returns "json".
func (JSONSerializer) Name() string { return "json" }

// Marshal encodes v as JSON.
func (JSONSerializer) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON data into into.
func (JSONSerializer) Unmarshal(data []byte, into any) error { return json.Unmarshal(data, into) }

// Validate checks that data is well-formed JSON.
func (JSONSerializer) Validate(data []byte) error {
	if !json.Valid(data) {
		return errors.New("json: malformed value")
	}
	return nil
}

// Validator is implemented by serializers that can check bytes without
// decoding them. Byte backends' values that fail it read as absent (and are
// reported), rather than failing later when decoded.
type Validator interface {
	Validate(data []byte) error
}

// HintingValidator is a Validator whose check learns something about the
// bytes that saves work when the same bytes are decoded (package pickle:
// that og-rek reads them as they are, so the decoding need not scan them
// again). SerializedBackend validates a payload it reads with
// ValidateHint, keeps the hint with the *Serialized payload and decodes
// it with UnmarshalHint.
type HintingValidator interface {
	Validator
	// ValidateHint is Validate, also returning a hint for UnmarshalHint.
	// The hint is the serializer's own; 0 should mean that it learned
	// nothing.
	ValidateHint(data []byte) (hint uint64, err error)
	// UnmarshalHint is Unmarshal of data that ValidateHint accepted and
	// returned hint for.
	UnmarshalHint(data []byte, hint uint64, into any) error
}

// DefaultSerializer is the serializer byte backends use unless the region or
// the backend names another.
var DefaultSerializer Serializer = MsgpackSerializer{}

// SerializerByName returns the built-in serializer of that name ("msgpack"
// or "json").
func SerializerByName(name string) (Serializer, error) {
	switch name {
	case "msgpack", "":
		return MsgpackSerializer{}, nil
	case "json":
		return JSONSerializer{}, nil
	}
	return nil, &ArgumentError{Name: "serializer", Value: name, Want: `"msgpack" or "json"`}
}

// Serialized is the payload of a value read from a byte backend: the encoded
// bytes and the serializer that reads them. It stays encoded until the
// caller's type is known: GetAs[T] decodes it straight into a T, Get decodes
// it into a generic value (maps become map[string]any).
//
// A payload read from a byte backend has passed the serializer's Validate
// (when it has one); do not change Data, which is decoded on that basis.
type Serialized struct {
	Data       []byte
	Serializer Serializer
	validated  bool   // Data passed the serializer's Validate
	hint       uint64 // what its HintingValidator learned, when validated
}

// Decode decodes the payload into the value pointed to by into.
func (s *Serialized) Decode(into any) error {
	if s.validated {
		switch u := s.Serializer.(type) {
		case HintingValidator:
			return u.UnmarshalHint(s.Data, s.hint, into)
		case validatedUnmarshaler:
			return u.unmarshalValidated(s.Data, into)
		}
	}
	return s.Serializer.Unmarshal(s.Data, into)
}

// PayloadEncoding names the serializer that reads the payload
// (EncodedPayload).
func (s *Serialized) PayloadEncoding() string { return s.Serializer.Name() }

// Value decodes the payload into a generic Go value.
func (s *Serialized) Value() (any, error) {
	var v any
	err := s.Decode(&v)
	return v, err
}

// EncodedPayload is a payload that stays encoded until the caller's type is
// known: *Serialized, and the payloads of backends that read values in a
// format of their own (a *pickle.Value, for a pickled dogpile.cache
// CachedValue read from memcached). GetAs[T] calls Decode with a *T; Get,
// GetMulti and GetOrCreate call Value. A backend that returns one must
// never hand out the same value to two callers that may decode it at once
// unless its methods are safe for concurrent use.
//
// The region recognises an encoded payload by these three methods wherever
// the payload comes from, an in-process backend included: a value of the
// application's own that has them is decoded on reading rather than
// returned as it is. PayloadEncoding, which names the encoding, is what
// sets an encoded payload apart from an application value that merely has
// Decode and Value methods.
type EncodedPayload interface {
	// Decode decodes the payload into the value pointed to by into.
	Decode(into any) error
	// Value decodes the payload into a generic Go value (maps become
	// map[string]any).
	Value() (any, error)
	// PayloadEncoding names the payload's encoding ("pickle", a
	// serializer's name), for messages.
	PayloadEncoding() string
}

// decodePayload returns payload as a plain Go value, decoding encoded ones.
func decodePayload(payload any) (any, error) {
	if s, ok := payload.(*Serialized); ok {
		return s.Value()
	}
	if e, ok := payload.(EncodedPayload); ok {
		return e.Value()
	}
	return payload, nil
}

// plainAs is payloadAs's inlined common case: a payload stored as a T.
// For an interface T (any, say) it also rules out encoded payloads, which
// the assertion would otherwise hand out undecoded; for other types the
// check costs nothing (isInterface is constant for each T).
func plainAs[T any](payload any) (T, bool) {
	if _, ser := payload.(*Serialized); !ser {
		v, ok := payload.(T)
		if ok && isInterface[T]() {
			if _, enc := payload.(EncodedPayload); enc {
				return v, false
			}
		}
		return v, ok
	}
	var zero T
	return zero, false
}

// isInterface reports whether T is an interface type: only then is the
// zero T, as an any, nil.
func isInterface[T any]() bool {
	var zero T
	return any(zero) == nil
}

// payloadAs converts payload to T, decoding encoded payloads into T.
func payloadAs[T any](key string, payload any) (T, error) {
	var zero T
	// Encoded payloads first: for an interface T (any, say) the assertion
	// below would hand them out undecoded.
	if s, ok := payload.(*Serialized); ok {
		var v T
		if err := s.Decode(&v); err != nil {
			return zero, &TypeError{Key: key, Want: typeName[T](), Got: "serialized " + s.Serializer.Name() + " data", Err: err}
		}
		return v, nil
	}
	if e, ok := payload.(EncodedPayload); ok {
		var v T
		if err := e.Decode(&v); err != nil {
			return zero, &TypeError{Key: key, Want: typeName[T](), Got: e.PayloadEncoding() + " data", Err: err}
		}
		return v, nil
	}
	if v, ok := payload.(T); ok {
		return v, nil
	}
	if payload == nil {
		// A cached nil reads as T's zero value when T can hold nil.
		var v T
		if k := reflect.TypeOf(&v).Elem().Kind(); k == reflect.Interface || k == reflect.Pointer ||
			k == reflect.Map || k == reflect.Slice || k == reflect.Func || k == reflect.Chan {
			return v, nil
		}
	}
	return zero, &TypeError{Key: key, Want: typeName[T](), Got: fmt.Sprintf("%T", payload)}
}

func typeName[T any]() string {
	return reflect.TypeOf((*T)(nil)).Elem().String()
}
