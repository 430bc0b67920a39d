package oslocache

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file does oslo.config's $substitution: a value may name another
// option as $name or ${name} (the option of the same section, else of
// [DEFAULT]) or ${section.name}; $$ (or \$) is a literal $. As with
// Python's string.Template, a $ followed by anything else stays as it is.
//
// oslo.config substitutes the option's converted value (so a boolean reads
// "True", a list "['a', 'b']") and, for an option the file does not set,
// its default. This package knows the types and defaults of the [cache]
// options; an option of another section is substituted as written, and one
// the file does not set cannot be resolved (an error, as oslo.config's for
// an option nobody registered).

// isIdentStart and isIdentRune match oslo.config's Template.idpattern
// [_a-z][\._a-z0-9]* under Python's case-insensitive matching (which also
// lets four non-ASCII letters through).
func isIdentStart(r rune) bool {
	switch {
	case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		return true
	case r == 0x130, r == 0x131, r == 0x17f, r == 0x212a:
		return true
	}
	return false
}

func isIdentRune(r rune) bool {
	return isIdentStart(r) || r == '.' || (r >= '0' && r <= '9')
}

// scanIdent returns the length in bytes of the identifier at the start of
// s (0 when there is none).
func scanIdent(s string) int {
	n := 0
	for i, r := range s {
		if (i == 0 && !isIdentStart(r)) || (i > 0 && !isIdentRune(r)) {
			break
		}
		n = i + utf8.RuneLen(r)
	}
	return n
}

// refKey identifies an option for cycle detection.
type refKey struct{ section, name string }

// interpolate substitutes the $references in value, read from section
// sectionName at pos. stack holds the references being resolved, to catch
// cycles.
func (c *Config) interpolate(value, sectionName string, pos Pos, option string, stack []refKey) (string, error) {
	if !strings.Contains(value, "$") {
		return value, nil
	}
	value = strings.ReplaceAll(value, `\$`, "$$")
	var b strings.Builder
	for {
		i := strings.IndexByte(value, '$')
		if i < 0 {
			b.WriteString(value)
			return b.String(), nil
		}
		b.WriteString(value[:i])
		rest := value[i+1:]
		var name string
		switch {
		case strings.HasPrefix(rest, "$"):
			b.WriteByte('$')
			value = rest[1:]
			continue
		case strings.HasPrefix(rest, "{"):
			n := scanIdent(rest[1:])
			if n == 0 || !strings.HasPrefix(rest[1+n:], "}") {
				b.WriteByte('$')
				value = rest
				continue
			}
			name, value = rest[1:1+n], rest[2+n:]
		default:
			n := scanIdent(rest)
			if n == 0 {
				b.WriteByte('$')
				value = rest
				continue
			}
			name, value = rest[:n], rest[n:]
		}
		s, err := c.resolve(name, sectionName, pos, option, stack)
		if err != nil {
			return "", err
		}
		if b.Len()+len(s) > maxValueSize {
			return "", &OptionError{Pos: pos, Section: sectionName, Option: option, Kind: ErrBadValue,
				Msg: fmt.Sprintf("substituting $%s makes the value longer than %d bytes", name, maxValueSize)}
		}
		b.WriteString(s)
	}
}

// maxValueSize bounds a value after $substitution: references that double
// a value at every step would otherwise grow it without end.
const maxValueSize = 1 << 20

// resolve returns the text a $reference stands for.
func (c *Config) resolve(ref, sectionName string, pos Pos, option string, stack []refKey) (string, error) {
	fail := func(msg string, args ...any) error {
		return &OptionError{Pos: pos, Section: sectionName, Option: option, Kind: ErrBadValue,
			Msg: fmt.Sprintf("cannot substitute $%s: ", ref) + fmt.Sprintf(msg, args...)}
	}
	candidates := []refKey{{sectionName, ref}, {"DEFAULT", ref}}
	if g, name, dotted := strings.Cut(ref, "."); dotted {
		candidates = []refKey{{g, name}}
	}
	for _, k := range candidates {
		for _, s := range stack {
			if s == k {
				return "", fail("the reference loops back to [%s] %s", k.section, k.name)
			}
		}
		if k.section == cacheSection {
			if def, ok := lookupOption(k.name); ok {
				return c.renderCacheOption(def, append(stack, k))
			}
		}
		if k.section != cacheSection && (k.name == "caching" || k.name == "cache_time") {
			// The memoization options have a type too.
			if g, ok := c.memo[k.section]; ok || c.file.sections[k.section] != nil {
				if !ok {
					var errs []error
					if g, errs = c.readMemoGroup(k.section, append(stack, k)); len(errs) > 0 {
						return "", errs[0]
					}
					c.memo[k.section] = g
				}
				if k.name == "caching" {
					return pyStr(g.caching), nil
				}
				if g.cacheTime == nil {
					return "", nil
				}
				return pyStr(*g.cacheTime), nil
			}
		}
		if v, ok := c.resolved[k]; ok {
			return v, nil
		}
		if e, ok := c.file.last(k.section, k.name); ok {
			v, err := c.interpolate(e.value, k.section, e.pos, k.name, append(stack, k))
			if err == nil {
				c.resolved[k] = v
			}
			return v, err
		}
	}
	if len(candidates) == 1 {
		return "", fail("[%s] has no option %s in %s", candidates[0].section, candidates[0].name, c.file.name)
	}
	return "", fail("neither [%s] nor [DEFAULT] sets %s in %s", sectionName, ref, c.file.name)
}
