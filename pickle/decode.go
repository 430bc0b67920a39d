package pickle

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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
//     og-rek also ignores POP_MARK (which Python writes for a tuple that
//     contains itself), leaving the MARK on its stack.
//   - gopickle decodes all of those, but passes protocol 0 text through
//     undecoded and drops the state argument of copy_reg._reconstructor.
//
// The scan records which of these constructs a pickle holds. og-rek reads
// it when it can, being the faster of the two (2.3 µs and 7.5 KB against
// 2.7 µs and 15 KB for a small dict in protocol 4, before the pooled
// decoders below cut og-rek's share to a third of those bytes), gopickle
// otherwise. A NEWOBJ applied to CachedValue does not need gopickle: it
// is CachedValue(payload, metadata), which og-rek reads once the opcode
// reads as REDUCE (pymemcache's protocol 5 CachedValue of a small dict:
// 16.4 KB allocated with gopickle, 6.1 KB with og-rek on a new decoder).
// A pickle that needs both (a list referenced twice in python-memcached's
// protocol 0 CachedValue) is refused with an *UnsupportedError rather
// than read wrong.

// load scans data and decodes it with the library that reads it correctly.
// The result is the library's object tree.
func load(data []byte) (any, error) {
	s, err := startScan(data)
	defer s.release()
	if err != nil {
		return nil, err
	}
	return loadScanned(data, s)
}

