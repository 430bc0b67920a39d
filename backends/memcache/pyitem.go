package memcache

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"time"
	"unicode/utf8"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/pickle"
	"github.com/dogpile-go/dogpile/region"
)

// Item flags of the Python memcached clients (python-memcached's
// Client._FLAG_*, pymemcache's serde FLAG_*): what the bytes of an item
// hold. Zero is plain bytes.
const (
	FlagPickle     uint32 = 1 << 0 // a pickle
	FlagInteger    uint32 = 1 << 1 // a Python int, as decimal text
	FlagLong       uint32 = 1 << 2 // a Python 2 long, as decimal text
	FlagCompressed uint32 = 1 << 3 // zlib-compressed (python-memcached's min_compress_len)
	FlagText       uint32 = 1 << 4 // a Python str, as UTF-8
)

// MaxDecompressedSize bounds what a zlib-compressed item may inflate to
// when read (python-memcached has no bound; this is far above memcached's
// item sizes times any sensible compression ratio). Larger items are an
// error, never a huge allocation.
const MaxDecompressedSize = 64 << 20

// ErrForeignValue: an item that is not a cached value of the region reading
// it: a plain str, int or bytes stored by another program, a pickle of
// something other than dogpile.cache's CachedValue, dogpile's serialized
// form read by a region without a serializer or the other way round, or the
// project's own "memcached" format. It reads as absent for the region and
// is reported to the region's error handler. It matches
// region.ErrCorruptValue too.
var ErrForeignValue = errors.New("memcache: not a cached value of this region")

// ItemError reports an item a region could not read as one of its values.
// It matches ErrForeignValue when the item is well formed but is something
// else (see ErrForeignValue), and region.ErrCorruptValue always.
type ItemError struct {
	Flags   uint32 // the item's flags
	Reason  string // what the item is, or what is wrong with it
	Foreign bool   // well formed, but not a value of this region
	Err     error  // the decoder's error, if any
}

