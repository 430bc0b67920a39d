package pickle

import (
	"fmt"
	"math"
	"time"

	ogorek "github.com/kisielk/og-rek"

	"github.com/dogpile-go/dogpile/region"
)

// dogpile.cache.api.CachedValue is a NamedTuple (payload, metadata), the
// metadata a dict {"ct": creation time as float seconds since the epoch,
// "v": format version (2 since dogpile.cache 1.1)}. Backends without a
// serializer (python-memcached, pymemcache) pickle the whole CachedValue.

// EncodeCachedValue encodes dogpile.cache.api.CachedValue(payload, {"ct":
// created, "v": version}) with the given protocol (0 to 5; python-memcached
// writes 0, pymemcache 5). Python's pickle.loads reads it into an equal
// CachedValue: in protocols 0 and 1 it is written as Python writes it, a
// copy_reg._reconstructor call; from protocol 2 on as a call of
// CachedValue(payload, metadata) rather than Python's NEWOBJ, which the
// encoder (og-rek) does not write.
func EncodeCachedValue(payload any, created time.Time, version int, protocol int) ([]byte, error) {
	if protocol == ProtocolZero {
		protocol = 0
	}
	if protocol < 0 || protocol > HighestProtocol {
		return nil, fmt.Errorf("pickle: protocol %d, want 0 to %d", protocol, HighestProtocol)
	}
	p, err := toPython(payload, 1)
	if err != nil {
		return nil, err
	}
	md := map[any]any{"ct": region.DogpileSeconds(created), "v": int64(version)}
	cls := ogorek.Class{Module: "dogpile.cache.api", Name: "CachedValue"}
	var tree ogorek.Call
	if protocol < 2 {
		tree = ogorek.Call{
			Callable: ogorek.Class{Module: "copy_reg", Name: "_reconstructor"},
			Args:     ogorek.Tuple{cls, ogorek.Class{Module: "__builtin__", Name: "tuple"}, ogorek.Tuple{p, md}},
		}
	} else {
		tree = ogorek.Call{Callable: cls, Args: ogorek.Tuple{p, md}}
	}
	return encodeTree(tree, protocol)
}

// DecodeCachedValue decodes a pickled dogpile.cache.api.CachedValue of any
// protocol. It returns the payload, still undecoded (see Value), the
// creation time (metadata "ct") and the format version (metadata "v").
// Bytes that are a pickle of something else fail with ErrNotCachedValue.
func DecodeCachedValue(data []byte) (*Value, time.Time, int, error) {
	root, err := load(data)
	if err != nil {
		return nil, time.Time{}, 0, err
	}
	if c, ok := root.(ogorek.Call); ok {
		if root, err = resolveCall(c); err != nil {
			return nil, time.Time{}, 0, fmt.Errorf("%w: %v", ErrNotCachedValue, err)
		}
	}
	cv, ok := root.(*cachedValue)
	if !ok {
		return nil, time.Time{}, 0, fmt.Errorf("%w: the pickle holds a %s", ErrNotCachedValue, pyTypeName(root))
	}
	ct, version, err := metadata(cv.metadata)
	if err != nil {
		return nil, time.Time{}, 0, err
	}
	return &Value{root: cv.payload, size: len(data)}, ct, version, nil
}

// metadata reads {"ct": float, "v": int}; other keys are ignored, as
// dogpile.cache does.
func metadata(md any) (time.Time, int, error) {
	if _, ok := dictLen(md); !ok {
		return time.Time{}, 0, fmt.Errorf("%w: metadata is a %s, not a dict", ErrNotCachedValue, pyTypeName(md))
	}
	var ct, v any
	_ = dictRange(md, func(k, val any) error {
		switch s, _ := strOf(k); s {
		case "ct":
			ct = val
		case "v":
			v = val
		}
		return nil
	})
	if ct == nil || v == nil {
		return time.Time{}, 0, fmt.Errorf(`%w: metadata lacks "ct" or "v"`, ErrNotCachedValue)
	}
	// Only numbers are printed: any other value may contain itself.
	secs, ok := floatOf(ct)
	if !ok {
		return time.Time{}, 0, fmt.Errorf(`%w: metadata "ct" is a %s, not a time in seconds`, ErrNotCachedValue, pyTypeName(ct))
	}
	if !region.ValidDogpileSeconds(secs) {
		return time.Time{}, 0, fmt.Errorf(`%w: metadata "ct" is %v, not a time in seconds`, ErrNotCachedValue, secs)
	}
	version, ok, err := intOf(v)
	if !ok {
		return time.Time{}, 0, fmt.Errorf(`%w: metadata "v" is a %s, not a version number`, ErrNotCachedValue, pyTypeName(v))
	}
	if err != nil || version < math.MinInt32 || version > math.MaxInt32 {
		return time.Time{}, 0, fmt.Errorf(`%w: metadata "v" is %v, not a version number`, ErrNotCachedValue, v)
	}
	return region.DogpileTime(secs), int(version), nil
}
