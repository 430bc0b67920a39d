package oslocache

import (
	"errors"
	"strconv"
	"strings"

	"github.com/dogpile-go/dogpile/internal/pystr"
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
	if v == nil {
		return ""
	}
	return pystr.Str(v)
}
