package region

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/dogpile-go/dogpile/internal/pystr"
)

// Envelope lays out a value's metadata and serialized payload as the bytes
// a byte backend stores. A SerializedBackend uses NativeEnvelope unless
// given another (SerializedBackend.WithEnvelope).
type Envelope interface {
	// Name identifies the layout in messages, e.g. "dogpile".
	Name() string
	// Append appends the layout of md and payload to dst.
	Append(dst []byte, md Metadata, payload []byte) []byte
	// Parse splits data into metadata and payload; the payload aliases
	// data. Bytes not in the layout are an error wrapping ErrCorruptValue.
	Parse(data []byte) (Metadata, []byte, error)
}

// NativeEnvelope is this project's own layout (AppendEnvelope and
// ParseEnvelope): "<version>;<created, Unix nanoseconds>|<payload>". The
// project's own byte backends (memcached, gocache.redis, ...) use it.
var NativeEnvelope Envelope = nativeEnvelope{}

// DogpileEnvelope is dogpile.cache's serialized layout (dogpile.cache 1.1
// and later, when a region has a serializer, and on Redis by default):
//
//	{"ct": 1796606678.8912346, "v": 2}|<payload>
//
// ct is the creation time in seconds since the epoch and v dogpile's value
// version, 2. A value written with it reads in a Python dogpile.cache
// region with the same serializer, and the other way round. Version 2 maps
// to ValueVersion; any other version reads as a version this region does
// not know (so the value reads as absent, as dogpile treats it).
var DogpileEnvelope Envelope = dogpileEnvelope{}

// DogpileValueVersion is dogpile.cache's value_version, the "v" its
// regions write in every value's metadata and require when reading.
const DogpileValueVersion = 2

type nativeEnvelope struct{}

func (nativeEnvelope) Name() string { return "native" }
func (nativeEnvelope) Append(dst []byte, md Metadata, payload []byte) []byte {
	return AppendEnvelope(dst, md, payload)
}
func (nativeEnvelope) Parse(data []byte) (Metadata, []byte, error) { return ParseEnvelope(data) }

type dogpileEnvelope struct{}

func (dogpileEnvelope) Name() string { return "dogpile" }

// maxDogpileHeader bounds the metadata JSON searched for the separator.
const maxDogpileHeader = 256

// Append writes the metadata as Python's json.dumps writes dogpile's
// {"ct": time.time(), "v": 2}: a space after each colon and comma, the
// float in its shortest form.
func (dogpileEnvelope) Append(dst []byte, md Metadata, payload []byte) []byte {
	dst = append(dst, `{"ct": `...)
	dst = pystr.AppendFloat(dst, DogpileSeconds(md.CreatedAt))
	dst = append(dst, `, "v": `...)
	v := md.Version
	if v == ValueVersion {
		v = DogpileValueVersion
	}
	dst = strconv.AppendInt(dst, int64(v), 10)
	dst = append(dst, "}|"...)
	return append(dst, payload...)
}

// Parse reads the metadata dogpile writes. The exact form Python writes is
// read without encoding/json; anything else that is a JSON object with a
// numeric "ct" and an integer "v" is read with it.
func (dogpileEnvelope) Parse(data []byte) (Metadata, []byte, error) {
	head := data
	if len(head) > maxDogpileHeader {
		head = head[:maxDogpileHeader]
	}
	sep := bytes.IndexByte(head, '|')
	if sep < 0 || len(head) == 0 || head[0] != '{' {
		return Metadata{}, nil, fmt.Errorf("%w: no dogpile metadata header", ErrCorruptValue)
	}
	ct, v, ok := parseDogpileMetadata(head[:sep])
	if !ok {
		var m struct {
			CT *float64 `json:"ct"`
			V  *int     `json:"v"`
		}
		if err := json.Unmarshal(head[:sep], &m); err != nil || m.CT == nil || m.V == nil {
			return Metadata{}, nil, fmt.Errorf("%w: malformed dogpile metadata %q", ErrCorruptValue, head[:sep])
		}
		ct, v = *m.CT, *m.V
	}
	if !ValidDogpileSeconds(ct) {
		return Metadata{}, nil, fmt.Errorf("%w: bad creation time in dogpile metadata %q", ErrCorruptValue, head[:sep])
	}
	md := Metadata{CreatedAt: DogpileTime(ct), Version: v}
	if v == DogpileValueVersion {
		md.Version = ValueVersion
	} else if v == ValueVersion {
		md.Version = -v // dogpile's version 1 is not ours
	}
	return md, data[sep+1:], nil
}

// parseDogpileMetadata reads exactly `{"ct": <number>, "v": <integer>}`,
// the form Python's json.dumps gives dogpile's metadata.
func parseDogpileMetadata(b []byte) (ct float64, v int, ok bool) {
	rest, found := bytes.CutPrefix(b, []byte(`{"ct": `))
	if !found {
		return 0, 0, false
	}
	comma := bytes.IndexByte(rest, ',')
	if comma < 0 {
		return 0, 0, false
	}
	ct, err := strconv.ParseFloat(string(rest[:comma]), 64)
	if err != nil {
		return 0, 0, false
	}
	rest, found = bytes.CutPrefix(rest[comma:], []byte(`, "v": `))
	if !found || len(rest) < 2 || rest[len(rest)-1] != '}' {
		return 0, 0, false
	}
	n, err := parseDecimal(rest[:len(rest)-1])
	if err != nil || n > 1<<20 {
		return 0, 0, false
	}
	return ct, int(n), true
}
