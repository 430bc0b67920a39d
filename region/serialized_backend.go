package region

import (
	"context"
	"fmt"
	"log/slog"
)

// SerializedBackend presents a BytesBackend as a Backend: values are written
// as an envelope (metadata header, separator, serialized payload) and read
// back with a *Serialized payload that is decoded only when the caller's
// type is known. Bytes that are not a valid envelope read as absent and are
// reported to the corruption handler.
//
// Byte backend packages return one from their BackendFactory. A region
// configured with WithSerializer replaces the backend's default serializer.
type SerializedBackend struct {
	bytes      BytesBackend
	serializer Serializer
	envelope   Envelope
	onCorrupt  func(ctx context.Context, key string, err error)
}

// NewSerializedBackend wraps b, with NativeEnvelope. A nil serializer means
// DefaultSerializer.
func NewSerializedBackend(b BytesBackend, s Serializer) *SerializedBackend {
	if s == nil {
		s = DefaultSerializer
	}
	return &SerializedBackend{bytes: b, serializer: s, envelope: NativeEnvelope}
}

// WithEnvelope sets the layout of the stored bytes (NativeEnvelope by
// default; DogpileEnvelope to share values with Python dogpile.cache
// regions) and returns b. Call it before the backend is in use, as a
// backend factory does.
func (b *SerializedBackend) WithEnvelope(e Envelope) *SerializedBackend {
	if e != nil {
		b.envelope = e
	}
	return b
}

// Envelope returns the layout of the stored bytes.
func (b *SerializedBackend) Envelope() Envelope { return b.envelope }

// Bytes returns the byte backend underneath.
func (b *SerializedBackend) Bytes() BytesBackend { return b.bytes }

// Serializer returns the serializer in use.
func (b *SerializedBackend) Serializer() Serializer { return b.serializer }

// SetSerializer replaces the serializer; nil keeps the current one. Call it
// only before the backend is in use; the region does so in Configure (see
// SerializerSetter).
func (b *SerializedBackend) SetSerializer(s Serializer) {
	if s != nil {
		b.serializer = s
	}
}

// SetCorruptionHandler sets the function told about values that could not be
// parsed (they read as absent). By default they are logged with log/slog.
func (b *SerializedBackend) SetCorruptionHandler(f func(ctx context.Context, key string, err error)) {
	b.onCorrupt = f
}

func (b *SerializedBackend) corrupt(ctx context.Context, key string, err error) {
	if b.onCorrupt != nil {
		b.onCorrupt(ctx, key, err)
		return
	}
	slog.WarnContext(ctx, "dogpile: cached value could not be read; treating it as absent", "key", key, "error", err)
}

func (b *SerializedBackend) decode(ctx context.Context, key string, data []byte) (CachedValue, bool) {
	return b.decodeInto(ctx, key, data, new(Serialized))
}

// decodeInto is decode with the payload's Serialized supplied by the
// caller (GetMulti allocates them all at once).
func (b *SerializedBackend) decodeInto(ctx context.Context, key string, data []byte, s *Serialized) (CachedValue, bool) {
	md, payload, err := b.envelope.Parse(data)
	if err != nil {
		b.corrupt(ctx, key, err)
		return CachedValue{}, false
	}
	var hint uint64
	canValidate := true
	switch v := b.serializer.(type) {
	case HintingValidator:
		hint, err = v.ValidateHint(payload)
	case Validator:
		err = v.Validate(payload)
	default:
		canValidate = false
	}
	if err != nil {
		b.corrupt(ctx, key, fmt.Errorf("%w: %s payload: %v", ErrCorruptValue, b.serializer.Name(), err))
		return CachedValue{}, false
	}
	*s = Serialized{Data: payload, Serializer: b.serializer, validated: canValidate, hint: hint}
	return CachedValue{Payload: s, Metadata: md}, true
}

// Encode returns the envelope bytes for v, as stored under key.
func (b *SerializedBackend) Encode(key string, v CachedValue) ([]byte, error) {
	var payload []byte
	value, encoded := v.Payload, false
	if s, ok := value.(*Serialized); ok {
		if s.Serializer.Name() == b.serializer.Name() {
			payload, encoded = s.Data, true
		} else {
			// Read through another serializer (a value copied from
			// another backend): re-encode what it holds.
			var err error
			if value, err = s.Value(); err != nil {
				return nil, fmt.Errorf("region: key %q: cannot decode %s value to store it with %s: %w", key, s.Serializer.Name(), b.serializer.Name(), err)
			}
		}
	} else if e, ok := value.(EncodedPayload); ok {
		var err error
		if value, err = e.Value(); err != nil {
			return nil, fmt.Errorf("region: key %q: cannot decode %T to store it with %s: %w", key, e, b.serializer.Name(), err)
		}
	}
	if !encoded {
		var err error
		payload, err = b.serializer.Marshal(value)
		if err != nil {
			return nil, fmt.Errorf("region: key %q: cannot serialize %T with %s: %w", key, value, b.serializer.Name(), err)
		}
	}
	return b.envelope.Append(make([]byte, 0, len(payload)+48), v.Metadata, payload), nil
}

