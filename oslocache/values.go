package oslocache

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// This file converts option values the way oslo.config's types do, and
// renders converted values as Python's str() does (for $substitution).

var errEmpty = errors.New("empty")

// pyDigits validates Python's digit grouping (underscores between digits
// only) and returns s without the underscores.
func pyDigits(s string) (string, bool) {
	if !strings.Contains(s, "_") {
		return s, true
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '_' {
			continue
		}
		if i == 0 || i == len(s)-1 || !isASCIIDigit(s[i-1]) || !isASCIIDigit(s[i+1]) {
			return "", false
		}
	}
	return strings.ReplaceAll(s, "_", ""), true
}

func isASCIIDigit(b byte) bool { return b >= '0' && b <= '9' }

// parsePyInt reads an integer as Python's int() does for a config string:
// surrounding whitespace, a sign and digit-grouping underscores allowed.
// An empty (or blank) string is errEmpty: oslo.config reads it as None.
func parsePyInt(s string) (int64, error) {
	s = pyStrip(s)
	if s == "" {
		return 0, errEmpty
	}
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 || body == "" {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(body); i++ {
		if !isASCIIDigit(body[i]) && body[i] != '_' {
			return 0, strconv.ErrSyntax
		}
	}
	digits, ok := pyDigits(body)
	if !ok {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseInt(s[:len(s)-len(body)]+digits, 10, 64)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// parsePyFloat reads a number as Python's float() does: decimal or
// exponent notation, "inf" and "nan" (which callers refuse where they make
// no sense), digit-grouping underscores; not Go's hexadecimal floats.
func parsePyFloat(s string) (float64, error) {
	s = pyStrip(s)
	if s == "" {
		return 0, errEmpty
	}
	body := strings.ToLower(strings.TrimLeft(s, "+-"))
	if len(s)-len(body) > 1 {
		return 0, strconv.ErrSyntax
	}
	switch body {
	case "inf", "infinity", "nan":
		return strconv.ParseFloat(s, 64)
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !isASCIIDigit(c) && c != '_' && c != '.' && c != 'e' && c != '+' && c != '-' {
			return 0, strconv.ErrSyntax
		}
	}
	clean, ok := pyDigits(s)
	if !ok {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseFloat(clean, 64)
}

// parsePyBool reads a boolean as oslo.config does: true/1/on/yes and
// false/0/off/no, in any case.
func parsePyBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "1", "on", "yes":
		return true, true
	case "false", "0", "off", "no":
		return false, true
	}
	return false, false
}

// parseList splits a list value as oslo.config's types.List does: at
// commas (a trailing comma is dropped), items trimmed. An empty value is an
// empty list.
func parseList(s string) []string {
	s = strings.TrimRight(pyStrip(s), ",")
	if s == "" {
		return []string{}
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = pyStrip(parts[i])
	}
	return parts
}

// pyStr renders a converted option value as Python's str() would: None as
// "" (oslo.config substitutes None so), True/False, integers, floats in
// Python's repr form (1.0, 1e-05, 1e+16), lists in repr form.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return pyFloatRepr(x)
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = pyStrRepr(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return ""
}

// pyFloatRepr is Python's repr(float): the shortest digits that read back
// the same, in positional form for exponents -4 to 15, else as d.ddde+XX.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // -d.ddde±XX
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		expStr := strconv.Itoa(exp)
		if len(expStr) < 2 {
			expStr = "0" + expStr
		}
		return mant + "e" + sign + expStr
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// pyStrRepr is Python's repr(str).
func pyStrRepr(s string) string {
	quote := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(quote):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == ' ' || (r < 0x80 && r > 0x20 && r != 0x7f):
			b.WriteRune(r)
		case r < 0x100 && !pyPrintable(r):
			b.WriteString(`\x` + hex2(int(r)))
		case !pyPrintable(r) && r < 0x10000:
			b.WriteString(`\u` + hex2(int(r)>>8) + hex2(int(r)&0xff))
		case !pyPrintable(r):
			b.WriteString(`\U` + hex2(int(r)>>24) + hex2(int(r)>>16&0xff) + hex2(int(r)>>8&0xff) + hex2(int(r)&0xff))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// pyPrintable approximates Python's str.isprintable for one character.
func pyPrintable(r rune) bool {
	if r == ' ' {
		return true
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Cs, unicode.Co, unicode.Zl, unicode.Zp, unicode.Zs) {
		return false
	}
	return unicode.IsPrint(r) || unicode.IsGraphic(r)
}

func hex2(n int) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[n>>4&0xf], digits[n&0xf]})
}
