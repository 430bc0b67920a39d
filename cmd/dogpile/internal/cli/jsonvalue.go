package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// numberError is a JSON number that cannot be stored exactly: it would
// read back as another number.
type numberError struct {
	Number string // as written (shortened when very long)
	Why    string
}

func (e *numberError) Error() string {
	return fmt.Sprintf("number %s cannot be stored exactly: %s", e.Number, e.Why)
}

// parseJSONValue decodes one JSON value. Every number becomes a Go number
// that holds it exactly, or the value is refused with a *numberError:
// integers (no fraction or exponent) become int64, or uint64 above
// math.MaxInt64; other numbers float64 when the float is exactly the
// decimal written (as 0.1 reads back as 0.1).
func parseJSONValue(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty value")
		}
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one value")
	}
	return convertNumbers(v)
}

func convertNumbers(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return exactNumber(x.String())
	case map[string]any:
		for k, e := range x {
			c, err := convertNumbers(e)
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
	case []any:
		for i, e := range x {
			c, err := convertNumbers(e)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
	}
	return v, nil
}

// exactNumber converts a JSON number literal to int64, uint64 or float64,
// or refuses it when none holds it exactly.
func exactNumber(s string) (any, error) {
	shown := s
	if len(shown) > 40 {
		shown = shown[:37] + "..."
	}
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n, nil
		}
		return nil, &numberError{shown, fmt.Sprintf("integers are kept from %d to %d", int64(math.MinInt64), uint64(math.MaxUint64))}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, &numberError{shown, "it is beyond the range of a 64-bit float (about ±1.8e308)"}
	}
	if !sameDecimal(s, strconv.FormatFloat(f, 'e', -1, 64)) {
		if f == 0 {
			return nil, &numberError{shown, "it is too small for a 64-bit float and would read back as 0"}
		}
		return nil, &numberError{shown, "a 64-bit float keeps about 16 significant digits; it would read back as " + formatFloat(f)}
	}
	return f, nil
}

// sameDecimal reports whether two decimal literals (JSON number syntax)
// are the same number. It compares digits, so it is exact for any length.
func sameDecimal(a, b string) bool {
	na, da, ea, okA := normDecimal(a)
	nb, db, eb, okB := normDecimal(b)
	if !okA || !okB {
		return false
	}
	if da == "" || db == "" { // zero, of either sign
		return da == db
	}
	return na == nb && da == db && ea == eb
}

// normDecimal writes a decimal literal as sign, significant digits (no
// leading or trailing zeros; "" for zero) and exponent e, the number being
// 0.DIGITS x 10^e.
func normDecimal(s string) (neg bool, digits string, exp int, ok bool) {
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	mant, expPart, hasExp := strings.Cut(strings.ToLower(s), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	all := intPart + frac
	point := len(intPart) // 0.ALL x 10^point
	trimmed := strings.TrimLeft(all, "0")
	if trimmed == "" {
		return neg, "", 0, true
	}
	point -= len(all) - len(trimmed)
	trimmed = strings.TrimRight(trimmed, "0")
	e := 0
	if hasExp {
		n, err := strconv.Atoi(expPart)
		if err != nil {
			return false, "", 0, false // an exponent beyond int: not a float's
		}
		e = n
	}
	return neg, trimmed, point + e, true
}

// formatFloat writes a float as JSON the way it reads back as the same
// float in `set`: the shortest digits that do, and ".0" for a whole number
// so that it stays a float.
func formatFloat(f float64) string {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	s := strconv.FormatFloat(f, format, -1, 64)
	if format == 'e' {
		// 1e-07 -> 1e-7, as encoding/json writes it.
		if n := len(s); n >= 4 && s[n-4] == 'e' && s[n-3] == '-' && s[n-2] == '0' {
			s = s[:n-2] + s[n-1:]
		}
		return s
	}
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// jsonValue converts a value read from a store into one encoding/json
// writes as valid, exact JSON: floats as their shortest digits, maps with
// any keys as objects. What JSON cannot show (NaN, infinities, values that
// do not marshal) becomes a string, and a note says so.
func jsonValue(v any, notes *[]string) any {
	note := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		for _, n := range *notes {
			if n == msg {
				return
			}
		}
		*notes = append(*notes, msg)
	}
	switch x := v.(type) {
	case nil, bool, string, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, json.Number:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			s := strconv.FormatFloat(x, 'g', -1, 64)
			note("the value holds %s, which JSON cannot show: printed as the string %q", s, s)
			return s
		}
		return json.Number(formatFloat(x))
	case float32:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return jsonValue(f, notes)
		}
		s := strconv.FormatFloat(f, 'g', -1, 32)
		if n, err := strconv.ParseFloat(s, 64); err == nil {
			return json.Number(formatFloat(n))
		}
		return json.Number(s)
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonValue(e, notes)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			if _, isString := k.(string); !isString {
				note("the value has a map with non-string keys: printed as strings")
			}
			m[fmt.Sprint(k)] = jsonValue(e, notes)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = jsonValue(e, notes)
		}
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		note("part of the value (%T) has no JSON form: printed as a string", v)
		return fmt.Sprint(v)
	}
	return json.RawMessage(b)
}

// writeJSON prints v as one line of JSON (see jsonValue) and returns the
// notes about parts of v that JSON cannot show as they are.
func writeJSON(w io.Writer, v any) ([]string, error) {
	var notes []string
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(jsonValue(v, &notes)); err != nil {
		// jsonValue leaves nothing encoding/json refuses; should it,
		// the value is still printed as valid JSON.
		buf.Reset()
		b, _ := json.Marshal(fmt.Sprint(v))
		buf.Write(append(b, '\n'))
		notes = append(notes, "the value has no JSON form: printed as a string")
	}
	_, err := w.Write(buf.Bytes())
	return notes, err
}
