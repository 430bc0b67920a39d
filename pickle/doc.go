// Package pickle reads and writes Python pickles, so that Go services share
// cached values with the Python services of a mixed dogpile.cache fleet.
//
// Python's dogpile.cache stores pickles in three ways, all covered here:
//
//   - python-memcached (dogpile.cache.memcached): the whole
//     dogpile.cache.api.CachedValue(payload, {"ct": created, "v": 2}),
//     pickled with protocol 0 (memcached flags 1). EncodeCachedValue and
//     DecodeCachedValue.
//   - pymemcache (dogpile.cache.pymemcache): the same CachedValue, pickled
//     with pymemcache's pickle_serde, protocol 5 (pickle.HIGHEST_PROTOCOL).
//   - Redis (dogpile.cache.redis), and any region with a serializer:
//     `{"ct": ..., "v": 2}|` followed by pickle.dumps(payload), protocol 4
//     (Python 3.11's pickle.DEFAULT_PROTOCOL). Serializer is that payload
//     codec for a region; the envelope is the region's.
//
// Encoding and decoding go through libraries: github.com/kisielk/og-rek
// writes every pickle and reads most; github.com/nlpodyssey/gopickle reads
// what og-rek cannot (NEWOBJ, which every CachedValue of protocol 2 or later
// uses, sets in protocol 4 and 5, lists referenced twice). Which one reads a
// pickle is decided by a scan of its opcodes (see Limits and hostile input).
//
// # Reading: Python to Go
//
// A decoded pickle stays a *Value until the caller's type is known.
// (*Value).Value gives generic Go values; (*Value).Decode(&x) converts into
// x's type:
//
//	Python            Value()                 Decode into
//	str               string                  string, []byte, encoding.TextUnmarshaler
//	bytes, bytearray  []byte                  []byte, string
//	int               int64; *big.Int past    any integer type (overflow is a *TypeError),
//	                  int64                   big.Int, *big.Int, float32/64
//	float             float64                 float32/64 (a finite value that overflows
//	                                          float32 is a *TypeError)
//	bool              bool                    bool
//	None              nil                     nil pointer, slice, map or interface
//	list, tuple       []any                   slice, array (at least as long)
//	set, frozenset    []any (no order)        slice
//	dict              map[string]any;         map (keys converted like values),
//	                  map[any]any when a key  struct (keys matched to fields)
//	                  is int/float/bool/None
//
// A struct field is matched by its `pickle:"name"` tag, else its
// `json:"name"` tag, else its Go name; exactly first, then ignoring case.
// Keys without a field are ignored; "-" skips a field; fields of embedded
// structs are promoted, as in encoding/json. A *Value field keeps that part
// undecoded. Into `any`, the Value() form is stored. A nested CachedValue
// reads as its two-item tuple.
//
// # Writing: Go to Python
//
//	Go                                  Python
//	string (valid UTF-8, else an error) str
//	[]byte, [N]byte                     bytes
//	int*, uint*, *big.Int, big.Int      int
//	float32, float64                    float
//	bool                                bool
//	nil, nil pointer/slice/map          None (as encoding/json writes null)
//	slice, array                        list
//	map with string, integer, float or  dict
//	bool keys
//	struct                              dict keyed by field name (the tags above,
//	                                    ",omitempty" honoured)
//	encoding.TextMarshaler              str
//	*Value                              the value it holds
//
// Channels, functions, complex numbers and other Go types fail with an
// *UnsupportedError. Python reads what Marshal writes into equal values,
// but not byte for byte what Python would write: og-rek writes no memo and
// no frames, dict items come in Go's map order, and from protocol 2 on a
// CachedValue is written as a CachedValue(payload, metadata) call where
// Python writes NEWOBJ.
//
// # Protocols
//
// Every protocol, 0 to 5, is read. Writers pick one: Marshal and
// EncodeCachedValue take it as an argument (python-memcached reads
// anything but writes 0; pymemcache writes 5). Serializer.Protocol's zero
// value means DefaultProtocol (4), what pickle.dumps writes; ProtocolZero
// selects protocol 0.
//
// # The allow-list
//
// Pickles name classes, and Python's pickle.loads imports and calls them.
// This package only accepts dogpile.cache.api.CachedValue and the builtins
// that old protocols need to spell bytes and sets (copy_reg._reconstructor
// for CachedValue in protocols 0 and 1, _codecs.encode, bytes, bytearray,
// set, frozenset, tuple); each maps to fixed Go code, nothing is ever
// instantiated. Any other class (decimal.Decimal, datetime.datetime, your
// own) fails with an *UnsupportedError naming it, as do persistent ids,
// extension codes, object state (BUILD) and out-of-band buffers. Callers
// reading a key add the key to the error.
//
// # Limits and hostile input
//
// Corrupt or hostile bytes give an error wrapping ErrCorrupt, ErrLimit or
// ErrUnsupported, never a panic (panics inside the libraries are
// recovered) and never an allocation beyond a small multiple of the input:
//
//   - Before decoding, a scan of the opcodes checks that every length
//     prefix fits in the bytes left (a 20-byte pickle claiming a 4 GiB
//     string fails without allocating it), the stack and MARK discipline,
//     memo references, the allow-list, and that STOP ends the input. It is
//     also Serializer.Validate.
//   - Nesting deeper than MaxDepth (Python's default recursion limit), or a
//     value that contains itself, fails with ErrLimit.
//   - A pickle can reference one object many times through its memo;
//     Python shares it, Go gets copies. What a value expands to is bounded
//     (one value per input byte plus 2^18, the input's size plus 16 MiB of
//     copied bytes).
//   - INT and LONG text longer than Python 3.11 reads (4300 digits), and
//     binary integers over 2 KiB (16384 bits), fail with ErrLimit.
//
// Known gaps, each refused with an *UnsupportedError rather than read
// wrong: a CachedValue of protocol 0 or 1 (python-memcached) holding a
// list referenced twice, and a set of bytes in protocol 4 or 5.
package pickle
