package pickle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
)

// The scan is a guard run before either library decodes a pickle. It walks
// the opcodes once without building values and checks what the libraries
// do not: every length argument fits in the bytes that are left (gopickle
// allocates a length prefix's worth before reading, so a 20-byte pickle
// claiming 4 GiB would otherwise allocate 4 GiB), the stack and MARK
// discipline holds, memo references point at stored slots, every class
// named is on the allow-list, and the pickle ends with STOP and nothing
// after it. It also records which library can decode the pickle
// correctly (see decoder in decode.go). It is Serializer.Validate.

// Opcodes, named as in Python's pickletools.
const (
	opMark            = '('
	opStop            = '.'
	opPop             = '0'
	opPopMark         = '1'
	opDup             = '2'
	opFloat           = 'F'
	opInt             = 'I'
	opBinint          = 'J'
	opBinint1         = 'K'
	opLong            = 'L'
	opBinint2         = 'M'
	opNone            = 'N'
	opPersid          = 'P'
	opBinpersid       = 'Q'
	opReduce          = 'R'
	opString          = 'S'
	opBinstring       = 'T'
	opShortBinstring  = 'U'
	opUnicode         = 'V'
	opBinunicode      = 'X'
	opAppend          = 'a'
	opBuild           = 'b'
	opGlobal          = 'c'
	opDict            = 'd'
	opEmptyDict       = '}'
	opAppends         = 'e'
	opGet             = 'g'
	opBinget          = 'h'
	opInst            = 'i'
	opLongBinget      = 'j'
	opList            = 'l'
	opEmptyList       = ']'
	opObj             = 'o'
	opPut             = 'p'
	opBinput          = 'q'
	opLongBinput      = 'r'
	opSetitem         = 's'
	opTuple           = 't'
	opEmptyTuple      = ')'
	opSetitems        = 'u'
	opBinfloat        = 'G'
	opProto           = 0x80
	opNewobj          = 0x81
	opExt1            = 0x82
	opExt2            = 0x83
	opExt4            = 0x84
	opTuple1          = 0x85
	opTuple2          = 0x86
	opTuple3          = 0x87
	opNewtrue         = 0x88
	opNewfalse        = 0x89
	opLong1           = 0x8a
	opLong4           = 0x8b
	opBinbytes        = 'B'
	opShortBinbytes   = 'C'
	opShortBinunicode = 0x8c
	opBinunicode8     = 0x8d
	opBinbytes8       = 0x8e
	opEmptySet        = 0x8f
	opAdditems        = 0x90
	opFrozenset       = 0x91
	opNewobjEx        = 0x92
	opStackGlobal     = 0x93
	opMemoize         = 0x94
	opFrame           = 0x95
	opBytearray8      = 0x96
	opNextBuffer      = 0x97
	opReadonlyBuffer  = 0x98
)

// maxLongBytes bounds the binary LONG4 integers read: gopickle converts
// them in time quadratic in their length. 2 KiB is a 16384-bit integer,
// more than the 4300 decimal digits Python 3.11 converts to text.
const maxLongBytes = 2 << 10

// maxIntDigits bounds the decimal text of INT and LONG, as Python 3.11's
// int() does (sys.int_info.default_max_str_digits): converting longer text
// takes time quadratic in its length.
const maxIntDigits = 4300

// Kinds of simulated stack entries.
const (
	kMark             uint8 = iota + 1 // a MARK
	kValue                             // any value
	kList                              // a list (the libraries differ on shared lists)
	kStr                               // a str whose UTF-8 bytes are data[off:off+n]
	kCachedValueClass                  // the class dogpile.cache.api.CachedValue
)

type entry struct {
	kind   uint8
	off, n int32
}