// Get reads and parses key.
func (b *SerializedBackend) Get(ctx context.Context, key string) (CachedValue, bool, error) {
	data, ok, err := b.bytes.GetSerialized(ctx, key)
	if err != nil || !ok {
		return CachedValue{}, false, err
	}
	v, ok := b.decode(ctx, key, data)
	return v, ok, nil
}

// GetMulti reads and parses keys; unparsable values are left out. A byte
// backend that is an OrderedBytesReader is read with GetSerializedOrdered.
func (b *SerializedBackend) GetMulti(ctx context.Context, keys []string) (map[string]CachedValue, error) {
	if o, ok := b.bytes.(OrderedBytesReader); ok {
		values, err := b.readOrdered(ctx, o, keys)
		if err != nil {
			return nil, err
		}
		out := make(map[string]CachedValue, len(keys))
		payloads := make([]Serialized, len(keys))
		for i, data := range values {
			if _, seen := out[keys[i]]; seen || data == nil {
				continue
			}
			if v, ok := b.decodeInto(ctx, keys[i], data, &payloads[i]); ok {
				out[keys[i]] = v
			}
		}
		return out, nil
	}
	raw, err := b.bytes.GetSerializedMulti(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]CachedValue, len(raw))
	payloads := make([]Serialized, len(raw))
	i := 0
	for k, data := range raw {
		if v, ok := b.decodeInto(ctx, k, data, &payloads[i]); ok {
			out[k] = v
			i++
		}
	}
	return out, nil
}

// getMultiOrdered is GetMulti in key order, without building a map (nor,
// when the byte backend is an OrderedBytesReader, having it build one):
// the region's read path when this backend is not wrapped in proxies.
// found[i] tells whether cvs[i], the value of keys[i], was read and
// parsed. A key asked for twice is parsed twice (and, if corrupt,
// reported twice).
func (b *SerializedBackend) getMultiOrdered(ctx context.Context, keys []string) (cvs []CachedValue, found []bool, err error) {
	var values [][]byte
	var raw map[string][]byte
	if o, ok := b.bytes.(OrderedBytesReader); ok {
		values, err = b.readOrdered(ctx, o, keys)
	} else {
		raw, err = b.bytes.GetSerializedMulti(ctx, keys)
	}
	if err != nil {
		return nil, nil, err
	}
	cvs, found = make([]CachedValue, len(keys)), make([]bool, len(keys))
	payloads := make([]Serialized, len(keys))
	for i, k := range keys {
		var data []byte
		ok := false
		if values != nil {
			data = values[i]
			ok = data != nil
		} else {
			data, ok = raw[k]
		}
		if ok {
			cvs[i], found[i] = b.decodeInto(ctx, k, data, &payloads[i])
		}
	}
	return cvs, found, nil
}

// readOrdered reads keys with o, checking that it returned one value per
// key.
func (b *SerializedBackend) readOrdered(ctx context.Context, o OrderedBytesReader, keys []string) ([][]byte, error) {
	values, err := o.GetSerializedOrdered(ctx, keys)
	if err == nil && len(values) != len(keys) {
		err = fmt.Errorf("region: %T.GetSerializedOrdered returned %d values for %d keys", b.bytes, len(values), len(keys))
	}
	return values, err
}

// Set serializes v and writes it.
func (b *SerializedBackend) Set(ctx context.Context, key string, v CachedValue) error {
	data, err := b.Encode(key, v)
	if err != nil {
		return err
	}
	return b.bytes.SetSerialized(ctx, key, data)
}

// SetMulti serializes every value first, so a value that cannot be
// serialized leaves nothing written.
func (b *SerializedBackend) SetMulti(ctx context.Context, m map[string]CachedValue) error {
	encoded := make(map[string][]byte, len(m))
	for k, v := range m {
		data, err := b.Encode(k, v)
		if err != nil {
			return err
		}
		encoded[k] = data
	}
	return b.bytes.SetSerializedMulti(ctx, encoded)
}

// Delete deletes key.
func (b *SerializedBackend) Delete(ctx context.Context, key string) error {
	return b.bytes.Delete(ctx, key)
}

// DeleteMulti deletes keys.
func (b *SerializedBackend) DeleteMulti(ctx context.Context, keys []string) error {
	return b.bytes.DeleteMulti(ctx, keys)
}

// GetMutex returns the byte backend's mutex for key.
func (b *SerializedBackend) GetMutex(key string) Mutex { return b.bytes.GetMutex(key) }
