package pickle

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	ogorek "github.com/kisielk/og-rek"
	gopickle "github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// Two libraries decode, because neither reads everything Python writes
// (measured with the pickles Python 3.11 writes for every protocol, see
// the tests):
//
//   - og-rek decodes protocol 0's text strings (raw-unicode-escape, Latin-1
//     bytes) and copy_reg._reconstructor calls (python-memcached's
//     CachedValue), but not NEWOBJ (every CachedValue from protocol 2 on),
//     sets (protocol 4's EMPTY_SET), LONG4 or the 8-byte-length opcodes,
//     and a list referenced twice through the memo reads back empty the
//     second time.
//   - gopickle decodes all of those, but passes protocol 0 text through
//     undecoded and drops the state argument of copy_reg._reconstructor.
//
// The scan records which of these constructs a pickle holds. og-rek reads
// it when it can, being the faster of the two (2.3 µs and 7.5 KB against
// 2.7 µs and 15 KB for a small dict in protocol 4, before the pooled
// reader below halves og-rek's share), gopickle otherwise. A NEWOBJ
// applied to CachedValue does not need gopickle: it is CachedValue(payload,
// metadata), which og-rek reads once the opcode is rewritten to REDUCE in
// a copy of the input (pymemcache's protocol 5 CachedValue of a small
// dict: 16.4 KB allocated with gopickle, 6.1 KB with og-rek). A
// pickle that needs both (a list referenced twice in python-memcached's
// protocol 0 CachedValue) is refused with an *UnsupportedError rather
// than read wrong.

// load scans data and decodes it with the library that reads it correctly.
// The result is the library's object tree.
func load(data []byte) (any, error) {
	res, err := scan(data)
	if err != nil {
		return nil, err
	}
	switch {
	case res.needOgrek != "" && res.needGopickle != "":
		return nil, &UnsupportedError{
			Type:   "pickle holding " + res.needGopickle + " and " + res.needOgrek,
			Reason: "no decoder reads both correctly; write the value with protocol 2 or later",
		}
	case res.needGopickle != "":
		return loadGopickle(data)
	}
	ogrekData := data
	if res.newobjs > 0 {
		ogrekData = bytes.Clone(data)
		for _, at := range res.newobj[:res.newobjs] {
			ogrekData[at] = opReduce
		}
	}
	v, err := loadOgrek(ogrekData, ogrekConfig)
	if err != nil {
		// og-rek's Go maps refuse a dict with tuple keys, which Python
		// allows: read it again with ogórek.Dict (slower), so that the
		// conversion names what cannot cross, or try gopickle when it can.
		if res.needOgrek != "" {
			if dv, derr := loadOgrek(ogrekData, ogrekPyDictConfig); derr == nil {
				return dv, nil
			}
		} else if gv, gerr := loadGopickle(data); gerr == nil {
			return gv, nil
		}
	}
	return v, err
}

var (
	ogrekConfig       = &ogorek.DecoderConfig{}
	ogrekPyDictConfig = &ogorek.DecoderConfig{PyDict: true}
)

// ogrekReader is the input of an og-rek decoder. og-rek wraps its input in
// a bufio.Reader unless it already is one with the default buffer size;
// pooling them saves a 4 KiB allocation per decode (half of og-rek's
// allocation for a small value).
type ogrekReader struct {
	src bytes.Reader
	buf *bufio.Reader
}

var ogrekReaders = sync.Pool{New: func() any {
	r := &ogrekReader{}
	r.buf = bufio.NewReader(&r.src)
	return r
}}

func loadOgrek(data []byte, config *ogorek.DecoderConfig) (v any, err error) {
	r := ogrekReaders.Get().(*ogrekReader)
	r.src.Reset(data)
	r.buf.Reset(&r.src)
	defer func() {
		r.src.Reset(nil)
		r.buf.Reset(&r.src)
		ogrekReaders.Put(r)
	}()
	defer recoverDecode(&err)
	v, err = ogorek.NewDecoderWithConfig(r.buf, config).Decode()
	if err != nil {
		return nil, libError(err)
	}
	return v, nil
}

