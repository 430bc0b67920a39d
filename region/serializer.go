package region

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

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
// interface value become map[string]any.
func (MsgpackSerializer) Unmarshal(data []byte, into any) error {
	dec := msgpack.NewDecoder(bytes.NewReader(data))
	dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
	if err := dec.Decode(into); err != nil {
		return err
	}
	if dec.Buffered() != nil {
		if _, err := dec.PeekCode(); err == nil {
			return fmt.Errorf("msgpack: trailing data after value")
		}
	}
	return nil
}

// JSONSerializer encodes with encoding/json.
type JSONSerializer struct{}

// Name returns "json".
func (JSONSerializer) Name() string { return "json" }

// Marshal encodes v as JSON.
func (JSONSerializer) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON data into into.
func (JSONSerializer) Unmarshal(data []byte, into any) error { return json.Unmarshal(data, into) }

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
type Serialized struct {
	Data       []byte
	Serializer Serializer
}

// Decode decodes the payload into the value pointed to by into.
func (s *Serialized) Decode(into any) error {
	return s.Serializer.Unmarshal(s.Data, into)
}

// Value decodes the payload into a generic Go value.
func (s *Serialized) Value() (any, error) {
	var v any
	err := s.Decode(&v)
	return v, err
}

// decodePayload returns payload as a plain Go value, decoding Serialized ones.
func decodePayload(payload any) (any, error) {
	if s, ok := payload.(*Serialized); ok {
		return s.Value()
	}
	return payload, nil
}

// payloadAs converts payload to T, decoding Serialized payloads into T.
func payloadAs[T any](key string, payload any) (T, error) {
	if v, ok := payload.(T); ok {
		return v, nil
	}
	var zero T
	if s, ok := payload.(*Serialized); ok {
		var v T
		if err := s.Decode(&v); err != nil {
			return zero, &TypeError{Key: key, Want: typeName[T](), Got: "serialized " + s.Serializer.Name() + " data", Err: err}
		}
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
