package pickle

import (
	"bytes"

	"github.com/dogpile-go/dogpile/region"
)

// DecodeForeign decodes bytes that a region with this serializer could not
// read as one of its values, for display (the dogpile command's get shows
// them as JSON): a bare pickle (what redis-py's set(key, pickle.dumps(v))
// stores), or dogpile's serialized form, {"ct": ..., "v": ...}|<pickle>,
// of a version this region does not read. format names what data was. ok
// is false when data is neither, or holds a Python type that does not
// cross (see the package documentation).
func (Serializer) DecodeForeign(data []byte) (v any, format string, ok bool) {
	format = "Python pickle"
	if bytes.HasPrefix(data, []byte("{")) {
		md, payload, err := region.DogpileEnvelope.Parse(data)
		if err != nil {
			return nil, "", false
		}
		data = payload
		format = "dogpile.cache value (pickle)"
		if md.Version != region.ValueVersion {
			format = "dogpile.cache value of another version (pickle)"
		}
	}
	pv, err := Parse(data)
	if err != nil {
		return nil, "", false
	}
	v, err = pv.Value()
	if err != nil {
		return nil, "", false
	}
	return v, format, true
}