// Error describes the item.
func (e *ItemError) Error() string {
	msg := fmt.Sprintf("memcache: item with flags %d: %s", e.Flags, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the decoder's error.
func (e *ItemError) Unwrap() error { return e.Err }

// Is matches region.ErrCorruptValue, and ErrForeignValue for foreign items.
func (e *ItemError) Is(target error) bool {
	return target == region.ErrCorruptValue || (e.Foreign && target == ErrForeignValue)
}

// PythonCachedValue is a dogpile.cache.api.CachedValue read by
// DecodePythonItem.
type PythonCachedValue struct {
	Payload any       // the payload, as generic Go values (see pickle.Value.Value)
	Created time.Time // metadata "ct"
	Version int       // metadata "v" (2 for dogpile.cache 1.1 and later)
}

// DecodePythonItem decodes an item as python-memcached's get does
// (pymemcache's pickle_serde reads the same flags, without compression):
// flags 0 give []byte, FlagText a string, FlagInteger and FlagLong an int64
// (a *big.Int beyond int64), FlagPickle the unpickled value as generic Go
// values, or a PythonCachedValue for a dogpile.cache CachedValue;
// FlagCompressed is inflated first. It is meant for showing what an item
// holds (the dogpile command's store inspection does); regions read their
// values through the backends. Malformed bytes and unknown flags are an
// *ItemError, never a panic.
func DecodePythonItem(flags uint32, data []byte) (any, error) {
	flags, data, err := inflate(flags, data)
	if err != nil {
		return nil, err
	}
	switch {
	case flags == 0:
		return bytes.Clone(data), nil
	case flags&FlagText != 0:
		if !utf8.Valid(data) {
			return nil, &ItemError{Flags: flags, Reason: "text that is not UTF-8"}
		}
		return string(data), nil
	case flags&(FlagInteger|FlagLong) != 0:
		return parsePythonInt(flags, data)
	case flags&FlagPickle != 0:
		if v, ct, ver, err := pickle.DecodeCachedValue(data); err == nil {
			p, err := v.Value()
			if err != nil {
				return nil, &ItemError{Flags: flags, Reason: "a CachedValue whose payload cannot be read", Err: err}
			}
			return PythonCachedValue{Payload: p, Created: ct, Version: ver}, nil
		} else if !errors.Is(err, pickle.ErrNotCachedValue) {
			return nil, &ItemError{Flags: flags, Reason: "a pickle that cannot be read", Err: err}
		}
		v, err := pickle.Parse(data)
		if err != nil {
			return nil, &ItemError{Flags: flags, Reason: "a pickle that cannot be read", Err: err}
		}
		out, err := v.Value()
		if err != nil {
			return nil, &ItemError{Flags: flags, Reason: "a pickle that cannot be read", Err: err}
		}
		return out, nil
	}
	return nil, &ItemError{Flags: flags, Reason: "unknown flags (python-memcached raises ValueError)"}
}

// inflate undoes FlagCompressed, bounded by MaxDecompressedSize.
func inflate(flags uint32, data []byte) (uint32, []byte, error) {
	if flags&FlagCompressed == 0 {
		return flags, data, nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return flags, nil, &ItemError{Flags: flags, Reason: "compressed bytes that are not zlib", Err: err}
	}
	defer zr.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(zr, MaxDecompressedSize+1))
	if err != nil {
		return flags, nil, &ItemError{Flags: flags, Reason: "corrupt zlib data", Err: err}
	}
	if n > MaxDecompressedSize {
		return flags, nil, &ItemError{Flags: flags, Reason: fmt.Sprintf("compressed data inflating past %d bytes", MaxDecompressedSize)}
	}
	return flags &^ FlagCompressed, buf.Bytes(), nil
}

// deflate compresses as python-memcached's compressor, zlib.compress at
// the default level, does.
func deflate(data []byte) []byte {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	_, _ = zw.Write(data) // writes to a bytes.Buffer do not fail
	_ = zw.Close()
	return buf.Bytes()
}

func parsePythonInt(flags uint32, data []byte) (any, error) {
	s := string(bytes.TrimSpace(data))
	if len(s) > 4300 { // Python's default int_max_str_digits
		return nil, &ItemError{Flags: flags, Reason: fmt.Sprintf("an integer of %d digits", len(s))}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, &ItemError{Flags: flags, Reason: fmt.Sprintf("integer text %q that does not parse", truncate(s, 40))}
	}
	return b, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// describeForeign says what an item a region cannot read holds, for
// ItemError; withSerializer tells whether the reading region has a
// serializer (then dogpile's serialized form is its own format, and
// reaching here means its header does not parse).
func describeForeign(flags uint32, data []byte, withSerializer bool) string {
	v, err := DecodePythonItem(flags, data)
	if err != nil {
		return "an item that cannot be read"
	}
	switch x := v.(type) {
	case []byte:
		if bytes.HasPrefix(x, []byte(`{"ct": `)) {
			if withSerializer {
				return "dogpile.cache's serialized form with a header that does not parse"
			}
			return "dogpile.cache's serialized form ({\"ct\": ..., \"v\": 2}|payload), written by a region with a serializer; configure this region with the same serializer (region.WithSerializer)"
		}
		if _, _, err := region.ParseEnvelope(x); err == nil {
			return "this project's own memcached format (1;<created>|payload), written by the \"memcached\" backend"
		}
		return fmt.Sprintf("%d plain bytes (a Python bytes value), not a dogpile CachedValue", len(x))
	case PythonCachedValue:
		return "a pickled dogpile CachedValue, written by a region without a serializer"
	case string:
		return "a Python str, not a dogpile CachedValue"
	case int64, *big.Int:
		return "a Python int, not a dogpile CachedValue"
	}
	return fmt.Sprintf("a pickled Python value (%T in Go), not a dogpile CachedValue", v)
}

// dogpileVersion maps a region metadata version to the "v" dogpile writes,
// and readVersion the other way (as region.DogpileEnvelope does).
func dogpileVersion(v int) int {
	if v == region.ValueVersion {
		return region.DogpileValueVersion
	}
	if v < 0 {
		return -v
	}
	return v
}

func readVersion(v int) int {
	switch v {
	case region.DogpileValueVersion:
		return region.ValueVersion
	case region.ValueVersion:
		return -v // dogpile's version 1 is not ours
	}
	return v
}

// payloadOf returns what to encode for a region payload: a value read
// from a pickled item (a *pickle.Value) is pickled back from its parsed
// tree when pickling; other encoded payloads (region.EncodedPayload, such
// as *region.Serialized) are decoded into generic values first.
func payloadOf(key string, payload any, pickling bool) (any, error) {
	if v, ok := payload.(*pickle.Value); ok && pickling {
		return v, nil
	}
	e, ok := payload.(region.EncodedPayload)
	if !ok {
		return payload, nil
	}
	v, err := e.Value()
	if err != nil {
		return nil, fmt.Errorf("memcache: key %q: cannot decode %T to store it: %w", key, payload, err)
	}
	return v, nil
}

// ReadForeign reads the item stored under key (a key as stored, after the
// region's key mangler) and decodes it with DecodePythonItem, for display:
// the dogpile command's get shows an item this backend's region cannot read
// as one of its values (a plain str or int a Python program stored with
// the client, a CachedValue of another version, ...) as JSON. found is
// false when the key is absent; ok is false when the item does not decode.
// A CachedValue is described by its payload and metadata.
func (p *PythonBackend) ReadForeign(ctx context.Context, key string) (v any, format string, found, ok bool, err error) {
	var it *gomemcache.Item
	if err := p.call(ctx, func() (err error) {
		it, err = p.b.getItem(ctx, key)
		return err
	}); err != nil {
		return nil, "", false, false, err
	}
	if it == nil {
		return nil, "", false, false, nil
	}
	v, err = DecodePythonItem(it.Flags, it.Value)
	if err != nil {
		return nil, "", true, false, nil
	}
	format = fmt.Sprintf("%s item (flags %d)", pythonClientName(p.opts.Name), it.Flags)
	if cv, isCV := v.(PythonCachedValue); isCV {
		v = map[string]any{"payload": cv.Payload, "ct": region.DogpileSeconds(cv.Created), "v": cv.Version}
		format = fmt.Sprintf("dogpile.cache CachedValue, %s (flags %d)", pythonClientName(p.opts.Name), it.Flags)
	}
	return v, format, true, true, nil
}

// pythonClientName names the Python client whose items a backend reads.
func pythonClientName(backend string) string {
	if backend == NameDogpilePymemcache {
		return "pymemcache"
	}
	return "python-memcached"
}

// ReadRaw returns the bytes of the item stored under key (as stored, after
// the region's key mangler), without its flags or any decoding: what the
// dogpile command's get --raw prints.
func (p *PythonBackend) ReadRaw(ctx context.Context, key string) (data []byte, found bool, err error) {
	var it *gomemcache.Item
	if err := p.call(ctx, func() (err error) {
		it, err = p.b.getItem(ctx, key)
		return err
	}); err != nil || it == nil {
		return nil, false, err
	}
	return it.Value, true, nil
}