// scanResult is what Parse needs to know about a pickle that passed.
type scanResult struct {
	// needOgrek names a construct that only og-rek decodes correctly;
	// needGopickle one that only gopickle does. Empty when none.
	needOgrek, needGopickle string
	// newobjs counts the NEWOBJ opcodes applied to CachedValue (see
	// scanner.edits): og-rek reads the pickle once they are REDUCE.
	newobjs int
	// startsWithProto tells whether the first opcode is PROTO; lastProto
	// is the argument of the last PROTO opcode, -1 when there is none.
	// og-rek applies the protocol of the last PROTO it read, in this
	// pickle or an earlier one on the same decoder, to the calls it
	// resolves (see pooledOgrek).
	startsWithProto bool
	lastProto       int
	// memoSlots is the number of memo slots the pickle stores.
	memoSlots int
	// edited tells whether og-rek is to read the pickle with edits.
	edited bool
	// textMemoIndex tells whether a protocol 0 PUT or GET spells its
	// index in another way than the decimal digits Python writes ("p01");
	// og-rek keys its memo by that text.
	textMemoIndex bool
}

// An edit is a change the scan asks for in the bytes og-rek reads (see
// editedReader): the opcode at pos, n bytes with its argument, is read as
// something else, which og-rek reads faster or at all (see pooledOgrek).
type edit struct {
	pos, n int32
	kind   uint8
	memo   int32 // the slot an editMemo stores
}

// Kinds of edits.
const (
	// editReduce: a NEWOBJ applied to CachedValue, which og-rek lacks,
	// read as REDUCE: CachedValue(payload, metadata).
	editReduce uint8 = iota + 1
	// editBinstring: BINUNICODE read as BINSTRING, which has the same
	// argument and gives og-rek's reader the same Go string (not being
	// strict about Python 2 str), copied at once rather than byte by
	// byte.
	editBinstring
	// editDrop: FRAME, which og-rek skips anyway, not read at all.
	editDrop
	// editMemo: a memo store (PUT, BINPUT, LONG_BINPUT, MEMOIZE), read as
	// BINPUT or LONG_BINPUT of slot memo, or not at all when no GET reads
	// that slot.
	editMemo
)

type scanner struct {
	data  []byte
	stack []entry
	marks []int // stack indexes of the MARKs, innermost last
	memo  []entry
	// memoRead[i] tells whether a GET reads memo slot i anywhere.
	memoRead []bool
	edits    []edit // in the order of pos
	res      scanResult
}

var scanners = sync.Pool{New: func() any { return new(scanner) }}

// scan checks data; see the comment at the top of this file. Errors wrap
// ErrCorrupt, or are *UnsupportedError for classes and constructs that
// cannot cross.
func scan(data []byte) (scanResult, error) {
	s, err := startScan(data)
	res := s.res
	s.release()
	return res, err
}

// startScan is scan keeping the scanner, whose edits the decoding reads;
// the caller releases it.
func startScan(data []byte) (*scanner, error) {
	s := scanners.Get().(*scanner)
	s.data, s.stack, s.marks, s.memo, s.memoRead, s.edits = data, s.stack[:0], s.marks[:0], s.memo[:0], s.memoRead[:0], s.edits[:0]
	s.res = scanResult{lastProto: -1}
	if len(data) > maxInput {
		return s, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrLimit, len(data), maxInput)
	}
	err := s.run()
	s.res.memoSlots, s.res.edited = len(s.memo), len(s.edits) > 0
	return s, err
}

// release returns the scanner to the pool, unless a large pickle grew it.
func (s *scanner) release() {
	s.data = nil
	if cap(s.stack) <= 1024 && cap(s.memo) <= 1024 && cap(s.memoRead) <= 1024 && cap(s.edits) <= 4096 {
		scanners.Put(s)
	}
}

func (s *scanner) corrupt(pos int, format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrCorrupt, pos, fmt.Sprintf(format, args...))
}

// avail returns the number of values above the innermost MARK.
func (s *scanner) avail() int {
	if len(s.marks) == 0 {
		return len(s.stack)
	}
	return len(s.stack) - s.marks[len(s.marks)-1] - 1
}

