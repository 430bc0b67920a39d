package oslocache

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file reads oslo.config's ini dialect, line for line as
// oslo_config.iniparser and cfg.ConfigParser do:
//
//   - "[name]" starts a section; names are compared in lower case, except
//     DEFAULT ("[CACHE]" is [cache], "[default]" is not [DEFAULT]). A
//     section may appear several times; its entries add up.
//   - Lines starting with "#" or ";" are comments. There are no inline
//     comments: "a = b # c" sets a to "b # c".
//   - "name = value" or "name: value", split at whichever of "=" and ":"
//     comes first. Name and value are trimmed; one pair of matching quotes
//     around the value is removed.
//   - A line starting with a space or tab continues the previous value
//     (joined with a newline); a blank line or any other line ends it.
//   - Every assignment is kept: multi-valued options read them all,
//     single-valued ones the last.
//
// Line endings are \n, \r\n or \r (Python's universal newlines).

// entry is one assignment: name = value, where it was written.
type entry struct {
	key   string
	value string
	pos   Pos
}

// section is every assignment under one (normalized) section name, in file
// order.
type section struct {
	name    string
	pos     Pos // first header
	entries []entry
}

// iniFile is a parsed file: its sections by normalized name, in order of
// first appearance.
type iniFile struct {
	name     string
	sections map[string]*section
	order    []string
}

// normalizeSection is oslo.config's _normalize_group_name.
func normalizeSection(name string) string {
	if name == "DEFAULT" {
		return name
	}
	return strings.ToLower(name)
}

// isPySpace reports whether Python's str.isspace is true for r (Go's
// unicode.IsSpace plus the ASCII file, group, record and unit separators).
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func pyStrip(s string) string  { return strings.TrimFunc(s, isPySpace) }
func pyRStrip(s string) string { return strings.TrimRightFunc(s, isPySpace) }
func pyLStrip(s string) string { return strings.TrimLeftFunc(s, isPySpace) }

// splitLines splits data into lines at \n, \r\n and \r.
func splitLines(data string) []string {
	data = strings.ReplaceAll(data, "\r\n", "\n")
	data = strings.ReplaceAll(data, "\r", "\n")
	lines := strings.SplitAfter(data, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	return lines
}

// parseINI reads data (named name in positions) as oslo.config does.
func parseINI(name string, data []byte) (*iniFile, error) {
	f := &iniFile{name: name, sections: map[string]*section{}}
	var (
		cur      *section
		key      string
		keyPos   Pos
		keyValue []string
		haveKey  bool
	)
	flush := func() error {
		if !haveKey {
			return nil
		}
		haveKey = false
		if cur == nil {
			return &SyntaxError{Pos: keyPos, Text: key, Msg: "section must be started before assignment"}
		}
		cur.entries = append(cur.entries, entry{key: key, value: strings.Join(keyValue, "\n"), pos: keyPos})
		return nil
	}
	for i, raw := range splitLines(string(data)) {
		pos := Pos{File: name, Line: i + 1}
		if !utf8.ValidString(raw) {
			return nil, &SyntaxError{Pos: pos, Text: strings.ToValidUTF8(pyRStrip(raw), "\uFFFD"), Msg: "not UTF-8 text"}
		}
		line := pyRStrip(raw)
		switch {
		case line == "":
			// A blank line ends a multi-line value.
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		case line[0] == ' ' || line[0] == '\t':
			if !haveKey {
				return nil, &SyntaxError{Pos: pos, Text: line, Msg: "unexpected continuation line"}
			}
			keyValue = append(keyValue, pyLStrip(line))
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		switch line[0] {
		case '[':
			if !strings.HasSuffix(line, "]") {
				return nil, &SyntaxError{Pos: pos, Text: line, Msg: "invalid section (must end with ])"}
			}
			if len(line) <= 2 {
				return nil, &SyntaxError{Pos: pos, Text: line, Msg: "empty section name"}
			}
			norm := normalizeSection(line[1 : len(line)-1])
			cur = f.sections[norm]
			if cur == nil {
				cur = &section{name: norm, pos: pos}
				f.sections[norm] = cur
				f.order = append(f.order, norm)
			}
		case '#', ';':
			// A comment.
		default:
			k, v, ok := splitKeyValue(line)
			if !ok {
				return nil, &SyntaxError{Pos: pos, Text: line, Msg: "no ':' or '=' found in assignment"}
			}
			if k == "" {
				return nil, &SyntaxError{Pos: pos, Text: line, Msg: "key cannot be empty"}
			}
			key, keyPos, keyValue, haveKey = k, pos, []string{v}, true
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return f, nil
}

// splitKeyValue splits "name = value" or "name: value" at whichever
// separator comes first, trims both sides and removes one pair of matching
// quotes around the value.
func splitKeyValue(line string) (key, value string, ok bool) {
	colon := strings.IndexByte(line, ':')
	equal := strings.IndexByte(line, '=')
	if colon < 0 && equal < 0 {
		return "", "", false
	}
	sep := colon
	if colon < 0 || (equal >= 0 && equal < colon) {
		sep = equal
	}
	key, value = pyStrip(line[:sep]), pyStrip(line[sep+1:])
	if value != "" && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
		if len(value) == 1 {
			value = ""
		} else {
			value = value[1 : len(value)-1]
		}
	}
	return key, value, true
}

// entries returns the assignments of key in section (normalized name), in
// file order.
func (f *iniFile) entries(sectionName, key string) []entry {
	s := f.sections[sectionName]
	if s == nil {
		return nil
	}
	var out []entry
	for _, e := range s.entries {
		if e.key == key {
			out = append(out, e)
		}
	}
	return out
}

// last returns the last assignment of key in section.
func (f *iniFile) last(sectionName, key string) (entry, bool) {
	s := f.sections[sectionName]
	if s == nil {
		return entry{}, false
	}
	for i := len(s.entries) - 1; i >= 0; i-- {
		if s.entries[i].key == key {
			return s.entries[i], true
		}
	}
	return entry{}, false
}