// loadScanned decodes data, which passed the scan s.
func loadScanned(data []byte, s *scanner) (any, error) {
	res := &s.res
	switch {
	case res.needOgrek != "" && res.needGopickle != "":
		return nil, &UnsupportedError{
			Type:   "pickle holding " + res.needGopickle + " and " + res.needOgrek,
			Reason: "no decoder reads both correctly; write the value with protocol 2 or later",
		}
	case res.needGopickle != "":
		return loadGopickle(data)
	}
	v, err := loadOgrek(data, s, ogrekConfig)
	if err != nil {
		// og-rek's Go maps refuse a dict with tuple keys, which Python
		// allows: read it again with ogórek.Dict (slower), so that the
		// conversion names what cannot cross, or try gopickle when it can.
		if res.needOgrek != "" {
			if dv, derr := loadOgrek(data, s, ogrekPyDictConfig); derr == nil {
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

// Pooled og-rek decoders. og-rek's NewDecoder allocates a decoder, its
// memo, and a bufio.Reader around its input (unless the input already is
// one with the default buffer size); its stack and the buffer every
// string is read through then grow from nothing. For a small value that
// was a third of what decoding allocated. A decoder reads one pickle after
// another from its reader, so a pooled decoder keeps all of that, its
// bufio.Reader reset onto each new input.
//
// og-rek reads the pickle with the scan's edits (see edit): every memo
// store becomes BINPUT or LONG_BINPUT of the slot a fresh decoder would
// store, or goes when no GET reads that slot, which is the rule: Python
// memoizes every str, list and dict from protocol 1 on and reads a slot
// back only for an object it meets twice. Each store skipped saves og-rek
// a map assignment (and, for protocol 0's PUT, a string). FRAME goes too
// (og-rek skips it, allocating its 8-byte argument), and BINUNICODE (every
// str in protocols 1 to 3, and from 256 bytes on in 4 and 5), which og-rek
// reads byte by byte into a growing slice, reads as BINSTRING, copied at
// once into the same Go string.
//
// What one pickle leaves in a decoder, and why the next does not see it:
//
//   - The memo. og-rek has no way to clear it, so slots of earlier
//     pickles stay. The scan checks that every memo read names a slot
//     stored earlier in the same pickle, so an old slot is overwritten
//     before it is read; it only keeps an old value alive until then
//     (bounded: a decoder goes back to the pool only after a pickle of at
//     most maxPooledInput bytes and maxPooledMemo slots). MEMOIZE stores
//     at the memo's length, which old slots would shift: that is why it
//     is read as BINPUT. A protocol 0 PUT or GET whose index is not
//     spelled as Python spells it ("p01") is read unedited by a fresh
//     decoder, since og-rek keys the memo by the text.
//   - The stack: empty after a pickle that decoded, since the scan checks
//     that STOP leaves exactly one value, which Decode returns. A decoder
//     that failed (or panicked) is not reused.
//   - The protocol of the last PROTO opcode, which og-rek applies to the
//     bytearray calls it resolves. A pickle that does not start with PROTO
//     (protocols 0 and 1) gets a decoder that has read no PROTO opcode
//     above 0, as a fresh decoder.
//
// Nothing og-rek returns aliases its buffers (strings and Bytes are
// copies; BYTEARRAY8 hands its buffer over and starts a new one), so the
// values of one pickle are untouched by the next.
type pooledOgrek struct {
	src editedReader
	buf *bufio.Reader
	dec *ogorek.Decoder
	// proto is the protocol dec applies to a pickle without a PROTO
	// opcode of its own: that of the last PROTO it read.
	proto int
}

const (
	// maxPooledInput and maxPooledMemo bound the pickles after which a
	// decoder goes back to the pool, and so what a pooled decoder keeps
	// alive (old memo slots, its string buffer, its stack).
	maxPooledInput = 64 << 10
	maxPooledMemo  = 1024
)

// ogrekProto0 holds decoders of protocol 0, which read any pickle;
// ogrekProtoN those that read a PROTO opcode above 0, which only read
// pickles that start with one.
var ogrekProto0, ogrekProtoN sync.Pool

func getOgrek(startsWithProto bool) *pooledOgrek {
	if startsWithProto {
		if d, ok := ogrekProtoN.Get().(*pooledOgrek); ok {
			return d
		}
	}
	if d, ok := ogrekProto0.Get().(*pooledOgrek); ok {
		return d
	}
	return newPooledOgrek()
}

func newPooledOgrek() *pooledOgrek {
	d := &pooledOgrek{}
	d.buf = bufio.NewReader(&d.src)
	return d
}

func putOgrek(d *pooledOgrek) {
	if d.proto == 0 {
		ogrekProto0.Put(d)
	} else {
		ogrekProtoN.Put(d)
	}
}

// loadOgrek decodes data, which passed the scan s, with og-rek.
func loadOgrek(data []byte, s *scanner, config *ogorek.DecoderConfig) (any, error) {
	d := getOgrek(s.res.startsWithProto)
	v, err := d.decode(data, s, config)
	putOgrek(d)
	return v, err
}

// decode decodes data, which passed the scan s, with d's decoder (a new
// one unless it reads data as a fresh one would; see pooledOgrek). The
// decoder is kept for the next pickle when config is ogrekConfig and data
// decoded.
func (d *pooledOgrek) decode(data []byte, s *scanner, config *ogorek.DecoderConfig) (v any, err error) {
	res := &s.res
	d.src.reset(data, s, res.textMemoIndex)
	d.buf.Reset(&d.src)
	dec := d.dec
	if config != ogrekConfig || res.textMemoIndex {
		dec = ogorek.NewDecoderWithConfig(d.buf, config)
	} else if dec == nil || d.proto != 0 && !res.startsWithProto {
		d.dec, d.proto = ogorek.NewDecoderWithConfig(d.buf, config), 0
		dec = d.dec
	}
	defer func() {
		d.src.reset(nil, nil, false)
		d.buf.Reset(&d.src)
		if dec != d.dec {
			return
		}
		if err == nil && len(data) <= maxPooledInput && res.memoSlots <= maxPooledMemo {
			if res.lastProto >= 0 {
				d.proto = res.lastProto
			}
		} else {
			d.dec, d.proto = nil, 0
		}
	}()
	defer recoverDecode(&err)
	v, err = dec.Decode()
	if err != nil {
		return nil, libError(err)
	}
	return v, nil
}

// editedReader reads data with the scan's edits applied (see edit).
type editedReader struct {
	data     []byte
	off      int    // next byte of data
	edits    []edit // edits not yet applied
	memoRead []bool // which memo slots a GET reads
	keepMemo bool   // memo stores pass unchanged
	pending  [5]byte
	pend     []byte // what is left of an edit's bytes to read
}

// reset sets r to read data with the edits of the scan s (nil: none).
// keepMemo leaves memo stores as they are.
func (r *editedReader) reset(data []byte, s *scanner, keepMemo bool) {
	r.data, r.off, r.edits, r.memoRead, r.keepMemo, r.pend = data, 0, nil, nil, keepMemo, nil
	if s != nil {
		r.edits, r.memoRead = s.edits, s.memoRead
	}
}

func (r *editedReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.pend) > 0 {
			c := copy(p[n:], r.pend)
			r.pend = r.pend[c:]
			n += c
			continue
		}
		end := len(r.data)
		if len(r.edits) > 0 {
			end = int(r.edits[0].pos)
		}
		if r.off < end {
			c := copy(p[n:], r.data[r.off:end])
			r.off += c
			n += c
			continue
		}
		if len(r.edits) == 0 {
			break
		}
		e := r.edits[0]
		r.edits = r.edits[1:]
		r.off += int(e.n)
		switch {
		case e.kind == editReduce:
			r.pending[0] = opReduce
			r.pend = r.pending[:1]
		case e.kind == editBinstring:
			r.pending[0] = opBinstring
			r.pend = r.pending[:1]
		case e.kind == editDrop:
		case r.keepMemo:
			r.pend = r.data[e.pos : e.pos+e.n]
		case !r.memoRead[e.memo]:
			// Nothing reads the slot: og-rek need not store it.
		case e.memo < 256:
			r.pending[0], r.pending[1] = opBinput, byte(e.memo)
			r.pend = r.pending[:2]
		default:
			r.pending[0] = opLongBinput
			binary.LittleEndian.PutUint32(r.pending[1:], uint32(e.memo))
			r.pend = r.pending[:5]
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
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

func (c className) String() string { return c.module + "." + c.name }

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
	return callClass(c.id, className{c.module, c.name}, args)
}

// PyNew is cls.__new__(cls, *args) (NEWOBJ): Python writes a CachedValue
// this way from protocol 2 on.
func (c *pyClass) PyNew(args ...any) (any, error) {
	if c.id == clsCachedValue {
		return callClass(c.id, className{c.module, c.name}, args)
	}
	return nil, &UnsupportedError{Type: c.String() + ".__new__"}
}

// callClass builds the value of an allow-listed call, for either library
// (og-rek leaves calls symbolic; see resolveCall).
func callClass(id classID, cls className, args []any) (any, error) {
	bad := func() (any, error) {
		return nil, &UnsupportedError{Type: cls.String(), Reason: fmt.Sprintf("called with %d unexpected arguments", len(args))}
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
				return latin1(args[0], cls)
			}
		}
		return bad()
	case clsCodecsEncode:
		if len(args) == 2 {
			if enc, ok := strOf(args[1]); ok && (enc == "latin1" || enc == "latin-1") {
				return latin1(args[0], cls)
			}
		}
		return bad()
	}
	return bad()
}

// latin1 encodes a str whose characters are all below U+0100 as bytes, as
// Python writes bytes in protocols 0 to 2.
func latin1(x any, cls className) (any, error) {
	s, ok := strOf(x)
	if !ok {
		return nil, &UnsupportedError{Type: cls.String(), Reason: "argument is not a str"}
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, fmt.Errorf("%w: %s: character %U is not Latin-1", ErrCorrupt, cls, r)
		}
		b = append(b, byte(r))
	}
	return b, nil
}

// resolveCall turns an og-rek call of an allow-listed class into a value.
func resolveCall(c ogorek.Call) (any, error) {
	cls := className{c.Callable.Module, c.Callable.Name}
	id, ok := allowed[cls]
	if !ok {
		return nil, &UnsupportedError{Type: cls.String()}
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
		return nil, &UnsupportedError{Type: cls.String(), Reason: "only CachedValue is reconstructed"}
	}
	return callClass(id, cls, c.Args)
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