func (s *scanner) push(e entry) { s.stack = append(s.stack, e) }

// pop removes n values from above the innermost MARK and returns the
// first of them.
func (s *scanner) pop(pos int, op byte, n int) (entry, error) {
	if s.avail() < n {
		return entry{}, s.corrupt(pos, "opcode %s needs %d values on the stack", opName(op), n)
	}
	e := s.stack[len(s.stack)-n]
	s.stack = s.stack[:len(s.stack)-n]
	return e, nil
}

// popMark removes the innermost MARK and everything above it; below must
// say how many values need to remain under the MARK (APPENDS, SETITEMS and
// ADDITEMS extend the value under their MARK).
func (s *scanner) popMark(pos int, op byte, below int) (items int, err error) {
	if len(s.marks) == 0 {
		return 0, s.corrupt(pos, "opcode %s without a MARK", opName(op))
	}
	m := s.marks[len(s.marks)-1]
	s.marks = s.marks[:len(s.marks)-1]
	items = len(s.stack) - m - 1
	s.stack = s.stack[:m]
	if below > 0 && s.avail() < below {
		return 0, s.corrupt(pos, "opcode %s has nothing to extend", opName(op))
	}
	return items, nil
}

// arg returns the n bytes after pos, or an error when fewer are left.
func (s *scanner) arg(pos int, op byte, n uint64) ([]byte, error) {
	if left := uint64(len(s.data) - pos); n > left {
		return nil, s.corrupt(pos, "opcode %s wants %d bytes, %d are left", opName(op), n, left)
	}
	return s.data[pos : pos+int(n)], nil
}

// line returns the text up to the next newline after pos (without it).
func (s *scanner) line(pos int, op byte) ([]byte, error) {
	i := bytes.IndexByte(s.data[pos:], '\n')
	if i < 0 {
		return nil, s.corrupt(pos, "opcode %s: argument has no terminating newline", opName(op))
	}
	return s.data[pos : pos+i], nil
}

// counted returns the length-prefixed argument at pos: a prefix of
// width 1, 4 or 8 bytes (little-endian), then that many bytes. Every length
// is checked against the bytes left before anything is read.
func (s *scanner) counted(pos int, op byte, width int, signed bool) (body []byte, next int, err error) {
	p, err := s.arg(pos, op, uint64(width))
	if err != nil {
		return nil, 0, err
	}
	var n uint64
	switch width {
	case 1:
		n = uint64(p[0])
	case 4:
		n = uint64(binary.LittleEndian.Uint32(p))
		if signed && int32(n) < 0 {
			return nil, 0, s.corrupt(pos, "opcode %s: negative length %d", opName(op), int32(n))
		}
	case 8:
		n = binary.LittleEndian.Uint64(p)
	}
	body, err = s.arg(pos+width, op, n)
	return body, pos + width + int(n), err
}

func (s *scanner) memoIndex(pos int, op byte, arg []byte) (int, error) {
	var idx uint64
	switch op {
	case opPut, opGet:
		// Decimal digits, as strconv.ParseUint(arg, 10, 32) reads them
		// (a short loop: protocol 0 has one PUT per value).
		if len(arg) == 0 {
			return 0, s.corrupt(pos, "opcode %s: bad memo index %q", opName(op), arg)
		}
		for _, c := range arg {
			if idx = idx*10 + uint64(c-'0'); c < '0' || c > '9' || idx > math.MaxUint32 {
				return 0, s.corrupt(pos, "opcode %s: bad memo index %q", opName(op), arg)
			}
		}
		if len(arg) > 1 && arg[0] == '0' {
			s.res.textMemoIndex = true
		}
	case opBinput, opBinget:
		idx = uint64(arg[0])
	default:
		idx = uint64(binary.LittleEndian.Uint32(arg))
	}
	return int(idx), nil
}