func loadGopickle(data []byte) (v any, err error) {
	defer recoverDecode(&err)
	u := gopickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = findClass
	v, err = u.Load()
	if err != nil {
		return nil, libError(err)
	}
	return v, nil
}

// libError wraps a decoder's error in ErrCorrupt unless it is one of ours.
func libError(err error) error {
	var ue *UnsupportedError
	if errors.As(err, &ue) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrLimit) {
		return err
	}
	return fmt.Errorf("%w: %s", ErrCorrupt, strings.TrimPrefix(err.Error(), "pickle: "))
}

// recoverDecode turns a panic inside a decoder into an error. The scan
// rules out the malformed input that makes them panic that we know of; this
// is the backstop. A Go map cannot hold bytes as keys, so gopickle panics
// on a set of bytes: that is reported as unsupported.
func recoverDecode(err *error) {
	p := recover()
	if p == nil {
		return
	}
	if re, ok := p.(runtime.Error); ok && strings.Contains(re.Error(), "unhashable") {
		*err = &UnsupportedError{Type: "set of bytes", Reason: "sets are read into Go maps, which cannot hold bytes"}
		return
	}
	*err = fmt.Errorf("%w: decoder failed: %v", ErrCorrupt, p)
}

// The allow-list: the only classes a pickle may name. Nothing is ever
// instantiated: each name maps to a fixed Go behaviour.
type classID uint8

const (
	clsCachedValue   classID = iota + 1 // dogpile.cache.api.CachedValue
	clsReconstructor                    // copy_reg._reconstructor (protocols 0 and 1)
	clsTuple                            // tuple, as _reconstructor's base
	clsSet                              // set(list), protocols 0 to 3
	clsFrozenset                        // frozenset(list), protocols 0 to 3
	clsBytes                            // bytes(), b"" in protocols 0 to 2
	clsBytearray                        // bytearray(bytes)
	clsCodecsEncode                     // _codecs.encode(str, "latin1"): bytes in protocols 0 to 2
)

type className struct{ module, name string }

var allowed = map[className]classID{
	{"dogpile.cache.api", "CachedValue"}: clsCachedValue,
	{"copy_reg", "_reconstructor"}:       clsReconstructor,
	{"copyreg", "_reconstructor"}:        clsReconstructor,
	{"_codecs", "encode"}:                clsCodecsEncode,
	{"__builtin__", "tuple"}:             clsTuple,
	{"builtins", "tuple"}:                clsTuple,
	{"__builtin__", "set"}:               clsSet,
	{"builtins", "set"}:                  clsSet,
	{"__builtin__", "frozenset"}:         clsFrozenset,
	{"builtins", "frozenset"}:            clsFrozenset,
	{"__builtin__", "bytes"}:             clsBytes,
	{"builtins", "bytes"}:                clsBytes,
	{"__builtin__", "bytearray"}:         clsBytearray,
	{"builtins", "bytearray"}:            clsBytearray,
}

// pyClass is an allow-listed class as gopickle sees it: REDUCE calls Call,
// NEWOBJ calls PyNew. Both build plain Go values.
type pyClass struct {
	id           classID
	module, name string
}

func findClass(module, name string) (any, error) {
	id, ok := allowed[className{module, name}]
	if !ok {
		return nil, &UnsupportedError{Type: module + "." + name}
	}
	return &pyClass{id: id, module: module, name: name}, nil
}

// cachedValue is a decoded dogpile.cache.api.CachedValue.
type cachedValue struct {
	payload, metadata any
}

// pySet is a set or frozenset built by a set(list) call.
type pySet struct {
	items  []any
	frozen bool
}

func (c *pyClass) String() string { return c.module + "." + c.name }

// Call applies the class to args (REDUCE).
func (c *pyClass) Call(args ...any) (any, error) {
	return callClass(c.id, c.String(), args)
}

// PyNew is cls.__new__(cls, *args) (NEWOBJ): Python writes a CachedValue
// this way from protocol 2 on.
func (c *pyClass) PyNew(args ...any) (any, error) {
	if c.id == clsCachedValue {
		return callClass(c.id, c.String(), args)
	}
	return nil, &UnsupportedError{Type: c.String() + ".__new__"}
}

