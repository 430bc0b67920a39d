package region

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
)

// The envelope is how a CachedValue is stored in a byte backend:
//
//	<version>;<created, Unix nanoseconds>|<serialized payload>
//
// for example "1;1732680000123456789|\xa5hello". The header is short ASCII
// so a value is readable with a plain memcached or Redis client, and the
// payload is the serializer's bytes, untouched.
const (
	envelopeSeparator = '|'
	maxEnvelopeHeader = 48
)

// AppendEnvelope appends the envelope header for md to dst, followed by
// payload.
func AppendEnvelope(dst []byte, md Metadata, payload []byte) []byte {
	dst = strconv.AppendInt(dst, int64(md.Version), 10)
	dst = append(dst, ';')
	dst = strconv.AppendInt(dst, md.CreatedAt.UnixNano(), 10)
	dst = append(dst, envelopeSeparator)
	return append(dst, payload...)
}

// ParseEnvelope splits stored bytes into metadata and payload. The payload
// aliases data. Anything that is not a well-formed envelope is an error
// wrapping ErrCorruptValue.
func ParseEnvelope(data []byte) (Metadata, []byte, error) {
	head := data
	if len(head) > maxEnvelopeHeader {
		head = head[:maxEnvelopeHeader]
	}
	sep := bytes.IndexByte(head, envelopeSeparator)
	if sep < 0 {
		return Metadata{}, nil, fmt.Errorf("%w: no envelope header", ErrCorruptValue)
	}
	header := head[:sep]
	semi := bytes.IndexByte(header, ';')
	if semi < 0 {
		return Metadata{}, nil, fmt.Errorf("%w: malformed envelope header %q", ErrCorruptValue, header)
	}
	version, err := parseDecimal(header[:semi])
	if err != nil || version <= 0 || version > 1<<20 {
		return Metadata{}, nil, fmt.Errorf("%w: bad version in envelope header %q", ErrCorruptValue, header)
	}
	nanos, err := parseDecimal(header[semi+1:])
	if err != nil {
		return Metadata{}, nil, fmt.Errorf("%w: bad creation time in envelope header %q", ErrCorruptValue, header)
	}
	md := Metadata{CreatedAt: time.Unix(0, nanos), Version: int(version)}
	return md, data[sep+1:], nil
}

// parseDecimal parses a non-negative decimal integer of at most 19 digits
// without allocating.
func parseDecimal(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 19 {
		return 0, strconv.ErrSyntax
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, strconv.ErrRange
		}
		n = n*10 + d
	}
	return n, nil
}