func (s *scanner) memoPut(pos int, op byte, idx int) error {
	if s.avail() < 1 {
		return s.corrupt(pos, "opcode %s with nothing to store", opName(op))
	}
	switch {
	case idx < len(s.memo):
	case idx == len(s.memo):
		s.memo = append(s.memo, entry{})
		s.memoRead = append(s.memoRead, false)
	default:
		// Picklers number memo slots 0, 1, 2, ...; a gap is not a pickle
		// any of them wrote, and bounding the index bounds the memo.
		return s.corrupt(pos, "opcode %s: memo index %d skips slots (next is %d)", opName(op), idx, len(s.memo))
	}
	s.memo[idx] = s.stack[len(s.stack)-1]
	return nil
}

func (s *scanner) memoGet(pos int, op byte, idx int) error {
	if idx >= len(s.memo) || s.memo[idx].kind == 0 {
		return s.corrupt(pos, "opcode %s: memo slot %d was never stored", opName(op), idx)
	}
	s.memoRead[idx] = true
	e := s.memo[idx]
	if e.kind == kList {
		s.sharedList()
	}
	s.push(e)
	return nil
}

// sharedList records a list referenced twice: og-rek's decoder keeps a
// copy of a list in its memo that misses later appends, gopickle shares it.
func (s *scanner) sharedList() {
	if s.res.needGopickle == "" {
		s.res.needGopickle = "a list referenced twice"
	}
}

func (s *scanner) gopickleOnly(op byte) {
	if s.res.needGopickle == "" {
		s.res.needGopickle = "opcode " + opName(op)
	}
}

func (s *scanner) ogrekOnly(why string) {
	if s.res.needOgrek == "" {
		s.res.needOgrek = why
	}
}

// needsUnescaping tells whether a protocol 0 UNICODE argument
// (raw-unicode-escape) differs from its UTF-8 text: it has an escape or a
// byte outside ASCII (a Latin-1 character).
func needsUnescaping(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c >= 0x80 {
			return true
		}
	}
	return false
}