// callClass builds the value of an allow-listed call, for either library
// (og-rek leaves calls symbolic; see resolveCall).
func callClass(id classID, name string, args []any) (any, error) {
	bad := func() (any, error) {
		return nil, &UnsupportedError{Type: name, Reason: fmt.Sprintf("called with %d unexpected arguments", len(args))}
	}
	switch id {
	case clsCachedValue:
		if len(args) != 2 {
			return bad()
		}
		return &cachedValue{payload: args[0], metadata: args[1]}, nil
	case clsSet, clsFrozenset:
		s := &pySet{frozen: id == clsFrozenset}
		switch len(args) {
		case 0:
		case 1:
			items, ok := seqItems(args[0])
			if !ok {
				return bad()
			}
			s.items = items
		default:
			return bad()
		}
		return s, nil
	case clsBytes, clsBytearray:
		switch len(args) {
		case 0:
			return []byte{}, nil
		case 1:
			if b, ok := bytesOf(args[0]); ok {
				return b, nil
			}
		case 2:
			if enc, ok := args[1].(string); ok && (enc == "latin-1" || enc == "latin1") {
				return latin1(args[0], name)
			}
		}
		return bad()
	case clsCodecsEncode:
		if len(args) == 2 {
			if enc, ok := strOf(args[1]); ok && (enc == "latin1" || enc == "latin-1") {
				return latin1(args[0], name)
			}
		}
		return bad()
	}
	return bad()
}

// latin1 encodes a str whose characters are all below U+0100 as bytes, as
// Python writes bytes in protocols 0 to 2.
func latin1(x any, name string) (any, error) {
	s, ok := strOf(x)
	if !ok {
		return nil, &UnsupportedError{Type: name, Reason: "argument is not a str"}
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, fmt.Errorf("%w: %s: character %U is not Latin-1", ErrCorrupt, name, r)
		}
		b = append(b, byte(r))
	}
	return b, nil
}

// resolveCall turns an og-rek call of an allow-listed class into a value.
func resolveCall(c ogorek.Call) (any, error) {
	name := c.Callable.Module + "." + c.Callable.Name
	id, ok := allowed[className{c.Callable.Module, c.Callable.Name}]
	if !ok {
		return nil, &UnsupportedError{Type: name}
	}
	if id == clsReconstructor {
		// copy_reg._reconstructor(CachedValue, tuple, (payload, metadata)).
		if len(c.Args) == 3 {
			cls, _ := c.Args[0].(ogorek.Class)
			base, _ := c.Args[1].(ogorek.Class)
			state, _ := c.Args[2].(ogorek.Tuple)
			if allowed[className{cls.Module, cls.Name}] == clsCachedValue &&
				allowed[className{base.Module, base.Name}] == clsTuple && len(state) == 2 {
				return &cachedValue{payload: state[0], metadata: state[1]}, nil
			}
			if cls.Name != "" {
				return nil, &UnsupportedError{Type: cls.Module + "." + cls.Name}
			}
		}
		return nil, &UnsupportedError{Type: name, Reason: "only CachedValue is reconstructed"}
	}
	return callClass(id, name, c.Args)
}

// seqItems returns the items of a list or tuple from either library.
func seqItems(x any) ([]any, bool) {
	switch v := x.(type) {
	case []any:
		return v, true
	case ogorek.Tuple:
		return v, true
	case *types.List:
		return *v, true
	case *types.Tuple:
		return *v, true
	}
	return nil, false
}

func strOf(x any) (string, bool) {
	switch v := x.(type) {
	case string:
		return v, true
	case ogorek.ByteString:
		return string(v), true
	}
	return "", false
}

func bytesOf(x any) ([]byte, bool) {
	switch v := x.(type) {
	case ogorek.Bytes:
		return []byte(v), true
	case []byte:
		return v, true
	case *types.ByteArray:
		return *v, true
	}
	return nil, false
}