func (s *scanner) run() error {
	data := s.data
	pos := 0
	for pos < len(data) {
		op := data[pos]
		at := pos
		pos++
		var err error
		switch op {
		case opMark:
			s.marks = append(s.marks, len(s.stack))
			s.push(entry{kind: kMark})
		case opStop:
			if len(s.marks) != 0 {
				return s.corrupt(at, "STOP with an open MARK")
			}
			if len(s.stack) != 1 {
				return s.corrupt(at, "STOP with %d values on the stack, want 1", len(s.stack))
			}
			if pos != len(data) {
				return s.corrupt(pos, "%d bytes after STOP", len(data)-pos)
			}
			return nil
		case opPop:
			if len(s.stack) == 0 {
				return s.corrupt(at, "POP on an empty stack")
			}
			if s.stack[len(s.stack)-1].kind == kMark {
				s.marks = s.marks[:len(s.marks)-1]
			}
			s.stack = s.stack[:len(s.stack)-1]
		case opPopMark:
			// og-rek ignores POP_MARK, leaving the MARK and the values
			// above it on its stack.
			s.gopickleOnly(op)
			_, err = s.popMark(at, op, 0)
		case opDup:
			var e entry
			if e, err = s.pop(at, op, 1); err == nil {
				if e.kind == kList {
					s.sharedList()
				}
				s.push(e)
				s.push(e)
			}
		case opInt, opLong, opFloat:
			var l []byte
			if l, err = s.line(pos, op); err == nil {
				if op != opFloat && len(l) > maxIntDigits+2 {
					return fmt.Errorf("%w: at byte %d: integer of %d digits (Python reads at most %d)", ErrLimit, at, len(l), maxIntDigits)
				}
				pos += len(l) + 1
				s.push(entry{kind: kValue})
			}
		case opBinint, opBinfloat, opBinint2, opBinint1:
			width := uint64(1)
			switch op {
			case opBinint:
				width = 4
			case opBinfloat:
				width = 8
			case opBinint2:
				width = 2
			}
			if _, err = s.arg(pos, op, width); err == nil {
				pos += int(width)
				s.push(entry{kind: kValue})
			}
		case opLong1, opShortBinbytes, opShortBinstring:
			if _, pos, err = s.counted(pos, op, 1, false); err == nil {
				s.push(entry{kind: kValue})
			}
		case opLong4, opBinstring, opBinbytes:
			var body []byte
			if body, pos, err = s.counted(pos, op, 4, op != opBinbytes); err == nil {
				if op == opLong4 {
					s.gopickleOnly(op)
					if len(body) > maxLongBytes {
						return fmt.Errorf("%w: at byte %d: integer of %d bytes (at most %d are read)", ErrLimit, at, len(body), maxLongBytes)
					}
				}
				s.push(entry{kind: kValue})
			}
		case opBinbytes8, opBytearray8:
			if op == opBinbytes8 {
				s.gopickleOnly(op)
			}
			if _, pos, err = s.counted(pos, op, 8, false); err == nil {
				s.push(entry{kind: kValue})
			}
		case opShortBinunicode, opBinunicode, opBinunicode8:
			width := 1
			switch op {
			case opBinunicode:
				width = 4
			case opBinunicode8:
				width = 8
				s.gopickleOnly(op)
			}
			var body []byte
			start := pos + width
			if body, pos, err = s.counted(pos, op, width, false); err == nil {
				s.push(entry{kind: kStr, off: int32(start), n: int32(len(body))})
				if op == opBinunicode {
					s.edits = append(s.edits, edit{pos: int32(at), n: 1, kind: editBinstring})
				}
			}
		case opUnicode, opString:
			var l []byte
			if l, err = s.line(pos, op); err == nil {
				pos += len(l) + 1
				if op == opString {
					s.ogrekOnly("a protocol 0 byte string (STRING)")
				} else if needsUnescaping(l) {
					s.ogrekOnly("a protocol 0 string with escapes (UNICODE)")
				}
				s.push(entry{kind: kValue})
			}
		case opNone, opNewtrue, opNewfalse, opEmptyDict, opEmptyTuple:
			s.push(entry{kind: kValue})
		case opEmptySet:
			s.gopickleOnly(op)
			s.push(entry{kind: kValue})
		case opEmptyList:
			s.push(entry{kind: kList})
		case opList, opDict, opTuple, opFrozenset:
			if op == opFrozenset {
				s.gopickleOnly(op)
			}
			var n int
			if n, err = s.popMark(at, op, 0); err == nil {
				if op == opDict && n%2 != 0 {
					return s.corrupt(at, "DICT with an odd number (%d) of keys and values", n)
				}
				kind := kValue
				if op == opList {
					kind = kList
				}
				s.push(entry{kind: kind})
			}
		case opTuple1, opTuple2, opTuple3:
			if _, err = s.pop(at, op, int(op-opTuple1)+1); err == nil {
				s.push(entry{kind: kValue})
			}
		case opAppend:
			if _, err = s.pop(at, op, 1); err == nil && s.avail() < 1 {
				err = s.corrupt(at, "APPEND with no list")
			}
		case opSetitem:
			if _, err = s.pop(at, op, 2); err == nil && s.avail() < 1 {
				err = s.corrupt(at, "SETITEM with no dict")
			}
		case opAppends, opSetitems, opAdditems:
			if op == opAdditems {
				s.gopickleOnly(op)
			}
			var n int
			if n, err = s.popMark(at, op, 1); err == nil && op == opSetitems && n%2 != 0 {
				err = s.corrupt(at, "SETITEMS with an odd number (%d) of keys and values", n)
			}
		case opGlobal:
			var mod, name []byte
			if mod, err = s.line(pos, op); err != nil {
				break
			}
			pos += len(mod) + 1
			if name, err = s.line(pos, op); err != nil {
				break
			}
			pos += len(name) + 1
			var kind uint8
			if kind, err = s.class(string(mod), string(name)); err == nil {
				s.push(entry{kind: kind})
			}
		case opStackGlobal:
			if s.avail() < 2 {
				return s.corrupt(at, "STACK_GLOBAL needs 2 values on the stack")
			}
			mod, name := s.stack[len(s.stack)-2], s.stack[len(s.stack)-1]
			if mod.kind != kStr || name.kind != kStr {
				return s.corrupt(at, "STACK_GLOBAL with a module or name that is not a string")
			}
			s.stack = s.stack[:len(s.stack)-2]
			var kind uint8
			if kind, err = s.class(string(data[mod.off:mod.off+mod.n]), string(data[name.off:name.off+name.n])); err == nil {
				s.push(entry{kind: kind})
			}
		case opReduce:
			if _, err = s.pop(at, op, 2); err == nil {
				s.push(entry{kind: kValue})
			}
		case opNewobj, opNewobjEx:
			n := 2
			if op == opNewobjEx {
				n = 3
			}
			var cls entry
			if cls, err = s.pop(at, op, n); err == nil {
				// CachedValue.__new__(CachedValue, payload, metadata) is
				// CachedValue(payload, metadata): REDUCE, which og-rek reads.
				if op == opNewobj && cls.kind == kCachedValueClass {
					s.edits = append(s.edits, edit{pos: int32(at), n: 1, kind: editReduce})
					s.res.newobjs++
				} else {
					s.gopickleOnly(op)
				}
				s.push(entry{kind: kValue})
			}
		case opPut, opBinput, opLongBinput, opGet, opBinget, opLongBinget:
			var a []byte
			switch op {
			case opPut, opGet:
				a, err = s.line(pos, op)
				pos += len(a) + 1
			case opBinput, opBinget:
				a, err = s.arg(pos, op, 1)
				pos++
			default:
				a, err = s.arg(pos, op, 4)
				pos += 4
			}
			if err != nil {
				break
			}
			var idx int
			if idx, err = s.memoIndex(at, op, a); err != nil {
				break
			}
			if op == opGet || op == opBinget || op == opLongBinget {
				err = s.memoGet(at, op, idx)
			} else if err = s.memoPut(at, op, idx); err == nil {
				s.edits = append(s.edits, edit{pos: int32(at), n: int32(pos - at), kind: editMemo, memo: int32(idx)})
			}
		case opMemoize:
			idx := len(s.memo)
			if err = s.memoPut(at, op, idx); err == nil {
				s.edits = append(s.edits, edit{pos: int32(at), n: 1, kind: editMemo, memo: int32(idx)})
			}
		case opFrame:
			var a []byte
			if a, err = s.arg(pos, op, 8); err == nil {
				pos += 8
				if n := binary.LittleEndian.Uint64(a); n > uint64(len(data)-pos) {
					err = s.corrupt(at, "FRAME of %d bytes, %d are left", n, len(data)-pos)
				} else {
					s.edits = append(s.edits, edit{pos: int32(at), n: 9, kind: editDrop})
				}
			}
		case opProto:
			var a []byte
			if a, err = s.arg(pos, op, 1); err == nil {
				pos++
				if a[0] > HighestProtocol {
					return fmt.Errorf("%w: at byte %d: pickle protocol %d (this package reads 0 to %d)", ErrUnsupported, at, a[0], HighestProtocol)
				}
				s.res.lastProto = int(a[0])
				s.res.startsWithProto = s.res.startsWithProto || at == 0
			}
		case opBuild:
			return &UnsupportedError{Type: "object state (BUILD)", Reason: "only dogpile.cache.api.CachedValue and builtin types are read"}
		case opInst:
			name := "class instance (INST)"
			if mod, err := s.line(pos, op); err == nil {
				if cls, err := s.line(pos+len(mod)+1, op); err == nil {
					name = string(mod) + "." + string(cls)
				}
			}
			return &UnsupportedError{Type: name}
		case opObj:
			return &UnsupportedError{Type: "class instance (OBJ)"}
		case opPersid, opBinpersid:
			return &UnsupportedError{Type: "persistent id", Reason: "persistent references need an application-specific loader"}
		case opExt1, opExt2, opExt4:
			return &UnsupportedError{Type: "copyreg extension code", Reason: "the extension registry is process-specific"}
		case opNextBuffer, opReadonlyBuffer:
			return &UnsupportedError{Type: "out-of-band buffer", Reason: "pickle.loads without buffers cannot read it either"}
		default:
			return s.corrupt(at, "unknown opcode 0x%02x", op)
		}
		if err != nil {
			return err
		}
	}
	return s.corrupt(len(data), "no STOP opcode")
}

// class checks module.name against the allow-list and returns the kind
// of stack entry it pushes.
func (s *scanner) class(module, name string) (uint8, error) {
	c, ok := allowed[className{module, name}]
	if !ok {
		return 0, &UnsupportedError{Type: module + "." + name}
	}
	switch c {
	case clsReconstructor:
		s.ogrekOnly("copy_reg._reconstructor")
	case clsCachedValue:
		return kCachedValueClass, nil
	}
	return kValue, nil
}

// opName returns pickletools' name for op.
func opName(op byte) string {
	if n, ok := opNames[op]; ok {
		return n
	}
	return fmt.Sprintf("0x%02x", op)
}

var opNames = map[byte]string{
	opMark: "MARK", opStop: "STOP", opPop: "POP", opPopMark: "POP_MARK", opDup: "DUP",
	opFloat: "FLOAT", opInt: "INT", opBinint: "BININT", opBinint1: "BININT1", opLong: "LONG",
	opBinint2: "BININT2", opNone: "NONE", opPersid: "PERSID", opBinpersid: "BINPERSID",
	opReduce: "REDUCE", opString: "STRING", opBinstring: "BINSTRING",
	opShortBinstring: "SHORT_BINSTRING", opUnicode: "UNICODE", opBinunicode: "BINUNICODE",
	opAppend: "APPEND", opBuild: "BUILD", opGlobal: "GLOBAL", opDict: "DICT",
	opEmptyDict: "EMPTY_DICT", opAppends: "APPENDS", opGet: "GET", opBinget: "BINGET",
	opInst: "INST", opLongBinget: "LONG_BINGET", opList: "LIST", opEmptyList: "EMPTY_LIST",
	opObj: "OBJ", opPut: "PUT", opBinput: "BINPUT", opLongBinput: "LONG_BINPUT",
	opSetitem: "SETITEM", opTuple: "TUPLE", opEmptyTuple: "EMPTY_TUPLE", opSetitems: "SETITEMS",
	opBinfloat: "BINFLOAT", opProto: "PROTO", opNewobj: "NEWOBJ", opExt1: "EXT1", opExt2: "EXT2",
	opExt4: "EXT4", opTuple1: "TUPLE1", opTuple2: "TUPLE2", opTuple3: "TUPLE3",
	opNewtrue: "NEWTRUE", opNewfalse: "NEWFALSE", opLong1: "LONG1", opLong4: "LONG4",
	opBinbytes: "BINBYTES", opShortBinbytes: "SHORT_BINBYTES",
	opShortBinunicode: "SHORT_BINUNICODE", opBinunicode8: "BINUNICODE8",
	opBinbytes8: "BINBYTES8", opEmptySet: "EMPTY_SET", opAdditems: "ADDITEMS",
	opFrozenset: "FROZENSET", opNewobjEx: "NEWOBJ_EX", opStackGlobal: "STACK_GLOBAL",
	opMemoize: "MEMOIZE", opFrame: "FRAME", opBytearray8: "BYTEARRAY8",
	opNextBuffer: "NEXT_BUFFER", opReadonlyBuffer: "READONLY_BUFFER",
}
